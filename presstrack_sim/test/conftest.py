"""Make the pure-core `presstrack_sim` package importable without installing it; the body model the tests pose."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
if str(PACKAGE_ROOT) not in sys.path:
    sys.path.insert(0, str(PACKAGE_ROOT))


@pytest.fixture(scope="module")
def model():
    from presstrack_body.model import BodyModel

    try:
        return BodyModel()
    except FileNotFoundError as error:
        pytest.skip(f"no default body model: {error}")
