# Two commands do all set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU torch wheel must go in first: an unpinned torch pulls several GB of CUDA packages.
TORCH_PIN ?= torch==2.13.0

.PHONY: install demo test assets clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH_PIN)
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/dextog demo --out demo_out

test: install
	$(BIN)/python -m pytest -q -m "not slow"

assets: install
	$(BIN)/dextog assets build

clean:
	rm -rf $(VENV) demo_out .pytest_cache
