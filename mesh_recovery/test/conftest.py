"""Test set-up for mesh_recovery: import the package from source and provide the default body once."""

from __future__ import annotations

import pathlib
import sys

import pytest

PACKAGE_ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(PACKAGE_ROOT) not in sys.path:
    sys.path.insert(0, str(PACKAGE_ROOT))


@pytest.fixture(scope="session")
def default_body_path(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The cached default body ($PRESSTRACK_DEFAULT_BODY or the install path), else one generated
    for this session (about a minute, more on anny's very first run)."""
    from mesh_recovery.body.default_body import default_model_path, ensure_default_body

    try:
        return default_model_path()
    except FileNotFoundError:
        path = tmp_path_factory.mktemp("body_models") / "SMPL_NEUTRAL.npz"
        ensure_default_body(path)
        return path
