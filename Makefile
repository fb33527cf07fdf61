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

.PHONY: help setup apt venv test lint typecheck pytest demo protocol clean image image-apt \
	image-wheels image-tree test-image oidc-provider

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

# The single sign-on tests run a real OpenID provider (oidc-provider from the npm registry,
# pinned by tests/oidc/package-lock.json) on Node.js: Debian's nodejs and npm when no npm is
# found (a Node.js installed otherwise is kept).
OIDC_STAMP := tests/oidc/node_modules/.installed

$(OIDC_STAMP): tests/oidc/package-lock.json
	cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error
	touch $(OIDC_STAMP)

oidc-provider:
	@command -v npm >/dev/null || $(MAKE) --no-print-directory image-apt IMAGE_PACKAGES="nodejs npm"
	@$(MAKE) --no-print-directory -s $(OIDC_STAMP)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

pytest: setup oidc-provider
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
# One recipe, two outputs: `make image` is the bootable GPT disk (needs loop devices and vfat);
# `make image-tree` runs the same recipe (packages, mkosi.prepare, mkosi.postinst, mkosi.extra)
# into a plain directory, for machines that cannot mount vfat (containers, this CI's sandbox).
# --nspawn-keep-unit: mkosi's systemd-nspawn runs in the caller's unit instead of asking the
# host's systemd for a scope over D-Bus (there is none when systemd is not PID 1).
IMAGE_APT := mkosi debootstrap systemd-container dosfstools e2fsprogs
IMAGE_TEST_APT := $(IMAGE_APT) qemu-system-x86 fdisk mosquitto
MKOSI := cd images && mkosi --force --nspawn-keep-unit
# mkosi 14 writes into mkosi.output/<distribution>~<release>/.
IMAGE_OUT := images/mkosi.output/debian~bookworm
IMAGE_TREE := $(IMAGE_OUT)/bornes-terminal.tree
# The directory build's workspace must be outside the repository: mkosi 14 puts it beside the
# output otherwise, its mounts then sit inside the sources it binds into the prepare script,
# and the kernel refuses the id-mapped bind of a tree with submounts ("Failed to map ids for
# bind mount ...: Device or resource busy"). The disk build already works in /var/tmp.
IMAGE_WORKSPACE ?= /var/tmp

image-apt:
	@missing=""; for pkg in $(IMAGE_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q "ok installed" || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		if [ "$$(id -u)" -ne 0 ]; then echo "Run as root (or with sudo) to install:$$missing" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

image-wheels: venv
	rm -rf images/mkosi.wheels && mkdir -p images/mkosi.wheels images/mkosi.output images/mkosi.cache
	$(BIN)/python -m pip wheel -q -w images/mkosi.wheels '.[kiosk,agent]'

image: venv
	@$(MAKE) --no-print-directory image-apt IMAGE_PACKAGES="$(IMAGE_APT)"
	@$(MAKE) --no-print-directory image-wheels
	$(MKOSI) build
	@echo "Image: $(CURDIR)/$(IMAGE_OUT)/bornes-terminal.raw"

image-tree: venv
	@$(MAKE) --no-print-directory image-apt IMAGE_PACKAGES="$(IMAGE_APT)"
	@$(MAKE) --no-print-directory image-wheels
	$(MKOSI) --format directory --bootable no --workspace-dir $(IMAGE_WORKSPACE) \
		--output bornes-terminal.tree build
	@# The initrd the disk build puts in its unified kernel image, made the way mkosi makes it
	@# (dracut, not host-only, its qemu module), from the tree itself, left read only.
	systemd-nspawn --quiet --keep-unit --register=no --read-only --private-network --resolv-conf=off \
		--tmpfs=/tmp --tmpfs=/var/tmp \
		--directory=$(IMAGE_TREE) --bind=$(CURDIR)/$(IMAGE_OUT):/mnt -- /bin/sh -c \
		'dracut --quiet --force --no-hostonly --add qemu /mnt/bornes-terminal.initrd $$(ls /usr/lib/modules)'
	@echo "Tree: $(CURDIR)/$(IMAGE_TREE), kernel: $$(ls $(IMAGE_TREE)/boot/vmlinuz-*), initrd: $(CURDIR)/$(IMAGE_OUT)/bornes-terminal.initrd"

# The slow test (tests/images/test_boot.py): builds the tree with `make image-tree`, makes a
# GPT disk of it without mounting anything, boots it in QEMU and waits for the agent's
# "online" on a Mosquitto started here. KIOSK_IMAGE_TREE=<dir> boots an existing tree instead.
# Not part of `make test` (pyproject.toml deselects the `slow` marker there).
test-image: venv
	@$(MAKE) --no-print-directory image-apt IMAGE_PACKAGES="$(IMAGE_TEST_APT)"
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -m slow tests/images $(PYTEST_ARGS)
	@cat images/mkosi.output/figures.json 2>/dev/null || true

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache tests/oidc/node_modules
