from glob import glob

from setuptools import find_packages, setup

PACKAGE = "mesh_recovery"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + PACKAGE]),
        ("share/" + PACKAGE, ["package.xml"]),
        ("share/" + PACKAGE + "/checkpoints", sorted(glob("checkpoints/*.pt"))),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="PressTrack developers",
    maintainer_email="dev@presstrack.invalid",
    description="Recovers SMPL meshes per tracked person in the world frame from their pressure signal.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "mesh_recovery = mesh_recovery.entry:main",
        ],
    },
)
