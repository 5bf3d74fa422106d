from setuptools import find_packages, setup

PACKAGE = "presstrack_sim"

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
    description="The pressure-mat simulator: people, gait, footing, plantar pressure and the sensor, scenarios, MIP-format corpora, and a node that publishes what the mat driver publishes plus ground truth.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "mat_sim = presstrack_sim.entry:main",
            "presstrack-sim = presstrack_sim.cli:main",
        ],
    },
)
