"""The workspace's packages layer one way and declare what they import (what `rosdep check` and colcon rely on)."""
from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from package_graph import REPO, dependency_cycle, imported_names, module_owners, required_keys, workspace_packages

PACKAGES = workspace_packages()
OWNERS = module_owners(PACKAGES)


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_every_import_is_declared_in_package_xml(package):
    run = required_keys(package, OWNERS, test=False)
    test = required_keys(package, OWNERS, test=True)
    missing = {key: sorted(str(f.relative_to(REPO)) for f in files) for key, files in run.items()
               if key not in package.run_keys}
    missing_for_tests = {key: sorted(str(f.relative_to(REPO)) for f in files) for key, files in test.items()
                         if key not in package.run_keys | package.test_keys}
    assert not missing, f"{package.name}/package.xml lacks <exec_depend> for {missing}"
    assert not missing_for_tests, f"{package.name}/package.xml lacks <test_depend> for {missing_for_tests}"


def test_the_package_graph_has_no_cycle():
    assert dependency_cycle(PACKAGES) is None


def test_the_layers_point_one_way():
    """Interfaces and helpers at the bottom, the body model, the simulator beside the driver, the tools on top;
    what runs on the robot never depends on what only serves development."""
    depends = {p.name: (p.run_keys | p.test_keys) & set(OWNERS.values()) for p in PACKAGES}
    assert depends["presstrack_msgs"] == set()
    assert depends["presstrack_common"] <= {"presstrack_msgs"}
    assert depends["presstrack_body"] == set()
    for robot_side in ("mat_driver", "pressure_tracker", "mesh_recovery"):
        assert not depends[robot_side] & {"presstrack_sim", "presstrack_eval", "presstrack_bringup"}, robot_side
    assert not depends["mat_driver"] & {"presstrack_body", "mesh_recovery", "pressure_tracker"}
    assert "pressure_tracker" not in depends["mesh_recovery"]


def test_presstrack_msgs_holds_interfaces_only():
    folder = REPO / "presstrack_msgs"
    assert not list(folder.glob("*/__init__.py")) and not list(folder.glob("*/*.py"))
    assert "ament_python_install_package" not in (folder / "CMakeLists.txt").read_text()
    assert "install(FILES" not in (folder / "CMakeLists.txt").read_text()


def _imports_in_fresh_interpreter(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return set(result.stdout.split())


@pytest.mark.parametrize("module", ["mat_driver.node", "pressure_tracker.node"])
def test_the_driver_and_tracker_nodes_load_neither_torch_nor_smplx_nor_the_simulator(module):
    loaded = _imports_in_fresh_interpreter(module)
    assert not {"torch", "smplx", "presstrack_sim", "presstrack_body"} & {name.split(".")[0] for name in loaded}


def _our_modules() -> dict[str, tuple[set[str], bool]]:
    """Dotted module -> (our modules it imports, whether it imports rclpy itself)."""
    modules = {}
    for package in PACKAGES:
        for top in package.python_packages:
            for path in (package.folder / top).rglob("*.py"):
                parts = path.relative_to(package.folder).with_suffix("").parts
                name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
                tree = ast.parse(path.read_text())
                targets = set()
                for node in ast.walk(tree):
                    if isinstance(node, ast.Import):
                        targets |= {alias.name for alias in node.names}
                    elif isinstance(node, ast.ImportFrom) and node.module:
                        base = node.module if node.level == 0 else ".".join(name.split(".")[:-node.level] + [node.module])
                        targets |= {base} | {f"{base}.{alias.name}" for alias in node.names}
                modules[name] = (targets, "rclpy" in imported_names(path))
    return modules


def test_no_core_module_reaches_rclpy():
    """In the packages with a pure core, only ROS-facing modules (those that import rclpy themselves, and
    the nodes) may load rclpy, so every core imports and tests without ROS. (presstrack_bringup runs the
    ROS graph and has no core.)"""
    modules = _our_modules()
    reaches: dict[str, bool] = {}

    def reaches_rclpy(name: str, seen: frozenset = frozenset()) -> bool:
        if name not in reaches:
            targets, direct = modules[name]
            reaches[name] = direct or any(reaches_rclpy(t, seen | {name}) for t in targets
                                          if t in modules and t not in seen)
        return reaches[name]

    offenders = [name for name, (_, direct) in modules.items()
                 if reaches_rclpy(name) and not direct and name.rsplit(".", 1)[-1] not in ("node", "node_main")
                 and not name.startswith("presstrack_bringup")]
    assert not offenders, f"core modules that load rclpy through another module: {offenders}"
