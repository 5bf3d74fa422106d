"""The packages of this workspace, their declared dependencies (package.xml) and the imports of their code.

Used by test_package_dependencies.py, and runnable to print what a package imports but does not declare:
    python test/package_graph.py
"""
from __future__ import annotations

import ast
import sys
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# Import name -> rosdep key, for what is not a ROS package of the same name. Keys follow rosdep's
# conventions: python3-<name> for libraries a distribution packages, python3-<name>-pip for pip-only ones.
ROSDEP_KEYS = {
    "numpy": "python3-numpy", "scipy": "python3-scipy", "serial": "python3-serial", "yaml": "python3-yaml",
    "torch": "python3-torch", "matplotlib": "python3-matplotlib", "mpl_toolkits": "python3-matplotlib",
    "psutil": "python3-psutil", "tqdm": "python3-tqdm", "imageio": "python3-imageio",
    "imageio_ffmpeg": "python3-imageio-ffmpeg-pip", "ruamel": "python3-ruamel.yaml",
    "rosbags": "python3-rosbags-pip", "motmetrics": "python3-motmetrics-pip", "smplx": "python3-smplx-pip",
    "anny": "python3-anny-pip", "onnxruntime": "python3-onnxruntime-pip", "pytest": "python3-pytest",
    "hypothesis": "python3-hypothesis", "urdf_parser_py": "urdfdom_py", "trackers": "python3-trackers-pip",
    "supervision": "python3-supervision-pip",
}
ROS_PACKAGES = {"rclpy", "rcl_interfaces", "std_msgs", "sensor_msgs", "geometry_msgs", "diagnostic_msgs",
                "visualization_msgs", "tf2_msgs", "hri_msgs", "builtin_interfaces", "ament_index_python", "launch",
                "launch_ros"}
DEPEND_TAGS = ("depend", "exec_depend", "build_depend", "build_export_depend", "buildtool_depend")


@dataclass
class Package:
    name: str
    folder: Path
    python_packages: tuple[str, ...]          # the import names its code installs
    run_keys: set[str] = field(default_factory=set)    # declared for running
    test_keys: set[str] = field(default_factory=set)   # declared for testing only


def workspace_packages() -> list[Package]:
    """Every package.xml under the repository (not the build or venv trees, not the compat ones)."""
    packages = []
    for manifest in sorted(REPO.glob("*/package.xml")):
        root = ElementTree.parse(manifest).getroot()
        folder = manifest.parent
        modules = tuple(sorted(p.parent.name for p in folder.glob("*/__init__.py") if p.parent.name != "test"))
        package = Package(root.findtext("name"), folder, modules)
        for tag in DEPEND_TAGS:
            package.run_keys |= {e.text.strip() for e in root.iter(tag)}
        package.test_keys = {e.text.strip() for e in root.iter("test_depend")}
        packages.append(package)
    return packages


def imported_names(path: Path) -> set[str]:
    """Top-level names of every absolute import in a module (also imports inside functions)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def required_keys(package: Package, owners: dict[str, str], test: bool) -> dict[str, set[Path]]:
    """rosdep key -> the files that need it, for the package's code (test=False) or its tests (test=True)."""
    files = sorted((package.folder / "test").glob("*.py")) if test else \
        [f for m in package.python_packages for f in sorted((package.folder / m).rglob("*.py"))]
    files += [] if test else sorted((package.folder / "launch").glob("*.launch.py"))
    local = {f.stem for f in (package.folder / "test").glob("*.py")} | {f.stem for f in (REPO / "test").glob("*.py")}
    needed: dict[str, set[Path]] = {}
    for path in files:
        for name in imported_names(path):
            if name in sys.stdlib_module_names or name == "__future__" or name in package.python_packages:
                continue
            if test and name in local:
                continue
            key = owners.get(name) or ROSDEP_KEYS.get(name) or (name if name in ROS_PACKAGES else f"unknown:{name}")
            needed.setdefault(key, set()).add(path)
    return needed


def module_owners(packages: list[Package]) -> dict[str, str]:
    """Import name -> the workspace package that installs it (interfaces: the package's own name)."""
    owners = {p.name: p.name for p in packages}
    for package in packages:
        owners |= {module: package.name for module in package.python_packages}
    return owners


def dependency_cycle(packages: list[Package]) -> list[str] | None:
    """A cycle among the workspace packages' declared dependencies (run and test), or None."""
    names = {p.name for p in packages}
    edges = {p.name: sorted((p.run_keys | p.test_keys) & names) for p in packages}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        path.append(name)
        for dependency in edges[name]:
            if state.get(dependency) == 1:
                return path[path.index(dependency):] + [dependency]
            if dependency not in state and (cycle := visit(dependency)):
                return cycle
        path.pop()
        state[name] = 2
        return None

    for name in sorted(names):
        if name not in state and (cycle := visit(name)):
            return cycle
    return None


def main() -> int:
    packages = workspace_packages()
    owners = module_owners(packages)
    for package in packages:
        run = required_keys(package, owners, test=False)
        test = required_keys(package, owners, test=True)
        missing_run = sorted(set(run) - package.run_keys)
        missing_test = sorted(set(test) - package.run_keys - package.test_keys)
        unused = sorted(package.run_keys - set(run) - {"ament_cmake", "ament_cmake_python", "rosidl_default_generators",
                                                        "rosidl_default_runtime"})
        print(f"{package.name}: missing {missing_run}, missing for tests {missing_test}, declared but not imported {unused}")
    print("cycle:", dependency_cycle(packages))
    return 0


if __name__ == "__main__":
    sys.exit(main())
