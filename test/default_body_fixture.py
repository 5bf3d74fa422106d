"""pytest plugin (pytest.ini: -p default_body_fixture): the default body, found or generated once per session."""
from __future__ import annotations

import pathlib

import pytest


@pytest.fixture(scope="session")
def default_body_path(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The cached default body ($PRESSTRACK_DEFAULT_BODY or the install path), else one generated
    for this session (about a minute, more on anny's very first run)."""
    from presstrack_body.default_body import default_model_path, ensure_default_body

    try:
        return default_model_path()
    except FileNotFoundError:
        path = tmp_path_factory.mktemp("body_models") / "SMPL_NEUTRAL.npz"
        ensure_default_body(path)
        return path
