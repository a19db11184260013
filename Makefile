# The two commands: `make demo` and `make test`. Both install what is missing first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
APT_PACKAGES := python3-venv python3-dev build-essential pkg-config libgirepository1.0-dev libcairo2-dev \
	ffmpeg gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
	gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-rtsp \
	gir1.2-gst-rtsp-server-1.0 espeak-ng chromium fonts-wqy-microhei
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | md5sum | cut -c1-12)

.PHONY: demo test lint typecheck pytest deps apt-deps clean bench lock audit

demo: deps
	$(BIN)/shopwatch demo --config config/demo.yaml

test: deps lint typecheck pytest

lint: deps
	$(BIN)/ruff check shopwatch tests benchmarks

typecheck: deps
	$(BIN)/mypy

pytest: deps
	$(BIN)/pytest -q $(PYTEST_ARGS)

bench: deps
	$(BIN)/python benchmarks/ingest_cost.py --cameras 100 --seconds 20

deps: apt-deps $(STAMP)

apt-deps:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages: $$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi

$(STAMP): pyproject.toml requirements.lock
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c requirements.lock -e '.[sim,dev]'
	@rm -f $(VENV)/.installed-* && touch $@

# The resolved set, after a deliberate upgrade (pip install -U ...; make test): commit requirements.lock.
lock: deps
	@{ head -n 2 requirements.lock; $(BIN)/pip freeze --exclude-editable | grep -v '^#'; } > requirements.lock.new
	mv requirements.lock.new requirements.lock

# Known vulnerabilities of the locked set; needs the network (OSV / PyPI advisory database): the station's build
# machine runs it, not the offline test machines (docs/SECURITY.md).
audit:
	pipx run pip-audit --strict -r requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
