# Two commands a newcomer needs: `make demo` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

export SDL_VIDEODRIVER ?= dummy
export MUJOCO_GL ?= egl

.PHONY: install demo test lint bench browser clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[all,dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/vlm-reward demo

browser:
	@# Debian's Chromium drives the labelling app's browser tests; skipped with a reason if absent.
	@command -v chromium >/dev/null 2>&1 || \
		{ (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
		  echo "warning: could not install chromium; browser tests will be skipped"; }

test: $(STAMP) browser
	$(VENV)/bin/ruff check
	@# the layer contract of DESIGN.md (pyproject.toml [tool.importlinter])
	cd src && ../$(VENV)/bin/lint-imports ../pyproject.toml
	$(PY) -m pytest
	@# the docstring examples of the package run as doctests
	$(PY) -m pytest -q --doctest-modules src/vlm_reward

bench: $(STAMP)
	$(PY) -m benchmarks.run_all

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
