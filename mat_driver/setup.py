from setuptools import find_packages, setup

PACKAGE = "mat_driver"

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
    description="Publishes the pressure mat: simulated crowd, MIP/bag replay, or serial/UDP hardware.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "mat_driver = mat_driver.node:main",
            "presstrack-fake-mat = mat_driver.fake_device:main",
            "presstrack-sim = mat_driver.sim.cli:main",
            "presstrack-driver-rate = mat_driver.rate_bench:main",
        ],
    },
)
