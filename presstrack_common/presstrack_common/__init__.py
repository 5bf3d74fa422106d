"""Pure-Python helpers every PressTrack node and tool shares; only node_main and conversions touch ROS."""
