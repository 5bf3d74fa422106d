"""The shared reader of MIP-format .npz files: opening, pressure checks, unit resolution, NaN/Inf, fps and pitch."""
from __future__ import annotations

import math

import numpy as np
import pytest

from presstrack_common.mip_format import (MIP_FPS, MIP_KPA_PER_RAW, MIP_PITCH_M, kpa_per_unit, load_mip_file,
                                        nonfinite_message, open_mip, read_mip_pressure)


def write(path, **arrays):
    np.savez(path, **arrays)
    return path


def pressure(value=10.0, shape=(3, 4, 5), dtype=np.float32):
    return np.full(shape, value, dtype=dtype)


# -- units ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("keys", "factor"), [
    ({}, MIP_KPA_PER_RAW),                                                            # MIP raw units
    ({"pressure_unit": np.array("kPa")}, 1.0),                                        # our simulator's files
    ({"pressure_unit": np.array("KPA")}, 1.0),                                        # any case
    ({"pressure_unit": np.array(b"kPa")}, 1.0),                                       # bytes
    ({"pressure_scale_kpa": np.float64(1.0)}, 1.0),                                   # the tracker's synthetic files
    ({"pressure_scale_kpa": np.float64(0.25)}, 0.25),
    ({"pressure_scale_kpa": np.int64(2)}, 2.0),
    ({"pressure_unit": np.array("kPa"), "pressure_scale_kpa": np.float64(1.0)}, 1.0),
    ({"pressure_unit": np.array("counts"), "pressure_scale_kpa": np.float64(3.0)}, 3.0),
])
def test_unit_keys_resolve_to_kpa_per_stored_unit(tmp_path, keys, factor):
    mip = load_mip_file(write(tmp_path / "a.npz", pressure=pressure(10.0), **keys))
    assert mip.kpa_per_unit == pytest.approx(factor)
    assert mip.kpa().dtype == np.float32
    np.testing.assert_allclose(mip.kpa(), 10.0 * factor, rtol=1e-6)
    np.testing.assert_allclose(mip.kpa(1), 10.0 * factor, rtol=1e-6)
    assert mip.kpa(dtype=np.float64).dtype == np.float64


def test_raw_full_scale_is_mip_full_scale_kpa(tmp_path):
    mip = load_mip_file(write(tmp_path / "raw.npz", pressure=pressure(1.5e7, dtype=np.float64)))
    assert mip.kpa().max() == pytest.approx(500.0)


def test_explicit_scale_overrides_the_file(tmp_path):
    path = write(tmp_path / "a.npz", pressure=pressure(10.0), pressure_unit=np.array("kPa"))
    assert load_mip_file(path, scale_kpa=2.0).kpa_per_unit == 2.0
    raw = write(tmp_path / "raw.npz", pressure=pressure(10.0))
    assert load_mip_file(raw, scale_kpa=2.0).kpa_per_unit == 2.0
    with pytest.raises(ValueError, match=r"a\.npz: .*positive"):
        load_mip_file(path, scale_kpa=0.0)


@pytest.mark.parametrize(("keys", "message"), [
    ({"pressure_unit": np.array("psi")}, "pressure_unit 'psi' needs pressure_scale_kpa"),
    ({"pressure_unit": np.array("kPa"), "pressure_scale_kpa": np.float64(2.0)}, "contradicts"),
    ({"pressure_scale_kpa": np.float64(-1.0)}, "'pressure_scale_kpa' must be one positive number"),
    ({"pressure_scale_kpa": np.float64(np.nan)}, "'pressure_scale_kpa' must be one positive number"),
    ({"pressure_scale_kpa": np.ones(2)}, "'pressure_scale_kpa' must be one positive number"),
    ({"pressure_scale_kpa": np.array("1")}, "'pressure_scale_kpa' must be one positive number"),
    ({"pressure_unit": np.float64(1.0)}, "'pressure_unit' must be one string"),
])
def test_bad_unit_keys_name_file_and_key(tmp_path, keys, message):
    path = write(tmp_path / "bad.npz", pressure=pressure(), **keys)
    with pytest.raises(ValueError, match=message) as error:
        load_mip_file(path)
    assert str(error.value).startswith(f"{path}: ")


def test_kpa_per_unit_alone():
    assert kpa_per_unit(None, None) == MIP_KPA_PER_RAW
    assert kpa_per_unit("kPa", None) == kpa_per_unit("kpa", 1.0) == 1.0
    assert kpa_per_unit("counts", 3.0) == kpa_per_unit(None, 3.0) == 3.0
    for unit, scale in (("counts", None), (None, 0.0), (None, -2.0), (None, math.inf), ("kPa", 1000.0)):
        with pytest.raises(ValueError, match="pressure_"):
            kpa_per_unit(unit, scale)


# -- NaN / Inf -----------------------------------------------------------------------------------------------

def test_nonfinite_cells_are_zeroed_and_counted(tmp_path):
    values = pressure(5.0)
    values[0, 0, :3] = [np.nan, np.inf, -np.inf]
    values[2, 3, 4] = np.nan
    mip = load_mip_file(write(tmp_path / "nan.npz", pressure=values, pressure_unit=np.array("kPa")))
    assert mip.nonfinite_cells == 4
    assert np.isfinite(mip.pressure).all() and mip.pressure.dtype == np.float32
    assert mip.pressure[0, 0, :3].tolist() == [0.0, 0.0, 0.0] and mip.pressure[2, 3, 4] == 0.0
    assert np.count_nonzero(mip.pressure == 5.0) == values.size - 4
    line = nonfinite_message(tmp_path / "nan.npz", 4)
    assert line == f"{tmp_path / 'nan.npz'}: 4 NaN/Inf pressure cells treated as 0"


def test_clean_and_integer_pressure_count_no_cells(tmp_path):
    assert load_mip_file(write(tmp_path / "a.npz", pressure=pressure())).nonfinite_cells == 0
    ints = load_mip_file(write(tmp_path / "i.npz", pressure=pressure(7, dtype=np.uint16)))
    assert ints.nonfinite_cells == 0 and ints.pressure.dtype == np.uint16
    np.testing.assert_allclose(ints.kpa(), 7 * MIP_KPA_PER_RAW, rtol=1e-6)


# -- shapes and dtypes ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("arrays", "message"), [
    ({"box": np.zeros((3, 1, 4))}, "missing key 'pressure'"),
    ({"pressure": np.zeros((238, 120))}, r"shape \(T, rows, cols\)"),
    ({"pressure": np.zeros((2, 3, 4, 5))}, r"shape \(T, rows, cols\)"),
    ({"pressure": np.zeros((0, 4, 4))}, "no empty axis"),
    ({"pressure": np.zeros((3, 0, 4))}, "no empty axis"),
    ({"pressure": np.full((2, 4, 4), "x")}, "pressure must be numeric"),
    ({"pressure": np.zeros((2, 4, 4), dtype=bool)}, "pressure must be numeric"),
    ({"pressure": np.zeros((2, 4, 4), dtype=complex)}, "pressure must be numeric"),
    ({"pressure": pressure(), "fps": np.float64(0.0)}, "'fps' must be one positive number"),
    ({"pressure": pressure(), "fps": np.float64(np.inf)}, "'fps' must be one positive number"),
    ({"pressure": pressure(), "cell_pitch": np.array([0.01, 0.01])}, "'cell_pitch' must be one positive number"),
])
def test_bad_content_names_file_and_problem(tmp_path, arrays, message):
    path = write(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=message) as error:
        load_mip_file(path)
    assert str(error.value).startswith(f"{path}: ")


def test_fps_and_cell_pitch_defaults_and_values(tmp_path):
    plain = load_mip_file(write(tmp_path / "a.npz", pressure=pressure()))
    assert (plain.fps, plain.cell_pitch) == (MIP_FPS, MIP_PITCH_M)
    both = load_mip_file(write(tmp_path / "b.npz", pressure=pressure(), fps=np.float64(30.0),
                               cell_pitch=np.array(0.02)))
    assert (both.fps, both.cell_pitch) == (30.0, 0.02)
    assert load_mip_file(write(tmp_path / "c.npz", pressure=pressure(), fps=np.int64(25))).fps == 25.0


# -- unreadable files ----------------------------------------------------------------------------------------

def test_missing_garbage_and_non_npz_files(tmp_path):
    with pytest.raises(ValueError, match=r"absent\.npz: cannot read: no such file"):
        load_mip_file(tmp_path / "absent.npz")
    with pytest.raises(ValueError, match="no such file"):
        load_mip_file(tmp_path)  # a folder
    (tmp_path / "junk.npz").write_bytes(b"this is not a zip archive")
    with pytest.raises(ValueError, match=r"junk\.npz: not a readable \.npz file"):
        load_mip_file(tmp_path / "junk.npz")
    (tmp_path / "empty.npz").write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.npz: not a readable"):
        load_mip_file(tmp_path / "empty.npz")
    np.save(tmp_path / "single.npy", pressure())
    with pytest.raises(ValueError, match=r"single\.npy: not a readable"):
        load_mip_file(tmp_path / "single.npy")


@pytest.mark.parametrize("compressed", [False, True])
def test_truncated_file_is_a_clear_error(tmp_path, compressed):
    good = tmp_path / "good.npz"
    save = np.savez_compressed if compressed else np.savez
    save(good, pressure=np.random.default_rng(0).random((20, 60, 40)).astype(np.float32))
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ValueError, match=r"truncated\.npz: not a readable \.npz file"):
        load_mip_file(truncated)


def test_corrupt_member_is_a_clear_error(tmp_path):
    good = tmp_path / "good.npz"
    np.savez_compressed(good, pressure=np.random.default_rng(0).random((20, 60, 40)).astype(np.float32))
    data = bytearray(good.read_bytes())
    middle = len(data) // 2
    data[middle: middle + 64] = bytes(64)  # damage the compressed pressure, keep the zip directory
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"corrupt\.npz: truncated or corrupt \.npz file, cannot read key 'pressure'"):
        load_mip_file(corrupt)


def test_pickled_member_is_refused(tmp_path):
    path = write(tmp_path / "pickle.npz", pressure=np.array([[[object()]]], dtype=object))
    with pytest.raises(ValueError, match=r"pickle\.npz: key 'pressure' cannot be read"):
        load_mip_file(path)


def test_open_mip_reads_other_keys_once_and_closes(tmp_path):
    path = write(tmp_path / "a.npz", pressure=pressure(), box=np.zeros((3, 1, 4)), name=np.array("x"))
    with open_mip(path) as archive:
        assert "box" in archive and "nothing" not in archive and sorted(archive.files) == ["box", "name", "pressure"]
        assert archive["box"] is archive["box"]
        assert archive.text("name") == "x" and archive.text("nothing") is None
        assert archive.number("fps", None) is None
        mip = read_mip_pressure(archive)
        with pytest.raises(KeyError):
            archive["nothing"]
    assert mip.path == path and mip.pressure.shape == (3, 4, 5)
