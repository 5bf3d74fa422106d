"""Body model layer: the SMPL skeleton and kinematics, and a free default SMPL-format body.

- `kinematics`: the 24 SMPL joints (names, parents), axis-angle <-> matrix, forward kinematics
  and analytic two-bone leg IK, in numpy. The only skeleton in the code base.
- `model.BodyModel`: SMPL via smplx (a user's licensed SMPL file, or the default body), batched,
  torch, CPU or GPU; also the sole vertices of each foot.
- `default_body`: generates the default body (`presstrack-make-default-body --out PATH`) once
  and caches it; `default_model_path()` finds it.

Licences of the default body's sources (as stated by the installed `anny` 0.6.2 package):
- anny code and its own data (e.g. the adult shape calibration used to sample phenotypes):
  Copyright (c) 2025 NAVER Corp., Apache License 2.0 (anny's LICENSE).
- Mesh, rig, skinning weights and shape targets: MakeHuman assets adapted from MPFB2, under
  CC0 1.0 Universal (anny/data/mpfb2/LICENSE.md).
Only the default `anny` topology is used; anny's optional "smpl"/"smplx" topologies, which
anny downloads under a non-commercial licence, are not touched. The generated file holds no
SMPL data: its SMPL-format keys are filled from anny alone. Real SMPL files (from
smpl.is.tue.mpg.de, under their own licence) can be used instead by passing their path.
"""
