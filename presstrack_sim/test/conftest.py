"""The body model the presstrack_sim tests pose."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def model():
    from presstrack_body.model import BodyModel

    try:
        return BodyModel()
    except FileNotFoundError as error:
        pytest.skip(f"no default body model: {error}")
