# The two commands of the README:
#   make demo   set up .venv and run the offline DOC demo (tiny ERNIE + bundled sample)
#   make test   set up .venv and run the test suite
VENV ?= .venv
# exact versions tested with Python 3.11; `make setup CONSTRAINTS=` lets pip choose (other Pythons)
CONSTRAINTS ?= constraints.txt
PY := $(VENV)/bin/python
export OMP_NUM_THREADS ?= 2
export MKL_DEBUG_CPU_TYPE ?= 5

.PHONY: setup demo test test-all clean

setup: $(VENV)/.installed

$(VENV)/.installed: setup.py constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) -e ".[cpu,test]"
	touch $@

demo: setup
	$(PY) tools/demo.py

test: setup
	$(PY) -m pytest -q -m "not slow or ci"

test-all: setup
	$(PY) -m pytest -q

clean:
	rm -rf output/demo_doc output/tiny_ernie
