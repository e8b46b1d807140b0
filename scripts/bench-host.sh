#!/usr/bin/env bash
# Process attribution cost (issue 16): a network namespace created here holds many established
# loopback connections (scripts/many_sockets.py, two sockets each); examples/hostscan.rs times
# the refresh the live host thread does (sock_diag dump with tcp_info, /proc inode scan,
# snapshot) cold and warm, against the default refresh period (--attribution-interval 1 s),
# then the cold refresh again with the /proc walk on one thread (how the walk scales).
# Root only. Everything created is removed at exit.
#
#   scripts/bench-host.sh
#
# Environment:
#   BENCH_HOST_SOCKETS=100000   sockets to hold (connections = half of it)
#   BENCH_HOST_ROUNDS=5         refreshes timed
#   BENCH_HOST_NS=tlbhost       prefix of the namespace's name (the pid is appended)
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

NS=${BENCH_HOST_NS:-tlbhost}$$
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
THREADS=$(nproc)
((THREADS > 4)) && THREADS=4
# The first cold refresh also pays for the kernel's /proc entries of 100,000 descriptors
# (built once, then cached): the walk's scaling is compared on two later cold refreshes.
ONE=$("$SCAN" --netns "$NS" --rounds 1 --threads 1)
echo "$ONE (again, one thread)" >&2
MANY=$("$SCAN" --netns "$NS" --rounds 1 --threads "$THREADS")
echo "$MANY (again, $THREADS threads)" >&2

COLD=$(echo "$RES" | sed -n 's/^round 0: .*, \([0-9.]*\) ms$/\1/p')
WARM=$(echo "$RES" | sed -n '2,$s/^round [0-9]*: .*, \([0-9.]*\) ms$/\1/p' | sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : "?")}')
COLD_CPU=$(echo "$RES" | sed -n 's/^round 0: .*, cpu \([0-9.]*\) ms, .*/\1/p')
WARM_CPU=$(echo "$RES" | sed -n '2,$s/^round [0-9]*: .*, cpu \([0-9.]*\) ms, .*/\1/p' | sort -n | awk '{a[NR]=$1} END {print (NR ? a[int((NR+1)/2)] : "?")}')
ONE_WALL=$(echo "$ONE" | sed -n 's/^round 0: .*, \([0-9.]*\) ms$/\1/p')
ONE_CPU=$(echo "$ONE" | sed -n 's/^round 0: .*, cpu \([0-9.]*\) ms, .*/\1/p')
MANY_WALL=$(echo "$MANY" | sed -n 's/^round 0: .*, \([0-9.]*\) ms$/\1/p')
MANY_CPU=$(echo "$MANY" | sed -n 's/^round 0: .*, cpu \([0-9.]*\) ms, .*/\1/p')
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
SECTION=$(
	echo "### Attribution refresh with $SOCKETS sockets — $(date -u '+%Y-%m-%d %H:%M UTC'), tcplens $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
	echo
	echo "A network namespace holding $CONNS established loopback connections ($SOCKETS sockets,"
	echo "held by $(awk '{print $3}' "$OUTF") processes of up to 9,000 connections each; \`scripts/many_sockets.py\`)."
	echo "\`examples/hostscan --netns NS --rounds $ROUNDS\`"
	echo "runs the refresh of the live host thread: one sock_diag dump of both families with"
	echo "\`tcp_info\`, /proc inode scan ($THREADS threads), snapshot. Round 0 is cold (every descriptor"
	echo "read); the others are warm (the cache; only new inodes are searched). Then two more cold"
	echo "refreshes (new processes), the /proc walk on one thread (\`--threads 1\`) and on $THREADS:"
	echo
	echo '```'
	echo "$RES"
	echo "$ONE (again, one thread)"
	echo "$MANY (again, $THREADS threads)"
	echo '```'
	echo
	echo "**Cold refresh ${COLD} ms, warm refresh ${WARM} ms (median, wall clock; CPU ${COLD_CPU} ms cold, ${WARM_CPU} ms warm)**"
	echo "against the 1000 ms refresh period. Cold again: ${ONE_WALL} ms with a one-thread walk (CPU ${ONE_CPU} ms),"
	echo "${MANY_WALL} ms with $THREADS threads (CPU ${MANY_CPU} ms)."
	echo "*cpu* is the process's CPU time (user + system, the walk's threads included), the cost"
	echo "without the rest of the machine's load; *runq* is the time the refreshing thread was runnable"
	echo "but waited for a core, the machine's load (a warm refresh runs on one thread: wall ≈ cpu + runq);"
	echo "*dump* is the sock_diag part of the wall time, *recvs* its recv(2) calls."
	echo
	echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'), Linux $(uname -r); load average at the end: $LOAD."
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
