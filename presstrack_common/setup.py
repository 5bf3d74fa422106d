from setuptools import find_packages, setup

PACKAGE = "presstrack_common"

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
    description="Pure-Python helpers every PressTrack node and tool shares: mat geometry, the MIP file format, input checks, message conversions, the node runner.",
    license="Apache-2.0",
)
