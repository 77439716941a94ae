# The two commands of the README: `make demo` and `make test`. Each sets itself up.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
READY := $(VENV)/.requirements-installed

.PHONY: demo invoke test lint bench reliability layout archive clean venv

$(READY): requirements.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required: the function runs on fnproject/python:3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# The environment alone: what the deploy kit (.venv/bin/python -m backup_copier.deploy_kit) runs in.
venv: $(READY)

demo: $(READY)
	$(BIN)/python -m local_runtime.demo

# Any body sent to the function behind the real fdk socket and the emulator (local_runtime/invoke.py):
# BODY=<file> or BODY=- (standard input); SETTINGS='KEY=VALUE ...' over the demo's settings.
invoke: $(READY)
	@test -n "$(BODY)" || { echo "usage: make invoke BODY=events/<file>.json [SETTINGS='KEY=VALUE ...']"; exit 2; }
	@$(BIN)/python -m local_runtime.invoke "$(BODY)" $(SETTINGS)

lint: $(READY)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# pytest's exit code 5 means it collected no test: that is a failure here, not a pass.
test: lint
	$(BIN)/python -m pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$status

# The reliability suite alone; its last line is the summary docs/performance.md quotes.
reliability: $(READY)
	$(BIN)/python -m pytest tests/reliability -q

# The image's /python and /function, as the Dockerfile's build stage writes them; see docs/image.md.
layout: $(READY)
	@test -n "$(DEST)" || { echo "usage: make layout DEST=<folder without python/ or function/>"; exit 2; }
	$(BIN)/python -m local_runtime.layout $(DEST)

# The code-only function archive, dist/backup-copier-<version>-py<X.Y>-<arch>.zip: the layout's two trees
# zipped. PYTHON_VERSION (default func.yaml's) and ARCH=x86|arm (default x86) name the runtime;
# TARGET_PYTHON names an interpreter of that version to check it with. See docs/deploying.md.
archive: $(READY)
	$(BIN)/python -m local_runtime.archive dist --python "$(PYTHON_VERSION)" --arch "$(ARCH)" --interpreter "$(TARGET_PYTHON)"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# Image size, cold start, warm invocations and memory: the image layout next to the plain install,
# the naive handler and the floor, in one run; see docs/performance.md.
bench: $(READY)
	$(BIN)/python -m bench.run
