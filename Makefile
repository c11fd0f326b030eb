# NN Designer: `make run` starts the app, `make test` runs every test; both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench package clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test,onnx,package]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/nn-designer

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest

bench: $(STAMP)
	for script in benchmarks/bench_*.py; do $(PY) $$script || exit 1; done

# dist/nn-designer/ and dist/nn-designer-<version>-linux-x86_64.tar.gz, then the bundle's own self-test
package: $(STAMP)
	PYTHON=$(PY) packaging/build.sh
	QT_QPA_PLATFORM=offscreen dist/nn-designer/nn-designer --self-test

clean:
	rm -rf $(VENV) build dist
