# The README's two commands: `make demo` and `make test`. Both create the
# local virtual environment .venv (tested CPU stack, requirements/cpu.txt)
# on first use and are safe to run again.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.mmseg_ood-installed
export OMP_NUM_THREADS ?= 2
# Test processes (pytest-xdist); each uses one thread.
TEST_WORKERS ?= 2

.PHONY: demo test lint venv

venv: $(STAMP)

$(STAMP): setup.py requirements/runtime.txt requirements/cpu.txt requirements/tests.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/cpu.txt -r requirements/tests.txt
	$(PY) -m pip install --quiet --no-build-isolation -e .
	touch $(STAMP)

demo: $(STAMP)
	$(PY) tools/misc/run_demo.py

lint: $(STAMP)
	$(PY) -m ruff check .

test: lint
	OMP_NUM_THREADS=1 $(PY) -m pytest -n $(TEST_WORKERS)
