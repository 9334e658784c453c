# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU torch wheel must go in first: an unpinned torch pulls several GB of CUDA packages.
TORCH_PIN ?= torch==2.13.0

.PHONY: install demo test assets clean browser sandbox docs

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH_PIN)
	# PYTHONWARNINGS: setuptools warns once per data folder under assets/ (they are package data, not code).
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed

# The training-free task controllers from the shipped grasp sets and the open-hand baseline, 2 objects x 4 grasps (sampled across each set)
# per task, source and split: the Table II-shaped success table with 95 % intervals in a few minutes on 2 cores.
demo: install
	$(BIN)/dextog benchmark --verifier controller --out demo_out/benchmark --grasps rule,isf,diffutog,open_hand --max-objects 2 \
		--grasps-per-object 4 --fresh --intervals --png demo_out/table_ii.png --no-progress

test: install browser sandbox docs
	$(BIN)/python -m pytest -q -m "not slow"

# The documentation site (mkdocs.yml, docs/): strict, so a broken link or a missing included table fails the build.
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir build/site

# The leaderboard page is tested in headless Chromium (Debian's package). Installed here when we can (root and
# apt-get); elsewhere its tests are skipped with the reason, and the rest of the suite runs.
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		{ apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; } ; } || \
		echo "chromium is not installed and cannot be installed here: the browser tests will be skipped"

# Submitted grasp generators (the leaderboard's generator track) run in a bubblewrap sandbox (dextog_gym/leaderboard/sandbox.py).
# Installed here when we can (root and apt-get); elsewhere the generator-track tests are skipped with the reason.
sandbox:
	@command -v bwrap >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
		{ apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null 2>&1; } ; } || \
		echo "bubblewrap is not installed and cannot be installed here: the generator-track tests will be skipped"

assets: install
	$(BIN)/dextog assets build

clean:
	rm -rf $(VENV) demo_out .pytest_cache
