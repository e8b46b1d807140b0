#!/usr/bin/env bash
# Process attribution cost (issue 16): a network namespace created here holds many established
# loopback connections (scripts/many_sockets.py, two sockets each); examples/hostscan.rs times
# the refresh the live host thread does (sock_diag dump with tcp_info, /proc inode scan,
# snapshot) cold and warm, against the default refresh period (--attribution-interval 1 s).
# Root only. Everything created is removed at exit.
#
#   scripts/bench-host.sh
#
# Environment:
#   BENCH_HOST_SOCKETS=100000   sockets to hold (connections = half of it)
#   BENCH_HOST_ROUNDS=5         refreshes timed
#   BENCH_OUT=BENCHMARKS.md     ("-" to only print)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
log() { echo "bench-host: $*" >&2; }
die() {
	echo "bench-host: error: $*" >&2
	exit 1
}
[[ $(id -u) == 0 ]] || die "must run as root (creates a network namespace)"
SOCKETS=${BENCH_HOST_SOCKETS:-100000}
ROUNDS=${BENCH_HOST_ROUNDS:-5}
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
CONNS=$(((SOCKETS + 1) / 2))

log "building hostscan (release)"
cargo build --release --quiet --example hostscan || die "cargo build failed"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
SCAN=$TARGET/release/examples/hostscan

NS=tlbhost$$
HOLDER=""
OUTF=$(mktemp)
cleanup() {
	if [[ -n $HOLDER ]]; then
		kill "$HOLDER" 2>/dev/null || true
		wait "$HOLDER" 2>/dev/null || true
	fi
	rm -f "$OUTF"
	ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"


log "opening $CONNS loopback connections ($SOCKETS sockets) in $NS"
t0=$(date +%s.%N)
ip netns exec "$NS" python3 scripts/many_sockets.py "$CONNS" >"$OUTF" &
HOLDER=$!
for _ in $(seq 1 600); do
	grep -q ready "$OUTF" 2>/dev/null && break
	kill -0 "$HOLDER" 2>/dev/null || die "the socket holder failed"
	sleep 0.5
done
grep -q ready "$OUTF" || die "the socket holder did not get ready"
log "ready after $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}') s: $(cat "$OUTF")"
RES=$("$SCAN" --netns "$NS" --rounds "$ROUNDS")
echo "$RES" >&2

COLD=$(echo "$RES" | sed -n 's/^round 0: .*, \([0-9.]*\) ms$/\1/p')
WARM=$(echo "$RES" | sed -n '2,$s/^round [0-9]*: .*, \([0-9.]*\) ms$/\1/p' | sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : "?")}')
COLD_CPU=$(echo "$RES" | sed -n 's/^round 0: .*, cpu \([0-9.]*\) ms, .*/\1/p')
WARM_CPU=$(echo "$RES" | sed -n '2,$s/^round [0-9]*: .*, cpu \([0-9.]*\) ms, .*/\1/p' | sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : "?")}')
SECTION=$(
	echo "### Attribution refresh with $SOCKETS sockets — $(date -u '+%Y-%m-%d %H:%M UTC'), tcplens $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
	echo
	echo "A network namespace holding $CONNS established loopback connections ($SOCKETS sockets,"
	echo "held by $(awk '{print $3}' "$OUTF") processes of up to 9,000 connections each; \`scripts/many_sockets.py\`)."
	echo "\`examples/hostscan --netns NS --rounds $ROUNDS\`"
	echo "runs the refresh of the live host thread: sock_diag dump of both families with"
	echo "\`tcp_info\`, /proc inode scan, snapshot. Round 0 is cold (every descriptor read); the"
	echo "others are warm (the cache; only new inodes are searched)."
	echo
	echo '```'
	echo "$RES"
	echo '```'
	echo
	echo "**Cold refresh ${COLD} ms, warm refresh ${WARM} ms (median, wall clock; thread CPU ${COLD_CPU} ms cold, ${WARM_CPU} ms warm)**"
	echo "against the 1000 ms refresh period. *cpu* is the refreshing thread's own CPU time (user + system),"
	echo "the cost without the rest of the machine's load; *dump* is the sock_diag part of the wall time."
	echo
	echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), Linux $(uname -r)."
)
if [[ $OUT == - ]]; then
	echo "$SECTION"
else
	python3 - "$OUT" "$SECTION" <<'PY'
import sys
path, section = sys.argv[1], sys.argv[2]
begin, end = "<!-- bench:host:begin -->", "<!-- bench:host:end -->"
text = open(path).read()
block = begin + "\n" + section + "\n" + end
if begin in text and end in text:
    text = text[: text.index(begin)] + block + text[text.index(end) + len(end):]
else:
    text = text.rstrip("\n") + "\n\n## Process attribution\n\n" + block + "\n"
open(path, "w").write(text)
PY
	log "written to $OUT"
fi
