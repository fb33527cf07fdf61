# The README's two commands: `make demo` (see the system work) and `make test` (run every check).
# Both install what is missing first, and are quick when everything is already there.

SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Debian packages, in groups; `make` names the group's reason when it installs one of them.
# systemd-python (the agent's journald handler) comes prebuilt as Debian's python3-systemd,
# linked into the virtualenv below: building it from PyPI would need gcc, python3-dev,
# libsystemd-dev and pkg-config (a toolchain and headers) for one small C extension.
APT_GROUPS := broker qt fonts browser journal demo checks metrics
APT_broker := mosquitto
WHY_broker := the MQTT broker that the tests and the demo start
APT_qt := libpulse0 libegl1 libgl1 libgbm1 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 \
	libnss3 libfontconfig1 libdbus-1-3 libasound2 libxkbfile1 libxcomposite1 libxdamage1 \
	libxrandr2 libxtst6 libxshmfence1 libxcb-icccm4 libxcb-keysyms1
WHY_qt := the libraries Qt, QtWebEngine and the Virtual Keyboard load, for the kiosk
APT_fonts := fonts-noto-core fonts-dejavu-core
WHY_fonts := Latin, Arabic and Cyrillic glyphs for the six languages
APT_browser := chromium libatomic1
WHY_browser := Debian's Chromium, which Playwright drives in the browser tests; its driver needs libatomic1
APT_journal := python3-systemd
WHY_journal := the agent's journald logging, prebuilt, nothing to compile
APT_demo := xvfb x11vnc novnc
WHY_demo := the real kiosk on a virtual display, shown in a browser through loopback-only VNC
APT_checks := systemd e2fsprogs fdisk nodejs
WHY_checks := the tools some tests run: systemd-analyze, mkfs.ext4, sfdisk, node for the polkit rule
APT_metrics := prometheus
WHY_metrics := promtool, which checks the shipped Prometheus alert rules and the fleet's /metrics output
APT_PACKAGES := $(foreach group,$(APT_GROUPS),$(APT_$(group)))
DEBIAN_SITE := /usr/lib/python3/dist-packages

# PostgreSQL tests run against the local server when it answers; otherwise they are skipped
# with a visible reason.
PG_HOST ?= 127.0.0.1
PG_PORT ?= 5432
PG_URL ?= postgresql+psycopg://postgres@$(PG_HOST):$(PG_PORT)/test

.PHONY: help setup apt venv test lint typecheck pytest demo protocol clean bench image image-apt \
	image-wheels image-tree test-image test-fresh demo-check screenshots oidc-provider axe-core

help:
	@echo "make demo   install what is missing, start broker + fleet + 3 terminals + the kiosk"
	@echo "make test   install what is missing, then ruff, mypy --strict and pytest"
	@echo "make test-fresh   both on a throwaway bare Debian 12 (debootstrap; root)"
	@echo "make screenshots  redraw docs/screenshots from today's UI"
	@echo "make bench  every benchmark beside its floor, one after the other (about half an hour)"

setup: apt venv

apt:
	@installed=" $$(dpkg-query -W -f='$${db:Status-Status}:$${Package} ' $(APT_PACKAGES) 2>/dev/null \
		| tr ' ' '\n' | sed -n 's/^installed://p' | tr '\n' ' ') "; missing=""; reasons=""; \
	$(foreach group,$(APT_GROUPS),group=""; for pkg in $(APT_$(group)); do \
		[[ "$$installed" == *" $$pkg "* ]] || group="$$group $$pkg"; \
	done; if [ -n "$$group" ]; then missing="$$missing$$group"; \
		reasons="$$reasons;$$group: $(WHY_$(group))"; fi;) \
	if ! $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null; then \
		missing="$$missing python3-venv"; reasons="$$reasons; python3-venv: the virtualenv"; fi; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$${reasons#;}"; \
		if [ "$$(id -u)" -ne 0 ]; then echo "Run as root (or with sudo) to install:$$missing" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

$(BIN)/python:
	@echo "Creating the virtualenv $(VENV) with $$(command -v $(PYTHON)) ($$($(PYTHON) -V))"
	@$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	@echo "Installing the project and its Python dependencies (pyproject.toml) into $(VENV) with pip"
	@$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

# Debian's python3-systemd, seen by the virtualenv's Python (3.11 either way: Debian's, or
# another build of the same version) through a directory holding that one package, so that
# nothing else of Debian's Python packages leaks into the tests.
JOURNAL_LINK := $(VENV)/debian-site/systemd

$(JOURNAL_LINK): | $(BIN)/python
	@mkdir -p $(@D) && ln -sfn $(DEBIAN_SITE)/systemd $@
	@echo "$(abspath $(@D))" > "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/debian-python3-systemd.pth"

venv: $(STAMP) $(JOURNAL_LINK)

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

# The accessibility tests inject axe-core (the npm registry's, pinned by
# tests/axe/package-lock.json) into every page of the dashboard in Chromium; npm as above.
AXE_STAMP := tests/axe/node_modules/.installed

$(AXE_STAMP): tests/axe/package-lock.json
	cd tests/axe && npm ci --no-audit --no-fund --loglevel=error
	touch $(AXE_STAMP)

axe-core:
	@command -v npm >/dev/null || $(MAKE) --no-print-directory image-apt IMAGE_PACKAGES="nodejs npm"
	@$(MAKE) --no-print-directory -s $(AXE_STAMP)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

# pytest keeps its rewritten test modules in __pycache__ even where the environment says not to
# write bytecode: rewriting them all again costs some 5 s before the first test.
# The PostgreSQL probe is a TCP connection to the server (no pg_isready needed, and instant);
# when nothing answers, the tests that need it are skipped and this says so in one line.
# The tests run in parallel, one worker a core (pytest-xdist): most of their time is spent
# waiting on brokers, browsers and timeouts: on two cores, two workers run them in 10 min
# instead of some 25.
# PYTEST_WORKERS=0 runs them in this one process. Those marked serial run after, alone (none
# there, as when PYTEST_ARGS names other tests, is fine; none in the parallel run is not).
PYTEST_WORKERS ?= auto

pytest: setup oidc-provider axe-core
	@if [ -z "$${KIOSK_TEST_PG_URL:-}" ]; then \
		if timeout 3 bash -c 'exec 3<>/dev/tcp/$(PG_HOST)/$(PG_PORT)' 2>/dev/null; then \
			export KIOSK_TEST_PG_URL="$(PG_URL)"; \
		else echo "PostgreSQL does not answer on $(PG_HOST):$(PG_PORT): its tests are skipped (install and start Debian's postgresql, or set PG_URL)"; fi; \
	fi; \
	export QT_QPA_PLATFORM=offscreen QTWEBENGINE_CHROMIUM_FLAGS="--no-sandbox --disable-gpu"; \
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -n $(PYTEST_WORKERS) \
		-m "not slow and not serial" $(PYTEST_ARGS); parallel=$$?; \
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python -m pytest -m "serial and not slow" $(PYTEST_ARGS); \
	alone=$$?; if [ $$alone -eq 5 ]; then alone=0; fi; \
	if [ $$parallel -ne 0 ]; then exit $$parallel; fi; exit $$alone

test: lint typecheck pytest

demo: setup
	$(BIN)/python -m fleet.demo $(DEMO_ARGS)

# The demo for two minutes, then a check of what the fleet shows (test-fresh runs it).
demo-check: setup
	$(BIN)/python -m fleet.demo --check $(DEMO_CHECK_S)

DEMO_CHECK_S ?= 120

# Not part of `make test`: a throwaway bare Debian 12 (debootstrap, under /var/tmp), a clone of
# this repository's HEAD in it, and there `make test`, its second start, and `make demo-check`.
test-fresh:
	bash .ci/test-fresh

# docs/screenshots from today's UI: the kiosk offscreen (its own scripts: home, attract,
# languages, contrast, browsing, keyboard), then the dashboard at 1280 and 390 px and the demo's
# kiosk in the browser, written by the browser tests when KIOSK_SCREENSHOT_DIR is set; last,
# every page with a lost terminal (test_accessibility: dashboard-<page>[-phone].png).
SCREENSHOTS := $(CURDIR)/docs/screenshots
QT_ENV := QT_QPA_PLATFORM=offscreen QTWEBENGINE_CHROMIUM_FLAGS="--no-sandbox --disable-gpu"

screenshots: setup axe-core
	$(QT_ENV) $(BIN)/kiosk --windowed --lang fr --screenshot $(SCREENSHOTS)/kiosk-home.png
	$(QT_ENV) $(BIN)/python -m tests.ui.make_a11y_screenshots
	$(QT_ENV) $(BIN)/python -m tests.ui.make_screenshots
	$(QT_ENV) $(BIN)/python -m tests.ui.keyboard_probe --screenshot
	$(QT_ENV) KIOSK_SCREENSHOT_DIR=$(SCREENSHOTS) $(BIN)/python -m pytest -q -p no:cacheprovider \
		tests/fleet/test_dashboard_browser.py tests/test_demo.py tests/fleet/test_accessibility.py
	@ls -l $(SCREENSHOTS)

# Not part of `make test` (tests/test_bench_smoke.py runs each quickly there): every benchmark
# with its default settings, one after the other, each beside its floor measured in the same run;
# each one's JSON and the summary (project, floor, ratio, load average) go to bench/results/.
bench: setup
	$(QT_ENV) $(BIN)/python -m bench.run_all $(BENCH_ARGS)

protocol: setup
	$(BIN)/python -m kiosk.contract.mqtt > docs/protocol.md

# The terminal's OS image (docs/image.md): mkosi 14 from Debian 12, a wheelhouse of the project
# and its dependencies built here (Debian 12, Python 3.11, like the image), then mkosi in images/.
# One recipe, two outputs: `make image` is the bootable GPT disk (needs loop devices and vfat);
# `make image-tree` runs the same recipe (packages, mkosi.prepare, mkosi.postinst, mkosi.extra)
# into a plain directory, for machines that cannot mount vfat (containers, this CI's sandbox).
# --nspawn-keep-unit: mkosi's systemd-nspawn runs in the caller's unit instead of asking the
# host's systemd for a scope over D-Bus (there is none when systemd is not PID 1).
# The wheelhouse builds systemd-python from source (the image's agent logs to journald).
IMAGE_APT := mkosi debootstrap systemd-container dosfstools e2fsprogs \
	gcc python3-dev libsystemd-dev pkg-config
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
