

def test_the_data_decide_the_mat_size():
    from presstrack_common.mat_geometry import DataDecideTheMat

    mat = DataDecideTheMat()
    assert not mat.announce((100, 50)) and not mat.announce((238, 120)), "before data, /mat/info is taken at once"
    assert mat.judge(lambda shape: shape == (238, 120)) == DataDecideTheMat.CURRENT
    mat.confirm((238, 120))
    assert mat.announce((100, 50)), "after data, another size contradicts them"
    assert mat.current == (238, 120) and mat.announced == (100, 50)
    assert mat.judge(lambda shape: shape == (238, 121)) == DataDecideTheMat.NEITHER
    assert mat.judge(lambda shape: shape == (238, 120)) == DataDecideTheMat.CURRENT and mat.announced == (100, 50)
    assert mat.judge(lambda shape: shape == (100, 50)) == DataDecideTheMat.ADOPTED
    assert (mat.current, mat.announced) == ((100, 50), None)
    assert mat.announce((20, 20))
    mat.refuse()
    assert mat.announced is None and not mat.announce((100, 50))
