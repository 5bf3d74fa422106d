"""Crowd simulator for the pressure mat: scenarios, gait, contact pressure, sensor model, MIP-format output.

Pure core (numpy, scipy, torch through presstrack_body); no ROS. Entry points: `Simulator` (live frames),
`simulate_scene` (a whole recording), `mip_format.write_scene` / `load_scene`, and `cli.main` (presstrack-sim).
"""
