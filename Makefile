# Development commands; scripts/*.sh call these targets. `make help` lists them.
ROOT := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
VENV := $(ROOT)/.venv
PY := $(VENV)/bin/python
PYTHON ?= python3
export VIRTUAL_ENV := $(VENV)

.DEFAULT_GOAL := help

.PHONY: help
help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(VENV)/.installed: requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@touch $@

.PHONY: install
install: $(VENV)/.installed  ## create .venv with Locust, maturin and pytest

.PHONY: build-dev
build-dev: install  ## debug build of the native module into .venv (for tests)
	rm -f python/pushpop_load/*.so
	$(VENV)/bin/maturin develop --quiet

.PHONY: build-prod
build-prod: install  ## release build of the native module into .venv (for load tests and benchmarks)
	rm -f python/pushpop_load/*.so
	$(VENV)/bin/maturin develop --quiet --release

.PHONY: wheel
wheel: install  ## abi3 wheel in target/wheels
	$(VENV)/bin/maturin build --release

.PHONY: format
format:  ## rustfmt
	cargo fmt

.PHONY: lint-rust
lint-rust:  ## rustfmt check and clippy
	cargo fmt --check
	cargo clippy --all-targets --all-features -- -D warnings

.PHONY: lint-python
lint-python: build-dev  ## the stub against the built module (mypy.stubtest; exceptions in .mypy-stubtest-allowlist)
	cd / && $(PY) -m mypy.stubtest pushpop_load._native --allowlist $(ROOT)/.mypy-stubtest-allowlist

.PHONY: lint
lint: lint-rust lint-python  ## every check of the sources

.PHONY: test-rust
test-rust:  ## cargo test (no interpreter needed)
	cargo test

.PHONY: test-python
test-python: build-dev  ## pytest against real processes
	$(PY) -m pytest

.PHONY: test
test: lint-rust test-rust lint-python test-python  ## everything: lint, cargo test, pytest

.PHONY: fuzz
fuzz: install  ## the property tests for FUZZ_SECONDS (600), optimised, fresh seeds; results in bench/results/fuzz-*
	$(PY) bench/fuzz/run.py

.PHONY: bench
bench: build-prod  ## the benchmarks: the reference target (wrk), the native client against Locust's clients
	$(PY) bench/target/run.py
	$(PY) bench/client/run.py
	$(PY) bench/prepopulate/run.py
	$(PY) bench/monitor/run.py

.PHONY: screenshot
screenshot: install  ## docs/report-first-screen.png: the HTML report's first screen, from a 15 s quickstart run
	-RUN_TIME=15s USERS=20 SPAWN_RATE=20 RESULTS=results/screenshot scripts/quickstart.sh
	$(PY) scripts/report_screenshot.py results/screenshot_report.html docs/report-first-screen.png
