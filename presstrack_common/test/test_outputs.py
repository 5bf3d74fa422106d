from __future__ import annotations

import pytest

from presstrack_common.outputs import check_creatable_folder, check_writable_file


def test_a_writable_file_is_accepted_and_left_as_it_was(tmp_path):
    assert check_writable_file(tmp_path / "new.md") == tmp_path / "new.md"
    assert not (tmp_path / "new.md").exists()
    (tmp_path / "old.md").write_text("kept")
    check_writable_file(tmp_path / "old.md")
    assert (tmp_path / "old.md").read_text() == "kept"


@pytest.mark.parametrize(("target", "reason"), [("/proc/x.json", "cannot write"), ("{tmp}/missing/x.json", "does not exist"),
                                                 ("{tmp}", "it is a folder")])
def test_an_unwritable_file_is_refused_with_the_reason(tmp_path, target, reason):
    with pytest.raises(ValueError, match=reason):
        check_writable_file(target.format(tmp=tmp_path))


def test_an_output_folder_must_be_new_and_creatable(tmp_path):
    assert check_creatable_folder(tmp_path / "bag") == tmp_path / "bag"
    assert check_creatable_folder(tmp_path / "out" / "demo") == tmp_path / "out" / "demo"  # parents are made too
    assert not (tmp_path / "bag").exists() and not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="exists already"):
        check_creatable_folder(tmp_path)
    with pytest.raises(ValueError, match="cannot create"):
        check_creatable_folder("/proc/bag")
