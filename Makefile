# Two entry points for a fresh clone: `make reproduce` (the smoke reports) and `make test`.
# Both create .venv when missing and install the project with its dev extras first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TORCH_SPEC ?= torch==2.13.0
PRESET ?= smoke
STAMP := $(VENV)/.installed

.PHONY: install system-deps test test-slow reproduce lint clean

# Debian packages the optional parts need: chromium (plotly PNG export, browser tests) and the
# Qt 5 runtime (envpool's Procgen). Installed only where we are root with apt; skipped otherwise.
system-deps:
	@if command -v chromium >/dev/null 2>&1 && ldconfig -p 2>/dev/null | grep -q libQt5Gui; then \
	  echo "system-deps: chromium and Qt 5 present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "system-deps: installing chromium libqt5gui5 with apt"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium libqt5gui5 >/dev/null) \
	    || echo "system-deps: apt install failed; PNG export and Procgen will be skipped"; \
	else \
	  echo "system-deps: not root or no apt: install chromium and libqt5gui5 yourself for PNGs and Procgen"; \
	fi

# torch first, pinned to the CPU wheel, unless the venv already has a torch (e.g. your CUDA build:
# create .venv yourself with it, and it is kept).
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[dev]"
	@touch $@

install: system-deps $(STAMP)

lint: install
	$(VENV)/bin/ruff check workbench tests benchmarks notebooks examples

# pytest exits 5 when it collects no tests: that is not a failure of the set-up.
test: install lint
	$(PY) -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest: no tests collected"; rc=0; fi; exit $$rc

test-slow: install
	$(PY) -m pytest -q -m slow

reproduce: install
	$(PY) -m workbench reproduce --preset $(PRESET)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
