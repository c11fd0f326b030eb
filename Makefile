# NN Designer: `make run` starts the app, `make test` runs every test; both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench package clean fuzz

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,onnx,package]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/nn-designer

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

# the long fuzzing budget: NND_FUZZ_EXAMPLES mutants of the examples through check and a round trip, and
# NND_FUZZ_TRAIN of the accepted ones through train --epochs 1 with their peak memory (tests/fuzz/run_fuzz.py)
NND_FUZZ_EXAMPLES ?= 10000
NND_FUZZ_TRAIN ?= 40
fuzz: $(STAMP)
	QT_QPA_PLATFORM=offscreen NND_FUZZ_EXAMPLES=$(NND_FUZZ_EXAMPLES) NND_FUZZ_TRAIN=$(NND_FUZZ_TRAIN) \
		$(PY) tests/fuzz/run_fuzz.py

bench: $(STAMP)
	for script in benchmarks/bench_*.py; do $(PY) $$script || exit 1; done

# dist/nn-designer/ and dist/nn-designer-<version>-linux-x86_64.tar.gz, then the bundle's own self-test
package: $(STAMP)
	PYTHON=$(PY) packaging/build.sh
	QT_QPA_PLATFORM=offscreen dist/nn-designer/nn-designer --self-test

clean:
	rm -rf $(VENV) build dist
