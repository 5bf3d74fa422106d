from setuptools import find_packages, setup

PACKAGE = "presstrack_eval"

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
    description="Development tools that span the suite: the tracking suite and benchmark on simulated scenes, training and evaluating the mesh network on ground-truth boxes or the tracker's crops.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "presstrack-track-suite = presstrack_eval.track_suite:main",
            "presstrack-track-bench = presstrack_eval.track_bench:main",
            "presstrack-train = presstrack_eval.train:main",
            "presstrack-eval = presstrack_eval.evaluate:main",
            "presstrack-eval-table = presstrack_eval.eval_table:main",
            "presstrack-heading = presstrack_eval.heading_turns:main",
        ],
    },
)
