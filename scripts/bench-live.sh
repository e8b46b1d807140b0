#!/usr/bin/env bash
# Live capture rate (issue 6, item 5): replay a generated capture onto one end of a veth pair
# between two network namespaces created here, while `tcplens -i <other end> --report zeek`
# captures with analysis on; raise the rate step by step and report the highest rate at which
# every packet arrived with zero kernel drops and zero analysis-queue drops.
# The sender is examples/blast.rs (AF_PACKET, sendmmsg batches, qdisc bypass) or tcpreplay.
# Root only (namespaces). Everything created is removed at exit.
#
#   scripts/bench-live.sh
#
# Environment:
#   BENCH_LIVE_RATES="50000 100000 ..."  packets/s to try, ascending (then as fast as possible)
#   BENCH_LIVE_SENDER=blast               or "tcpreplay" (tcpreplay -K --pps R / --topspeed)
#   BENCH_LIVE_PACKETS=1000000 BENCH_LIVE_CONNECTIONS=50000  the replayed capture
#   BENCH_LIVE_BUFFER_KIB=                tcplens -B (kernel buffer); libpcap's default if empty
#   BENCH_LIVE_REPORT=zeek                tcplens --report kind
#   BENCH_LIVE_ATTRIBUTION=on             tcplens's process attribution (sock_diag, /proc; on by
#                                         default live); "off" passes --no-attribution
#   BENCH_LIVE_HOST_SOCKETS=0             established loopback sockets held in the capturing
#                                         namespace meanwhile (scripts/many_sockets.py), so the
#                                         attribution refreshes have a host's worth of work
#   BENCH_LIVE_TOOL=tcplens               or "tcpdump" / "tcpdump-immediate": the same steps with
#                                         `tcpdump -w /dev/null` capturing, as a reference for
#                                         what this machine and veth pair allow
#   BENCH_LIVE_METRICS=1                  tcplens also serves --metrics 127.0.0.1:9911 in its
#                                         namespace, scraped once a second during each step
#   BENCH_LIVE_THREADS=                   tcplens --threads N (analysis shards); one per core if
#                                         empty (docs/architecture.md#live-on-shards)
#   BENCH_LIVE_TUI=0                      1: tcplens runs with its terminal UI open (no --report)
#                                         in a tmux session on the capturing side, redrawing
#                                         while the replay runs; quit with SIGINT as the others
#   BENCH_DIR=target/bench  BENCH_OUT=BENCHMARKS.md ("-" to only print)  BENCH_NO_INSTALL=1
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
log() { echo "bench-live: $*" >&2; }
die() {
	echo "bench-live: error: $*" >&2
	exit 1
}

[[ $(id -u) == 0 ]] || die "must run as root (creates network namespaces and a veth pair)"
RATES=${BENCH_LIVE_RATES:-"50000 100000 200000 300000 400000 500000 600000 800000 1000000"}
PKTS=${BENCH_LIVE_PACKETS:-1000000}
CONNS=${BENCH_LIVE_CONNECTIONS:-50000}
BUF=${BENCH_LIVE_BUFFER_KIB:-}
KIND=${BENCH_LIVE_REPORT:-zeek}
TOOL=${BENCH_LIVE_TOOL:-tcplens}
SENDER=${BENCH_LIVE_SENDER:-blast}
ATTR=${BENCH_LIVE_ATTRIBUTION:-on}
HOST_SOCKETS=${BENCH_LIVE_HOST_SOCKETS:-0}
case $ATTR in on | off) ;; *) die "BENCH_LIVE_ATTRIBUTION must be on or off" ;; esac
METRICS=${BENCH_LIVE_METRICS:-0}
THREADS=${BENCH_LIVE_THREADS:-}
[[ -z $THREADS || $THREADS =~ ^[1-9][0-9]*$ ]] || die "BENCH_LIVE_THREADS must be a positive number"
TUI=${BENCH_LIVE_TUI:-0}
[[ $TUI == 1 && $TOOL != tcplens ]] && die "BENCH_LIVE_TUI needs BENCH_LIVE_TOOL=tcplens"
[[ $METRICS == 1 && ${BENCH_LIVE_TOOL:-tcplens} != tcplens ]] && die "BENCH_LIVE_METRICS needs BENCH_LIVE_TOOL=tcplens"
case $SENDER in blast | tcpreplay) ;; *) die "BENCH_LIVE_SENDER must be blast or tcpreplay" ;; esac
case $TOOL in tcplens | tcpdump | tcpdump-immediate) ;; *) die "BENCH_LIVE_TOOL must be tcplens, tcpdump or tcpdump-immediate" ;; esac
DIR=${BENCH_DIR:-$ROOT/target/bench}
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
mkdir -p "$DIR"

NEEDED=(ip:iproute2)
[[ $SENDER == tcpreplay ]] && NEEDED+=(tcpreplay:tcpreplay)
[[ $TOOL == tcpdump* ]] && NEEDED+=(tcpdump:tcpdump)
[[ $TUI == 1 ]] && NEEDED+=(tmux:tmux)
for t in "${NEEDED[@]}"; do
	if ! command -v "${t%%:*}" >/dev/null; then
		[[ ${BENCH_NO_INSTALL:-0} == 1 ]] && die "${t%%:*} is missing (package ${t#*:})"
		log "installing ${t#*:} with apt-get"
		apt-get update -qq >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${t#*:}" >/dev/null
	fi
done

log "building tcplens, gencap and blast (release)"
cargo build --release --quiet --bin tcplens --example gencap --example blast || die "cargo build failed"
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
TCPLENS=$TARGET/release/tcplens
GENCAP=$TARGET/release/examples/gencap
BLAST=$TARGET/release/examples/blast
CAP=$DIR/live-${PKTS}p-${CONNS}c-s1.pcap
if ! [[ -s $CAP && $CAP -nt $GENCAP ]]; then
	log "generating $CAP"
	"$GENCAP" --packets "$PKTS" --connections "$CONNS" --seed 1 --out "$CAP.tmp"
	mv "$CAP.tmp" "$CAP"
fi

# Namespaces and veth pair, named after this shell's pid so that runs never collide.
TX=tlbtx$$ RX=tlbrx$$
VTX=vtx$$ VRX=vrx$$
TCPLENS_PID=""
HOLDER_PID=""
# The terminal UI's tmux server (its own socket: other sessions are never touched).
TMUX_SOCK=tlbench$$
cleanup() {
	# The server may be gone already: a failure here must not end the cleanup (set -e)
	# before the namespaces are deleted.
	if [[ $TUI == 1 ]]; then tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true; fi
	if [[ -n $TCPLENS_PID ]] && kill -0 "$TCPLENS_PID" 2>/dev/null; then
		kill -INT "$TCPLENS_PID" 2>/dev/null || true
		wait "$TCPLENS_PID" 2>/dev/null || true
	fi
	if [[ -n $HOLDER_PID ]]; then
		kill "$HOLDER_PID" 2>/dev/null || true
		wait "$HOLDER_PID" 2>/dev/null || true
	fi
	ip netns del "$TX" 2>/dev/null || true
	ip netns del "$RX" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$TX"
ip netns add "$RX"
ip link add "$VTX" netns "$TX" type veth peer name "$VRX" netns "$RX"
for ns in "$TX:$VTX:10.250.0.1/30" "$RX:$VRX:10.250.0.2/30"; do
	IFS=: read -r n dev addr <<<"$ns"
	# Frames up to 1448 B of payload + IPv6/TCP headers + a VLAN tag exceed the default MTU of
	# 1500 (tcpreplay cannot send them); keep the MTU close to that, since libpcap sizes its
	# ring slots by the MTU in immediate mode.
	ip -n "$n" link set "$dev" mtu 1600 up
	ip -n "$n" link set lo up
	ip -n "$n" addr add "$addr" dev "$dev"
	# Offloads off: frames travel as replayed.
	ip netns exec "$n" ethtool -K "$dev" gro off gso off tso off >/dev/null 2>&1 || true
done

if [[ $HOST_SOCKETS -gt 0 ]]; then

	ip netns exec "$RX" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
	log "holding $HOST_SOCKETS loopback sockets in the capturing namespace"
	ip netns exec "$RX" python3 scripts/many_sockets.py $(((HOST_SOCKETS + 1) / 2)) >"$DIR/holder.txt" &
	HOLDER_PID=$!
	for _ in $(seq 1 600); do
		grep -q ready "$DIR/holder.txt" 2>/dev/null && break
		sleep 0.5
	done
	grep -q ready "$DIR/holder.txt" || die "the socket holder did not get ready"
fi

ROWS=()
BEST=""
BEST_PPS=0
SENDER_INFO=""
# One step: replay at RATE (packets/s, or "topspeed") while tcplens captures.
step() {
	local rate=$1
	local send
	if [[ $SENDER == blast ]]; then
		send=("$BLAST" --iface "$VTX" --pps "$rate" "$CAP")
		[[ $rate == topspeed ]] && send=("$BLAST" --iface "$VTX" --pps 0 "$CAP")
	else
		send=(tcpreplay -K -i "$VTX" --pps="$rate" "$CAP")
		[[ $rate == topspeed ]] && send=(tcpreplay -K -i "$VTX" --topspeed "$CAP")
	fi
	local cmd
	case $TOOL in
	tcplens)
		cmd=("$TCPLENS" -i "$VRX")
		[[ $TUI == 1 ]] || cmd+=(--report "$KIND")
		[[ -n $THREADS ]] && cmd+=(--threads "$THREADS")
		[[ $ATTR == off ]] && cmd+=(--no-attribution)
		[[ $METRICS == 1 ]] && cmd+=(--metrics 127.0.0.1:9911)
		;;
	tcpdump) cmd=(tcpdump -n -i "$VRX" -w /dev/null) ;;
	tcpdump-immediate) cmd=(tcpdump -n --immediate-mode -i "$VRX" -w /dev/null) ;;
	esac
	[[ -n $BUF ]] && cmd+=(-B "$BUF")
	if [[ $TUI == 1 ]]; then
		# The UI draws on the tmux pane; its closing counters go to standard error (a file).
		# `exec` twice: the pane's process becomes tcplens itself, to be signalled as below.
		: >"$DIR/live-err.txt"
		tmux -L "$TMUX_SOCK" new-session -d -x 200 -y 50 \
			"exec ip netns exec $RX $(printf '%q ' "${cmd[@]}") 2>$(printf '%q' "$DIR/live-err.txt")"
		sleep 0.5
		TCPLENS_PID=$(tmux -L "$TMUX_SOCK" display-message -p '#{pane_pid}')
	else
		ip netns exec "$RX" "${cmd[@]}" >"$DIR/live-out.txt" 2>"$DIR/live-err.txt" &
		TCPLENS_PID=$!
	fi
	sleep 1.5
	kill -0 "$TCPLENS_PID" 2>/dev/null || die "tcplens did not start: $(cat "$DIR/live-err.txt")"
	local scraper=""
	if [[ $METRICS == 1 ]]; then
		# A Prometheus-like scraper: GET /metrics once a second while the replay runs.
		ip netns exec "$RX" python3 -c '
import time, urllib.request
n = 0
while True:
    body = urllib.request.urlopen("http://127.0.0.1:9911/metrics", timeout=5).read()
    n += 1
    open("'"$DIR"'/live-scrapes.txt", "w").write("%d %d\n" % (n, len(body)))
    time.sleep(1)
' 2>"$DIR/live-scraper-err.txt" &
		scraper=$!
	fi
	local rep
	rep=$(ip netns exec "$TX" "${send[@]}" 2>&1) ||
		die "$SENDER failed: $(echo "$rep" | tail -3)"
	if [[ -n $scraper ]]; then
		kill "$scraper" 2>/dev/null || true
		wait "$scraper" 2>/dev/null || true
		log "metrics: $(cut -d' ' -f1 "$DIR/live-scrapes.txt" 2>/dev/null || echo 0) scrapes during the replay"
	fi
	sleep 1.5 # let the analysis drain its queue
	if [[ $TUI == 1 ]]; then
		# A screen of the UI as the replay ended, for the record.
		tmux -L "$TMUX_SOCK" capture-pane -p >"$DIR/live-tui-screen.txt" 2>/dev/null || true
		kill -INT "$TCPLENS_PID"
		for _ in $(seq 1 200); do
			kill -0 "$TCPLENS_PID" 2>/dev/null || break
			sleep 0.1
		done
		tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
	else
		kill -INT "$TCPLENS_PID"
		wait "$TCPLENS_PID" || true
	fi
	TCPLENS_PID=""
	local line sent rated retried captured kd ifd qd
	if [[ $TOOL == tcplens ]]; then
		line=$(grep -E 'packets captured' "$DIR/live-err.txt" | tail -1)
	else
		# tcpdump: "N packets captured", "N packets received by filter", "N packets dropped by kernel"
		line="tcpdump: $(sed -n 's/^\([0-9]*\) packets captured.*/\1/p' "$DIR/live-err.txt") packets captured, $(sed -n 's/^\([0-9]*\) packets dropped by kernel.*/\1/p' "$DIR/live-err.txt") dropped by kernel, $(sed -n 's/^\([0-9]*\) packets dropped by interface.*/\1/p' "$DIR/live-err.txt" | grep . || echo 0) dropped by interface, 0 dropped by tcplens"
	fi
	[[ $line =~ ^[^0-9]*[0-9]+\ packets\ captured ]] || die "no capture summary from $TOOL: $(cat "$DIR/live-err.txt")"
	sent=$(echo "$rep" | sed -n 's/.*Actual: \([0-9]*\) packets.*/\1/p' | head -1)
	rated=$(echo "$rep" | sed -n 's/.*Rated: [0-9.]* Bps, [0-9.]* Mbps, \([0-9.]*\) pps.*/\1/p' | head -1)
	# Frames the kernel refused (ENOBUFS/EAGAIN) and the sender sent again.
	if [[ $SENDER == blast ]]; then
		retried=$(echo "$rep" | sed -n 's/^blast: sent .* retries \([0-9]*\),.*/\1/p' | head -1)
		SENDER_INFO=$(echo "$rep" | sed -n 's/^blast: sent .*(target [^,]*, \(batch [0-9]*, qdisc bypass [a-z]*\).*/\1/p' | head -1)
	else
		retried=$(echo "$rep" | sed -n 's/.*Retried packets (E[A-Z]*): *\([0-9]*\).*/\1/p' | awk '{s += $1} END {print s + 0}')
	fi
	read -r captured kd ifd qd < <(echo "$line" | sed -E 's/.* ([0-9]+) packets captured, ([0-9]+) dropped by kernel, ([0-9]+) dropped by interface, ([0-9]+) dropped by tcplens.*/\1 \2 \3 \4/')
	local ok=no
	# The whole capture must have been sent (a sender may skip frames it cannot send).
	if [[ $kd == 0 && $qd == 0 && $ifd == 0 && ${sent:-0} -ge $PKTS && $captured -ge $sent ]]; then ok=yes; fi
	log "rate $rate: $SENDER sent $sent at ${rated} pps (${retried:-?} retried), captured $captured, kernel drops $kd, interface drops $ifd, queue drops $qd -> $ok"
	ROWS+=("| $rate | ${sent:-?} | ${rated:-?} | ${retried:-?} | $captured | $kd | $ifd | $qd | $ok |")
	if [[ $ok == yes ]]; then
		local r=${rated%.*}
		if ((r > BEST_PPS)); then
			BEST_PPS=$r
			BEST=$rate
		fi
		return 0
	fi
	return 1
}

FAILS=0
for rate in $RATES topspeed; do
	if step "$rate"; then FAILS=0; else FAILS=$((FAILS + 1)); fi
	# Two failed steps in a row: higher rates will not do better.
	((FAILS >= 2)) && break
done

# The section (and report file) name: the default sender adds nothing, so that the sections
# of earlier runs keep their names.
NAME=live-$TOOL${BUF:+-B$BUF}
[[ $TOOL == tcplens && $ATTR == off ]] && NAME+=-noattr
[[ $TOOL == tcplens && $HOST_SOCKETS -gt 0 ]] && NAME+=-host$HOST_SOCKETS
[[ $METRICS == 1 ]] && NAME+=-metrics
[[ -n $THREADS ]] && NAME+=-t$THREADS
[[ $TUI == 1 ]] && NAME+=-tui
[[ $SENDER == blast ]] || NAME+=-$SENDER
REPORT=$DIR/report-$NAME.md
case $TOOL in
tcplens) cmd_text="tcplens -i <veth peer>$([[ $TUI == 1 ]] && echo ' (terminal UI in tmux, 200x50)' || echo " --report $KIND")${THREADS:+ --threads $THREADS}${BUF:+ -B $BUF}$([[ $ATTR == off ]] && echo ' --no-attribution' || true)$([[ $METRICS == 1 ]] && echo ' --metrics 127.0.0.1:9911 (scraped every second)' || true)" ;;
tcpdump) cmd_text="tcpdump -n -i <veth peer> -w /dev/null${BUF:+ -B $BUF}" ;;
*) cmd_text="tcpdump -n --immediate-mode -i <veth peer> -w /dev/null${BUF:+ -B $BUF}" ;;
esac
{
	echo "### Live capture with $TOOL${BUF:+ -B $BUF}, sent by $SENDER — $(date -u '+%Y-%m-%d %H:%M UTC'), tcplens $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
	echo
	if [[ $SENDER == blast ]]; then
		echo "Sender: \`target/release/examples/blast --iface <veth> --pps R $(basename "$CAP")\`"
		echo "(\`--pps 0\` for the topspeed step; AF_PACKET raw socket, sendmmsg${SENDER_INFO:+, $SENDER_INFO})"
		echo "in one network namespace; in the other,"
	else
		echo "Sender: \`tcpreplay -K -i <veth> --pps=R $(basename "$CAP")\` (\`--topspeed\` for the last step)"
		echo "in one network namespace; in the other,"
	fi
	echo "\`${cmd_text}\` (ended by SIGINT 1.5 s after the replay). veth MTU 1600, offloads off."
	echo "The capture: $PKTS packets, $CONNS connections (gencap, seed 1). A step passes when"
	echo "every replayed packet was captured with zero kernel, interface and analysis-queue drops."
	if [[ $TOOL == tcplens ]]; then
		if [[ $TUI == 1 ]]; then
			echo "The terminal UI analyses on the shards as live reports do (--threads, default one per core): capture, one thread decoding into batches, the shards (each building its part of the 4 Hz snapshots), the UI thread drawing."
		else
			echo "Analysis shards: ${THREADS:-$(nproc) (one per core, the default)}; the capture thread feeds the decoding and merging thread, which feeds the shards (docs/architecture.md#live-on-shards)."
		fi
		echo "Process attribution: $ATTR$([[ $HOST_SOCKETS -gt 0 ]] && echo ", with $HOST_SOCKETS established loopback sockets held in the capturing namespace (scripts/many_sockets.py)" || true)."
	fi
	echo "*retried*: frames the kernel refused to the sender (ENOBUFS/EAGAIN) and that it sent again."
	echo
	echo "| target pps | sent | achieved pps ($SENDER) | retried | captured | kernel drops | interface drops | queue drops | zero drops |"
	echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
	printf '%s\n' "${ROWS[@]}"
	echo
	if [[ -n $BEST ]]; then
		echo "**Highest replay rate with zero drops: $BEST_PPS packets/s** (step \`$BEST\`); target ≥ 500,000."
	else
		echo "**No rate passed with zero drops.**"
	fi
	echo
	sender_version=""
	[[ $SENDER == tcpreplay ]] && sender_version="; $(tcpreplay --version 2>&1 | head -1)"
	echo "Machine: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), Linux $(uname -r)$sender_version."
	echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (the sender and $TOOL share the $(nproc) cores)."
} >"$REPORT"
cat "$REPORT"

if [[ $OUT != - ]]; then
	begin="<!-- bench:$NAME:begin -->"
	end="<!-- bench:$NAME:end -->"
	[[ -f $OUT ]] || printf '# tcplens benchmarks\n' >"$OUT"
	grep -qF "$begin" "$OUT" || printf '\n%s\n%s\n' "$begin" "$end" >>"$OUT"
	awk -v b="$begin" -v e="$end" -v f="$REPORT" '
		$0 == b { print; while ((getline l < f) > 0) print l; skip = 1; next }
		$0 == e { skip = 0 }
		!skip { print }' "$OUT" >"$OUT.tmp"
	mv "$OUT.tmp" "$OUT"
	log "report written to $OUT ($NAME section)"
fi
