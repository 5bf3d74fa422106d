"""Console entry point of the node (see presstrack_common.entry: Ctrl-C while it imports stops it quietly)."""
from presstrack_common.entry import quiet_main

main = quiet_main("mesh_recovery.node")
