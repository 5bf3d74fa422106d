"""Make presstrack_bringup importable from the source tree (before or after `make build`)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
