# tcplens — build, demo and test on a fresh Debian machine (as root, or with sudo).
SHELL := /bin/bash
CARGO ?= cargo
DEMO_CAPTURE ?= fixtures/keepalive-timeout.pcap
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all build demo test lint deps test-deps bench fuzz fixtures clean install uninstall

all: build

# libpcap headers and pkg-config for the pcap crate; installed only when missing.
deps:
	@if ! [ -e /usr/include/pcap/pcap.h ] || ! command -v pkg-config >/dev/null; then \
		echo "installing libpcap-dev and pkg-config"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq libpcap-dev pkg-config >/dev/null; \
	fi
	@command -v $(CARGO) >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs)"; exit 2; }

# What the tests need beyond the build: tcpdump (reads -w files back), iproute2 and tmux
# (live-capture and terminal tests), prometheus (scrapes --metrics; the tests run their own
# server on loopback, so the packaged service is kept from starting), man-db/groff (renders the
# installed man page), python3-venv and, in target/pyenv, pyarrow and duckdb from PyPI (read
# the --parquet files back; Debian has no pyarrow package).
PYENV := target/pyenv
# Where cargo puts the release build (CARGO_TARGET_DIR moves it).
BUILT := $(or $(CARGO_TARGET_DIR),target)/release
SYSTEM_PYTHON := $(shell [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)
test-deps: deps
	@missing=""; \
	for p in tcpdump:tcpdump ip:iproute2 tmux:tmux python3:python3 sysctl:procps setpriv:util-linux \
		tshark:tshark prometheus:prometheus man:man-db nroff:groff-base; do \
		command -v $${p%%:*} >/dev/null || missing="$$missing $${p#*:}"; \
	done; \
	$(SYSTEM_PYTHON) -c 'import ensurepip, venv' 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		policy=""; \
		if [ ! -e /usr/sbin/policy-rc.d ]; then \
			printf '#!/bin/sh\nexit 101\n' | $(SUDO) tee /usr/sbin/policy-rc.d >/dev/null && \
			$(SUDO) chmod 755 /usr/sbin/policy-rc.d && policy=1; \
		fi; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq \
			--no-install-recommends $$missing >/dev/null; \
		status=$$?; \
		if [ -n "$$policy" ]; then $(SUDO) rm -f /usr/sbin/policy-rc.d; fi; \
		[ $$status = 0 ] || exit $$status; \
	fi
	@if ! $(PYENV)/bin/python -c 'import pyarrow, duckdb' 2>/dev/null; then \
		echo "installing pyarrow and duckdb into $(PYENV)"; \
		$(SYSTEM_PYTHON) -m venv $(PYENV) && $(PYENV)/bin/pip install -q pyarrow duckdb; \
	fi

build: deps
	$(CARGO) build --release

# Opens the TUI on the cable-pull capture, or prints the text report without a terminal.
demo: build
	@if [ -t 1 ]; then $(BUILT)/tcplens -r $(DEMO_CAPTURE); \
	else $(BUILT)/tcplens -r $(DEMO_CAPTURE) --report text; fi

test: test-deps
	$(CARGO) test --profile ci --no-fail-fast

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --release -- -D warnings

# Install the binary, its man page (generated from the clap definition by
# examples/cli_docs.rs) and bash, zsh and fish completions under $(DESTDIR)$(PREFIX).
# `make install BUILD=0 TARGET=target/debug` installs what is already built there.
PREFIX ?= /usr/local
DESTDIR ?=
BUILD ?= 1
TARGET ?= $(BUILT)
install:
	@if [ "$(BUILD)" = 1 ]; then \
		$(MAKE) --no-print-directory deps && $(CARGO) build --release --bin tcplens --example cli_docs; \
	fi
	$(TARGET)/examples/cli_docs $(TARGET)/cli-docs
	install -D -m 755 $(TARGET)/tcplens $(DESTDIR)$(PREFIX)/bin/tcplens
	install -D -m 644 $(TARGET)/cli-docs/tcplens.1 $(DESTDIR)$(PREFIX)/share/man/man1/tcplens.1
	install -D -m 644 $(TARGET)/cli-docs/tcplens.bash \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/tcplens
	install -D -m 644 $(TARGET)/cli-docs/_tcplens $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_tcplens
	install -D -m 644 $(TARGET)/cli-docs/tcplens.fish \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/tcplens.fish

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/tcplens $(DESTDIR)$(PREFIX)/share/man/man1/tcplens.1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/tcplens \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions/_tcplens \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/tcplens.fish

# Re-record the kernel fixtures (root: creates network namespaces).
fixtures:
	$(SUDO) scripts/record-fixtures.sh
	$(SUDO) scripts/record-cable-fixtures.sh
	$(SUDO) scripts/record-fragments.sh
	/usr/bin/python3 scripts/gen-encap-fixtures.py

clean:
	$(CARGO) clean

# Benchmarks of issues 6 and 17 (not part of `make test`): generates captures of three shapes into
# target/bench/, installs tcptrace/tshark/time if missing, times every report kind against the
# floor read loop, tcptrace and tshark, and writes BENCHMARKS.md. `make bench BENCH_QUICK=1` for a small fast run; see scripts/bench.sh.
bench: deps
	scripts/bench.sh

# Fuzz each target (decode, engine, capture_file) for FUZZ_SECONDS (default 120) with
# cargo-fuzz; not part of `make test`. See scripts/fuzz.sh.
FUZZ_SECONDS ?= 120
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh
