"""Output paths checked before the work that fills them, so a long run never ends in 'cannot write'."""
from __future__ import annotations

import tempfile
from pathlib import Path


def check_writable_file(path: str | Path, what: str = "output") -> Path:
    """``path`` as a Path if a file can be written there; ValueError with the reason otherwise.

    An existing file is opened for appending and left as it was; a new one is created and removed again.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"cannot write {what} {path}: it is a folder; give a file name")
    if not path.parent.is_dir():
        raise ValueError(f"cannot write {what} {path}: folder {path.parent} does not exist")
    existed = path.exists()
    try:
        with open(path, "ab"):
            pass
    except OSError as error:
        raise ValueError(f"cannot write {what} {path}: {error.strerror}") from None
    if not existed:
        path.unlink()
    return path


def check_creatable_folder(path: str | Path, what: str = "output folder") -> Path:
    """``path`` as a Path if a new folder (and its missing parents) can be made there; ValueError otherwise.
    The folder must not exist yet."""
    path = Path(path)
    if path.exists():
        raise ValueError(f"{path}: exists already, not overwriting")
    ancestor = path.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ValueError(f"cannot create {what} {path}: {ancestor} is not a folder")
    try:
        tempfile.TemporaryDirectory(dir=ancestor).cleanup()
    except OSError as error:
        raise ValueError(f"cannot create {what} {path}: {error.strerror}") from None
    return path


def check_output_folder(path: str | Path, what: str = "output folder") -> Path:
    """``path`` as a Path if files can be written in it: an existing, writable folder (its files may be
    replaced) or one that can be made; ValueError with the reason otherwise."""
    path = Path(path)
    if not path.exists():
        return check_creatable_folder(path, what)
    if not path.is_dir():
        raise ValueError(f"cannot write {what} {path}: it is a file, not a folder")
    try:
        tempfile.TemporaryFile(dir=path).close()
    except OSError as error:
        raise ValueError(f"cannot write {what} {path}: {error.strerror}") from None
    return path
