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
    description="Publishes a real pressure mat: serial or UDP hardware, MIP file or rosbag2 replay.",
    license="Apache-2.0",
    entry_points={
        "console_scripts": [
            "mat_driver = mat_driver.entry:main",
            "presstrack-fake-mat = mat_driver.fake_device:main",
            "presstrack-driver-rate = mat_driver.rate_bench:main",
        ],
    },
)
