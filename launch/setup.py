from glob import glob

from setuptools import find_packages, setup

PACKAGE = "presstrack_bringup"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + PACKAGE]),
        ("share/" + PACKAGE, ["package.xml"]),
        ("share/" + PACKAGE + "/launch", glob("launch/*.launch.py")),
        ("share/" + PACKAGE + "/config", glob("config/*.yaml")),
        ("share/" + PACKAGE + "/rviz", glob("rviz/*.rviz")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="PressTrack developers",
    maintainer_email="dev@presstrack.invalid",
    description="Launch file, parameters, RViz config and the presstrack command that runs, records, replays and renders the graph.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "presstrack = presstrack_bringup.cli:main",
            "presstrack-bench = presstrack_bringup.bench:main",
            "presstrack-soak = presstrack_bringup.soak:main",
        ],
    },
)
