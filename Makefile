# tcplens — build, demo and test on a fresh Debian machine (as root, or with sudo).
SHELL := /bin/bash
CARGO ?= cargo
DEMO_CAPTURE ?= fixtures/keepalive-timeout.pcap
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all build demo test lint deps test-deps bench fuzz fixtures clean

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
# (live-capture and terminal tests).
test-deps: deps
	@missing=""; \
	for p in tcpdump:tcpdump ip:iproute2 tmux:tmux python3:python3 sysctl:procps setpriv:util-linux tshark:tshark; do \
		command -v $${p%%:*} >/dev/null || missing="$$missing $${p#*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

build: deps
	$(CARGO) build --release

# Opens the TUI on the cable-pull capture, or prints the text report without a terminal.
demo: build
	@if [ -t 1 ]; then ./target/release/tcplens -r $(DEMO_CAPTURE); \
	else ./target/release/tcplens -r $(DEMO_CAPTURE) --report text; fi

test: test-deps
	$(CARGO) test --release --no-fail-fast

lint: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --release -- -D warnings

# Re-record the kernel fixtures (root: creates network namespaces).
fixtures:
	$(SUDO) scripts/record-fixtures.sh
	$(SUDO) scripts/record-fragments.sh
	/usr/bin/python3 scripts/gen-encap-fixtures.py

clean:
	$(CARGO) clean

# Benchmarks of issue 6 (not part of `make test`): generates captures into target/bench/, installs
# tcptrace/tshark/time if missing, times tcplens against the floor read loop, tcptrace and tshark,
# and writes BENCHMARKS.md. `make bench BENCH_QUICK=1` for a small fast run; see scripts/bench.sh.
bench: deps
	scripts/bench.sh

# Fuzz each target (decode, engine, capture_file) for FUZZ_SECONDS (default 120) with
# cargo-fuzz; not part of `make test`. See scripts/fuzz.sh.
FUZZ_SECONDS ?= 120
fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh
