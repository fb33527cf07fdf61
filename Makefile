# The README's two commands: `make demo` (see the system work) and `make test` (run every check).
# Both install what is missing first, and are quick when everything is already there.

SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Debian packages: the broker, the Qt/QtWebEngine runtime (offscreen, Virtual Keyboard needs
# libpulse0), fonts with Latin, Arabic and Cyrillic glyphs, Chromium for browser tests, and
# what systemd-python (the agent's journald logging) is built with.
APT_PACKAGES := mosquitto libpulse0 fonts-noto-core fonts-dejavu-core \
	libegl1 libgl1 libgbm1 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libnss3 \
	libfontconfig1 libdbus-1-3 libasound2 libxkbfile1 libxcomposite1 libxdamage1 libxrandr2 \
	libxtst6 libxshmfence1 chromium \
	libsystemd-dev pkg-config

# PostgreSQL tests run against the local server when it answers; otherwise they are skipped
# with a visible reason.
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: help setup apt venv test lint typecheck pytest demo protocol clean image

help:
	@echo "make demo   install what is missing, start broker + fleet + 3 simulated terminals"
	@echo "make test   install what is missing, then ruff, mypy --strict and pytest"

setup: apt venv

apt:
	@missing=""; for pkg in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "ok installed" || missing="$$missing $$pkg"; \
	done; \
	if ! $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null; then missing="$$missing python3-venv"; fi; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		if [ "$$(id -u)" -ne 0 ]; then echo "Run as root (or with sudo) to install:$$missing" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

pytest: setup
	@if command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then \
		export KIOSK_TEST_PG_URL="$${KIOSK_TEST_PG_URL:-$(PG_URL)}"; fi; \
	QT_QPA_PLATFORM=offscreen QTWEBENGINE_CHROMIUM_FLAGS="--no-sandbox --disable-gpu" \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

test: lint typecheck pytest

demo: setup
	$(BIN)/python -m fleet.demo

protocol: setup
	$(BIN)/python -m kiosk.contract > docs/protocol.md

# The terminal's OS image (docs/image.md): mkosi 14 from Debian 12, a wheelhouse of the project
# and its dependencies built here (Debian 12, Python 3.11, like the image), then mkosi in images/.
image: venv
	@command -v mkosi >/dev/null || { \
		if [ "$$(id -u)" -ne 0 ]; then echo "Run as root (or with sudo) to install mkosi" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mkosi >/dev/null; }
	rm -rf images/mkosi.wheels && mkdir -p images/mkosi.wheels images/mkosi.output
	$(BIN)/python -m pip wheel -q -w images/mkosi.wheels '.[kiosk,agent]'
	cd images && mkosi --force build
	@echo "Image: $(CURDIR)/images/mkosi.output/bornes-terminal.raw"

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
