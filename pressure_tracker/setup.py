from setuptools import find_packages, setup

PACKAGE = "pressure_tracker"

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
    description="Splits the mixed mat image into tracked people: footprint detection, multi-person tracking, per-person crops.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "pressure_tracker = pressure_tracker.entry:main",
            "presstrack-track = pressure_tracker.cli:track_main",
            "presstrack-track-eval = pressure_tracker.cli:eval_main",
        ],
    },
)
