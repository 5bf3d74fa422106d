# PressTrack: set-up, build, demo and tests on a machine without a ROS install.
# Every target creates or refreshes what it needs (.venv/ with the pinned wheels, the colcon build
# installed into .venv/) and does nothing when nothing changed.

PYTHON      ?= python3.11
VENV        := $(CURDIR)/.venv
PY          := $(VENV)/bin/python
PACKAGES    := presstrack_msgs presstrack_common presstrack_body presstrack_sim mat_driver pressure_tracker \
               mesh_recovery presstrack_eval launch
# Python packages whose console scripts are linked into .venv/bin.
PY_PACKAGES := presstrack_body presstrack_sim mat_driver pressure_tracker mesh_recovery presstrack_eval presstrack_bringup
TF2_COMPAT  := presstrack_msgs/compat/tf2_msgs
HRI_COMPAT  := presstrack_msgs/compat/hri_msgs

# rclpy needs a writable log directory; keep it inside the work tree.
export ROS_LOG_DIR ?= $(CURDIR)/log/ros
export HOME ?= $(CURDIR)

BUILD_ENV := AMENT_PREFIX_PATH=$(VENV) CMAKE_PREFIX_PATH=$(VENV) PATH=$(VENV)/bin:$$PATH
SOURCES   := $(shell find $(PACKAGES) -type f -not -path '*/__pycache__/*' -not -path '*/test/*' 2>/dev/null)

REQUIREMENTS_STAMP := $(VENV)/.requirements-installed
BUILD_STAMP        := $(VENV)/.workspace-built
DEFAULT_BODY       := $(VENV)/share/presstrack_body/body_models/SMPL_NEUTRAL.npz

.PHONY: all setup build test demo bench soak hmr-eval clean
all: build
setup: $(REQUIREMENTS_STAMP)
build: $(BUILD_STAMP) $(DEFAULT_BODY)

# The Kilted wheels hard-code the include paths of the machine they were built on into their exported
# rosidl_generator_py cmake targets; point them at this venv's Python and numpy so interfaces build.
# Whether tf2_msgs and hri_msgs must be supplied by our compatibility packages is decided here, before our own
# build could install one.
$(REQUIREMENTS_STAMP): requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	py_include=$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["include"])'); \
	numpy_include=$$($(PY) -c 'import numpy; print(numpy.get_include())'); \
	sed -i -e "s#/opt/python/cp311-cp311/include/python3.11#$$py_include#g" \
	       -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#$$numpy_include#g" \
	       $(VENV)/share/*/cmake/*rosidl_generator_py*.cmake
	if $(PY) -c 'import tf2_msgs' 2>/dev/null; then rm -f $(VENV)/.needs-tf2-compat; else touch $(VENV)/.needs-tf2-compat; fi
	if $(PY) -c 'import hri_msgs' 2>/dev/null; then rm -f $(VENV)/.needs-hri-compat; else touch $(VENV)/.needs-hri-compat; fi
	touch $(VENV)/COLCON_IGNORE
	touch $@

$(BUILD_STAMP): $(REQUIREMENTS_STAMP) $(SOURCES)
	$(BUILD_ENV) $(VENV)/bin/colcon --log-base log build --merge-install --install-base $(VENV) --build-base build \
	  --base-paths $(PACKAGES) $$(test -e $(VENV)/.needs-tf2-compat && echo $(TF2_COMPAT)) \
	  $$(test -e $(VENV)/.needs-hri-compat && echo $(HRI_COMPAT)) \
	  --event-handlers console_direct- summary- \
	  --cmake-args -DPython3_EXECUTABLE=$(PY) -DBUILD_TESTING=OFF
	for pkg in $(PY_PACKAGES); do \
	  for exe in $(VENV)/lib/$$pkg/*; do test -f "$$exe" && ln -sf "$$exe" $(VENV)/bin/; done; \
	done; true
	touch $@

# The embedded default body, generated once from anny's free body model (about a minute).
$(DEFAULT_BODY): $(BUILD_STAMP) presstrack_body/presstrack_body/default_body.py
	$(VENV)/bin/presstrack-make-default-body --out $@

test: build
	$(PY) -m pytest

# A fresh run each time: the previous demo's bag, summary and preview are replaced.
demo: build
	rm -rf out/demo
	$(VENV)/bin/presstrack demo --out out/demo

# Speed per stage and end to end over DDS (1/3/5 people at 15/30/60 Hz): out/bench/bench.json and bench.md.
# BENCH_ARGS, e.g. --quick, --stages-only, --duration 120 --people 3 --rates 30.
bench: build
	$(VENV)/bin/presstrack-bench --out out/bench $(BENCH_ARGS)

# 30 minutes of the simulated 3-person graph with a fault every 5 minutes (a wrong /mat/info, a noise burst, a
# driver restart, in turn): memory growth per node, drops, id switches in out/soak/. SOAK_ARGS, e.g. --duration 180.
soak: build
	$(VENV)/bin/presstrack-soak --out out/soak --duration 1800 --faults-every 300 $(SOAK_ARGS)

# The README's mesh-recovery tables: both backends, both output modes, on ground-truth boxes and on the
# tracker's crops, over the test split of a simulated corpus whose people and scenes training never saw,
# each scored under both protocols (paper: the authors' aggregation; tracking: identities held).
# out/hmr_eval/table.md is the README's block, to paste as written; the network runs on the CPU through torch
# float32 with 2 threads, so a clean clone gives the same figures (compare two runs with
# `presstrack-eval-table --compare A/table.json B/table.json`).
# The corpus is simulated once, and again when the simulator changes.
HMR_TEST_CORPUS := out/hmr_test_corpus
SIM_SOURCES     := $(wildcard presstrack_sim/presstrack_sim/*.py)
$(HMR_TEST_CORPUS)/corpus.json: $(SIM_SOURCES) | build
	rm -rf $(HMR_TEST_CORPUS)
	$(VENV)/bin/presstrack-sim corpus --out $(HMR_TEST_CORPUS) --scenes 40 --seconds 30 --seed 7 --jobs 2
hmr-eval: build $(HMR_TEST_CORPUS)/corpus.json
	$(VENV)/bin/presstrack-eval-table --data $(HMR_TEST_CORPUS) --out out/hmr_eval

clean:
	rm -rf $(VENV) build log
