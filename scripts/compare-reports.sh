#!/usr/bin/env bash
# Byte-for-byte comparison of two tcplens binaries' reports: every report kind (text, json,
# zeek, events) over every capture in fixtures/, plus the benchmark capture when asked for.
#
#   scripts/compare-reports.sh OLD_BINARY NEW_BINARY [EXTRA.pcap ...]
#   COMPARE_BENCH=1 scripts/compare-reports.sh OLD NEW   # also the benchmark capture
#   COMPARE_SHAPES=1 scripts/compare-reports.sh OLD NEW  # also the payload and short shapes
#
# COMPARE_BENCH=1 uses target/bench/cap-2200000p-100000c-s1.pcap (the capture `make bench`
# times), generating it with examples/gencap when it is missing; COMPARE_SHAPES=1 the full-size
# payload-heavy and short-connection captures of the same script (gencap --shape). The reports are also compared
# with --threads 1 and --zeek-bare / --verify-checksums on the fixtures, so the options that
# change the analysis are covered too. Exit status 0 when everything is identical, 1 otherwise
# (the first differing lines of each difference are printed). The zeek report's #open and
# #close lines hold the time of the run and are left out of the comparison.
set -u -o pipefail

die() { echo "compare-reports: $*" >&2; exit 2; }
[[ $# -ge 2 ]] || die "usage: $0 OLD_BINARY NEW_BINARY [EXTRA.pcap ...]"
OLD=$1 NEW=$2
shift 2
[[ -x $OLD ]] || die "$OLD is not an executable"
[[ -x $NEW ]] || die "$NEW is not an executable"
ROOT=$(cd "$(dirname "$0")/.." && pwd)

captures=("$ROOT"/fixtures/*.pcap "$@")
if [[ ${COMPARE_BENCH:-0} == 1 ]]; then
	bench=$ROOT/target/bench/cap-2200000p-100000c-s1.pcap
	if [[ ! -s $bench ]]; then
		mkdir -p "$ROOT/target/bench"
		echo "generating $bench"
		(cd "$ROOT" && cargo run --release --quiet --example gencap -- \
			--packets 2200000 --connections 100000 --seed 1 --out "$bench.tmp") &&
			mv "$bench.tmp" "$bench" || die "gencap failed"
	fi
	captures+=("$bench")
fi
if [[ ${COMPARE_SHAPES:-0} == 1 ]]; then
	for spec in payload:5000000:300000 short:2200000:1000000; do
		IFS=: read -r shape p c <<<"$spec"
		f=$ROOT/target/bench/$shape-${p}p-${c}c-s1.pcap
		if [[ ! -s $f ]]; then
			mkdir -p "$ROOT/target/bench"
			echo "generating $f"
			(cd "$ROOT" && cargo run --release --quiet --example gencap -- \
				--shape "$shape" --packets "$p" --connections "$c" --seed 1 --out "$f.tmp") &&
				mv "$f.tmp" "$f" || die "gencap failed"
		fi
		captures+=("$f")
	done
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
runs=0 diffs=0
compare() { # capture label args...
	local cap=$1 label=$2
	shift 2
	local a=$work/old b=$work/new
	"$OLD" -r "$cap" "$@" >"$a" 2>"$a.err"
	local ra=$?
	"$NEW" -r "$cap" "$@" >"$b" 2>"$b.err"
	local rb=$?
	runs=$((runs + 1))
	# The zeek report's #open/#close lines carry the wall clock (as Zeek's do).
	sed -i -E '/^#(open|close)\t/d' "$a" "$b"
	if [[ $ra != "$rb" ]] || ! cmp -s "$a" "$b" || ! cmp -s "$a.err" "$b.err"; then
		diffs=$((diffs + 1))
		echo "DIFFERS: $(basename "$cap") $label (exit $ra vs $rb)"
		diff "$a" "$b" | head -n 10
		diff "$a.err" "$b.err" | head -n 5
	fi
}

for cap in "${captures[@]}"; do
	[[ -e $cap ]] || continue
	for kind in text json zeek events; do
		compare "$cap" "$kind" --report "$kind"
	done
	case $cap in
	"$ROOT"/fixtures/*)
		compare "$cap" "zeek --zeek-bare" --report zeek --zeek-bare
		compare "$cap" "zeek --verify-checksums" --report zeek --verify-checksums
		compare "$cap" "json --threads 1" --report json --threads 1
		;;
	esac
done
echo "compare-reports: $runs runs, $diffs differing"
[[ $diffs == 0 ]]
