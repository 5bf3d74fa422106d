from setuptools import find_packages, setup

PACKAGE = "presstrack_body"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + PACKAGE]),
        ("share/" + PACKAGE, ["package.xml"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="PressTrack developers",
    maintainer_email="dev@presstrack.invalid",
    description="The body model layer: the SMPL skeleton and kinematics, SMPL through smplx, and a free SMPL-format default body generated from anny.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "presstrack-make-default-body = presstrack_body.default_body:main",
        ],
    },
)
