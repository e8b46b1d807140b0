#!/usr/bin/env bash
# tcplens benchmarks (issues 6 and 17): on the same generated captures and in the same run, time
# the floor read loop, tcplens (--report zeek / events / json / text), tcpdump, tcptrace and
# tshark; repeat, take medians, report packets/s, MB/s, peak RSS and the ratios; then the memory
# run over 1,000,000 concurrent idle connections, every report kind. Prints a Markdown report and
# writes it into BENCHMARKS.md (between the markers of its mode, the rest of the file is kept).
#
# Three capture shapes (examples/gencap.rs --shape), each timed against the floor, tcptrace and
# tshark conv,tcp:
#   mixed    the shape timed since issue 6 (every extra row: decode split, pcapng, compressed
#            input, tcpdump, Parquet, tshark's analysis fields)
#   payload  HTTP/TLS-sized payloads in full-sized segments, QinQ, 10 % IPv6
#   short    many short connections: 56 % unanswered SYNs, 40 % rejected, 4 % short exchanges
#
#   scripts/bench.sh                 full run: mixed 2.2 M packets / 100k connections, payload
#                                    5 M / 300k, short 2.2 M / 1 M; 1 M idle (~7 min)
#   BENCH_QUICK=1 scripts/bench.sh   quick run: 200k / 10k, 200k / 12k, 220k / 100k; 100k idle
#
# Environment:
#   BENCH_REPS=3            repetitions of each timed command (medians are reported)
#   BENCH_DIR=target/bench  where captures are generated and cached (re-used when present)
#   BENCH_OUT=BENCHMARKS.md report file ("-" to only print)
#   BENCH_SEED=1            generator seed
#   BENCH_TSHARK_FIELDS=1   0 skips tshark with TCP analysis fields (slow; run once)
#   BENCH_NO_INSTALL=1      never apt-get install missing tools (their rows are skipped)
#   BENCH_SLOW_REPS=1       repetitions of tcptrace and tshark on the payload and short shapes
#                           (tens of seconds each; their margin is far above the noise;
#                           tcptrace holds ~8 GB and takes minutes on the 1 M-connection capture)
#   BENCH_SLOW_TIMEOUT=600  seconds after which those runs are stopped (reported as failed)
#   BENCH_SHAPES="payload short"  the extra shapes to time ("" for the mixed shape only)
#   BENCH_PACKETS / BENCH_CONNECTIONS / BENCH_IDLE_CONNECTIONS override the sizes (mixed shape)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
SCRIPT_T0=$(date +%s)

log() { echo "bench: $*" >&2; }
die() {
	echo "bench: error: $*" >&2
	exit 1
}

QUICK=${BENCH_QUICK:-0}
REPS=${BENCH_REPS:-3}
DIR=${BENCH_DIR:-$ROOT/target/bench}
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
SEED=${BENCH_SEED:-1}
FIELDS=${BENCH_TSHARK_FIELDS:-1}
if [[ $QUICK == 1 ]]; then
	MODE=quick
	PKTS=${BENCH_PACKETS:-200000}
	CONNS=${BENCH_CONNECTIONS:-10000}
	IDLE_CONNS=${BENCH_IDLE_CONNECTIONS:-100000}
	PAYLOAD_PKTS=200000 PAYLOAD_CONNS=12000
	SHORT_PKTS=220000 SHORT_CONNS=100000
else
	MODE=full
	PKTS=${BENCH_PACKETS:-2200000}
	CONNS=${BENCH_CONNECTIONS:-100000}
	IDLE_CONNS=${BENCH_IDLE_CONNECTIONS:-1000000}
	PAYLOAD_PKTS=5000000 PAYLOAD_CONNS=300000
	SHORT_PKTS=2200000 SHORT_CONNS=1000000
fi
SLOW_REPS=${BENCH_SLOW_REPS:-1}
SLOW_TIMEOUT=${BENCH_SLOW_TIMEOUT:-600}
SHAPES=${BENCH_SHAPES-payload short}
# Idle capture: handshake + one keepalive round (probe, ACK) per connection.
IDLE_PKTS=$((IDLE_CONNS * 5))
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPS must be a positive integer, not '$REPS'"
[[ $SLOW_REPS =~ ^[1-9][0-9]*$ ]] || die "BENCH_SLOW_REPS must be a positive integer, not '$SLOW_REPS'"
for shape in $SHAPES; do
	[[ $shape == payload || $shape == short ]] || die "BENCH_SHAPES: payload and/or short, not '$shape'"
done

mkdir -p "$DIR"

# ---------------------------------------------------------------- tools
SUDO=""
if [[ $(id -u) != 0 ]] && command -v sudo >/dev/null; then SUDO=sudo; fi
can_install() {
	[[ ${BENCH_NO_INSTALL:-0} != 1 ]] && command -v apt-get >/dev/null &&
		{ [[ $(id -u) == 0 ]] || [[ -n $SUDO ]]; }
}
APT_UPDATED=0
apt_install() {
	can_install || return 1
	log "installing $* with apt-get"
	# tshark asks whether non-root users may capture: answer no, without a prompt.
	echo "wireshark-common wireshark-common/install-setuid boolean false" |
		$SUDO debconf-set-selections 2>/dev/null || true
	if [[ $APT_UPDATED == 0 ]]; then
		$SUDO apt-get update -qq >/dev/null || return 1
		APT_UPDATED=1
	fi
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
need_tool() { # command package
	command -v "$1" >/dev/null && return 0
	apt_install "$2" || true
	command -v "$1" >/dev/null || {
		log "warning: $1 is not installed (package $2); its rows are skipped"
		return 1
	}
}
[[ -x /usr/bin/time ]] || apt_install time || die "GNU time (/usr/bin/time, package 'time') is required for peak RSS"
HAVE_TCPTRACE=0 HAVE_TSHARK=0 HAVE_TCPDUMP=0
need_tool tcptrace tcptrace && HAVE_TCPTRACE=1
need_tool tshark tshark && HAVE_TSHARK=1
need_tool tcpdump tcpdump && HAVE_TCPDUMP=1

# ---------------------------------------------------------------- build
log "building tcplens and the bench examples (release)"
cargo build --release --quiet --bin tcplens --example gencap --example floor --example memory --example tui_million --example topcapng ||
	die "cargo build failed"
BIN=$ROOT/target/release
TCPLENS=$BIN/tcplens
GENCAP=$BIN/examples/gencap
FLOOR=$BIN/examples/floor
MEMORY=$BIN/examples/memory
TUI_MILLION=$BIN/examples/tui_million

# ---------------------------------------------------------------- captures
gen() { # file args...
	local f=$1
	shift
	if [[ -s $f && $f -nt $GENCAP ]]; then
		log "using cached $f"
		return
	fi
	log "generating $f"
	"$GENCAP" "$@" --seed "$SEED" --out "$f.tmp" || die "gencap failed for $f"
	mv "$f.tmp" "$f"
}
CAP=$DIR/cap-${PKTS}p-${CONNS}c-s${SEED}.pcap
IDLE=$DIR/idle-${IDLE_PKTS}p-${IDLE_CONNS}c-s${SEED}.pcap
TINY=$DIR/tiny-s${SEED}.pcap
gen "$CAP" --packets "$PKTS" --connections "$CONNS"
gen "$IDLE" --idle --packets "$IDLE_PKTS" --connections "$IDLE_CONNS"
gen "$TINY" --packets 3 --connections 1
# The other shapes: capture file, packets, connections and size of each.
declare -A SHAPE_CAP=() SHAPE_PKTS=() SHAPE_CONNS=() SHAPE_SIZE=()
SHAPE_CAP[mixed]=$CAP SHAPE_PKTS[mixed]=$PKTS SHAPE_CONNS[mixed]=$CONNS
for shape in $SHAPES; do
	if [[ $shape == payload ]]; then p=$PAYLOAD_PKTS c=$PAYLOAD_CONNS; else p=$SHORT_PKTS c=$SHORT_CONNS; fi
	SHAPE_CAP[$shape]=$DIR/$shape-${p}p-${c}c-s${SEED}.pcap SHAPE_PKTS[$shape]=$p SHAPE_CONNS[$shape]=$c
	gen "${SHAPE_CAP[$shape]}" --shape "$shape" --packets "$p" --connections "$c"
done
# The same capture as pcapng and compressed (issue 12): reading rates against the plain file.
NG=$CAP.pcapng
if [[ ! -s $NG || $NG -ot $CAP ]]; then
	log "converting $CAP to pcapng"
	"$BIN/examples/topcapng" "$CAP" "$NG.tmp" && mv "$NG.tmp" "$NG"
fi
declare -A PACKED=()
for z in "gzip:gz:gzip -6 -c" "zstd:zst:zstd -3 -q -c" "lz4:lz4:lz4 -1 -q -c"; do
	IFS=: read -r zname zext zcmd <<<"$z"
	need_tool "$zname" "$zname" || continue
	if [[ ! -s $CAP.$zext || $CAP.$zext -ot $CAP ]]; then
		log "compressing $CAP with $zname"
		$zcmd "$CAP" >"$CAP.$zext.tmp" && mv "$CAP.$zext.tmp" "$CAP.$zext"
	fi
	PACKED[$zname]=$CAP.$zext
done
SIZE=$(stat -c %s "$CAP")
for shape in mixed $SHAPES; do SHAPE_SIZE[$shape]=$(stat -c %s "${SHAPE_CAP[$shape]}"); done
IDLE_SIZE=$(stat -c %s "$IDLE")

# ---------------------------------------------------------------- timing
declare -A WALL=() CPUMED=() RSS=() RUNS=() CPU=() CMD=() FAILED=() NOTES=()
ORDER=()

# One run: wall time (s, from date) and peak RSS (KB, from GNU time) appended to the lists.
run_once() { # name cmd...
	local name=$1
	shift
	local t0 t1 st=0
	t0=$(date +%s%N)
	/usr/bin/time -f "%M %U %S" -o "$DIR/time.out" "$@" >/dev/null 2>"$DIR/stderr.out" || st=$?
	t1=$(date +%s%N)
	# tcplens exits 1 when it analysed the input but has warnings: a valid run, noted.
	if [[ $st == 1 && $(basename "$1") == tcplens ]]; then
		NOTES[$name]="exit status 1: $(grep -v '^Command exited' "$DIR/stderr.out" | head -1)"
		st=0
	fi
	if [[ $st != 0 ]]; then
		FAILED[$name]="exit status $st: $(grep -v '^Command exited' "$DIR/stderr.out" | tail -1)"
		log "warning: $name failed (${FAILED[$name]})"
		return
	fi
	RUNS[$name]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", (b-a)/1e9}') "
	local kb user sys
	read -r kb user sys < <(tail -n 1 "$DIR/time.out")
	RSS[$name]+="$kb "
	CPU[$name]+="$(awk -v u="$user" -v s="$sys" 'BEGIN{printf "%.2f", u + s}') "
}

add() { # name cmd...  (registers a command; the quoted command line is kept for the report)
	local name=$1
	shift
	ORDER+=("$name")
	CMD[$name]=$(printf '%q ' "$@" | sed "s#$ROOT/##g; s# \$##; s#\\\\,#,#g")
}

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END{if(NR) print a[int((NR+1)/2)]}'; }
maxof() { tr ' ' '\n' | grep -v '^$' | sort -g | tail -1; }

declare -A ARGV=() REPS_OF=()
register() { # name cmd...
	add "$@"
	local name=$1
	shift
	ARGV[$name]=$(printf '%q ' "$@")
	REPS_OF[$name]=$REPS
}

register floor "$FLOOR" "$CAP"
register "floor --raw (block reads, no libpcap)" "$FLOOR" --raw "$CAP"
register "floor --decode (+ tcplens decode)" "$FLOOR" --decode "$CAP"
register "floor --tcplens-read (tcplens reader + decode)" "$FLOOR" --tcplens-read "$CAP"
[[ $HAVE_TCPDUMP == 1 ]] && register "tcpdump -w /dev/null" tcpdump -r "$CAP" -w /dev/null
[[ -s $NG ]] && register "floor --tcplens-read, pcapng" "$FLOOR" --tcplens-read "$NG"
for zname in gzip zstd lz4; do
	[[ -n ${PACKED[$zname]:-} ]] &&
		register "floor --tcplens-read, $zname" "$FLOOR" --tcplens-read "${PACKED[$zname]}"
done
register "tcplens zeek" "$TCPLENS" -r "$CAP" --report zeek
register "tcplens events" "$TCPLENS" -r "$CAP" --report events
register "tcplens json" "$TCPLENS" -r "$CAP" --report json
register "tcplens text" "$TCPLENS" -r "$CAP" --report text
[[ -s $NG ]] && register "tcplens zeek, pcapng" "$TCPLENS" -r "$NG" --report zeek
[[ -n ${PACKED[zstd]:-} ]] && register "tcplens zeek, zstd" "$TCPLENS" -r "${PACKED[zstd]}" --report zeek
# --parquet beside the json report (the cost of the Parquet files: docs/parquet.md).
PARQUET_DIR=$DIR/parquet
register "tcplens json --parquet" "$TCPLENS" -r "$CAP" --report json --parquet "$PARQUET_DIR"
[[ $HAVE_TCPTRACE == 1 ]] && register tcptrace tcptrace -n "$CAP"
[[ $HAVE_TSHARK == 1 ]] && register "tshark conv,tcp" tshark -q -z conv,tcp -r "$CAP"
TS_FIELDS=(-e frame.number -e tcp.stream -e tcp.analysis.flags -e tcp.analysis.retransmission
	-e tcp.analysis.fast_retransmission -e tcp.analysis.spurious_retransmission
	-e tcp.analysis.out_of_order -e tcp.analysis.lost_segment -e tcp.analysis.ack_lost_segment
	-e tcp.analysis.duplicate_ack -e tcp.analysis.keep_alive -e tcp.analysis.keep_alive_ack
	-e tcp.analysis.zero_window -e tcp.analysis.window_full -e tcp.analysis.window_update)
if [[ $HAVE_TSHARK == 1 && $FIELDS == 1 ]]; then
	register "tshark analysis fields" tshark -r "$CAP" -T fields "${TS_FIELDS[@]}"
	REPS_OF["tshark analysis fields"]=1
fi
# The other shapes: the floor, every report kind, tcptrace and tshark conv,tcp.
for shape in $SHAPES; do
	c=${SHAPE_CAP[$shape]}
	register "$shape: floor" "$FLOOR" "$c"
	for kind in zeek events json text; do
		register "$shape: tcplens $kind" "$TCPLENS" -r "$c" --report "$kind"
	done
	if [[ $HAVE_TCPTRACE == 1 ]]; then
		register "$shape: tcptrace" timeout "$SLOW_TIMEOUT" tcptrace -n "$c"
		REPS_OF["$shape: tcptrace"]=$((SLOW_REPS < REPS ? SLOW_REPS : REPS))
	fi
	if [[ $HAVE_TSHARK == 1 ]]; then
		register "$shape: tshark conv,tcp" timeout "$SLOW_TIMEOUT" tshark -q -z conv,tcp -r "$c"
		REPS_OF["$shape: tshark conv,tcp"]=$((SLOW_REPS < REPS ? SLOW_REPS : REPS))
	fi
done

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "warming the page cache"
RUN_T0=$(date +%s)
# Round-robin over the programs so that a change in machine load hits all of them alike; each
# shape's capture is read once before its first run (the payload capture alone is ~2.5 GB).
for ((r = 1; r <= REPS; r++)); do
	for name in "${ORDER[@]}"; do
		if [[ $r -gt ${REPS_OF[$name]} ]]; then continue; fi
		if [[ $r == 1 ]]; then
			case $name in
			floor) cat "$CAP" "$IDLE" >/dev/null ;;
			*": floor") cat "${SHAPE_CAP[${name%%:*}]}" >/dev/null ;;
			esac
		fi
		log "run $r/$REPS: $name"
		eval "run_once \"\$name\" ${ARGV[$name]}"
	done
done

TIMED_SECS=$(($(date +%s) - RUN_T0))
# tcptrace 6.6.7 skips frames it cannot decode (802.1ad/QinQ among them) without a word: check
# on each capture's first 1000 packets that it traces TCP at all, so that its row is read right.
declare -A TCPTRACE_BLIND=()
if [[ $HAVE_TCPTRACE == 1 && $HAVE_TCPDUMP == 1 ]]; then
	for shape in mixed $SHAPES; do
		tcpdump -r "${SHAPE_CAP[$shape]}" -c 1000 -w "$DIR/head.pcap" 2>/dev/null || continue
		traced=$(tcptrace -n "$DIR/head.pcap" 2>/dev/null | sed -n 's/.* \([0-9]*\) TCP packets traced.*/\1/p' | head -1)
		[[ ${traced:-0} == 0 ]] && TCPTRACE_BLIND[$shape]=1
		rm -f "$DIR/head.pcap"
	done
fi
# Memory: 1 M concurrent idle connections; baseline = the same binary on a 3-packet capture.
declare -A MEM=() MEMB=()
for kind in zeek events json text; do
	log "memory run: tcplens --report $kind on $IDLE_CONNS idle connections"
	add "mem $kind" "$TCPLENS" -r "$IDLE" --report "$kind"
	run_once "mem $kind" "$TCPLENS" -r "$IDLE" --report "$kind"
	add "base $kind" "$TCPLENS" -r "$TINY" --report "$kind"
	run_once "base $kind" "$TCPLENS" -r "$TINY" --report "$kind"
done
# Engine state per connection, from the tracker's own structures (examples/memory.rs).
log "engine state: examples/memory on $IDLE_CONNS idle connections"
"$MEMORY" "$IDLE" >"$DIR/memory.out" 2>"$DIR/stderr.out" || log "examples/memory failed: $(tail -1 "$DIR/stderr.out")"
STATE_LIVE=$(awk -F'\t' '$1 == "total" {print $3}' "$DIR/memory.out")
STATE_ALLOC=$(awk -F'\t' '$1 == "total" {print $5}' "$DIR/memory.out")
# Reports byte-identical for --threads 1 and --threads N (N = the cores, at least 2), every
# shape and report kind (docs/architecture.md#report-order; the Zeek #open/#close lines hold
# the wall clock).
NT=$(nproc)
[[ $NT -lt 2 ]] && NT=2
IDENT_RUNS=0 IDENT_BAD=""
report_sum() { { "$TCPLENS" "$@" 2>&1 || true; } | sed -E '/^#(open|close)\t/d' | md5sum; }
for shape in mixed $SHAPES; do
	for kind in zeek events json text; do
		log "identity: $shape --report $kind, --threads 1 vs $NT"
		a=$(report_sum -r "${SHAPE_CAP[$shape]}" --report "$kind" --threads 1)
		b=$(report_sum -r "${SHAPE_CAP[$shape]}" --report "$kind" --threads "$NT")
		IDENT_RUNS=$((IDENT_RUNS + 1))
		[[ $a == "$b" ]] || IDENT_BAD+=" $shape/$kind"
	done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report
num() { awk -v x="$1" -v f="$2" 'BEGIN{printf f, x}'; }
div() { awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN{if (b > 0) printf f, a / b; else print "n/a"}'; }
wall() { [[ -n ${RUNS[$1]:-} ]] && echo "${RUNS[$1]}" | median; }
cpu() { [[ -n ${CPU[$1]:-} ]] && echo "${CPU[$1]}" | median; }
mpps() { awk -v p="$PKTS" -v w="$1" 'BEGIN{printf "%.2f", p / w / 1e6}'; }
mbs() { awk -v s="$SIZE" -v w="$1" 'BEGIN{printf "%.0f", s / w / 1e6}'; }
mb() { awk -v k="$1" 'BEGIN{printf "%.0f", k / 1024}'; }

# ---------------------------------------------------------------- TUI graphs
# One connection of GRAPH_SEGS segments: each graph step (v: the series made from the kept
# segments), then reading its series back from the file
# (key + redraw at 200x50), wall clock and the drawing thread's CPU time. A measurement
# (the goal is under 100 ms per step), not a pass/fail test.
if [[ $QUICK == 1 ]]; then GRAPH_SEGS=${BENCH_GRAPH_SEGMENTS:-200000}; else GRAPH_SEGS=${BENCH_GRAPH_SEGMENTS:-1000000}; fi
log "TUI graphs: one connection of $GRAPH_SEGS segments"
"$TUI_MILLION" --graph "$DIR/bulk-$GRAPH_SEGS.pcap" "$GRAPH_SEGS" >"$DIR/graph.out" 2>"$DIR/stderr.out" ||
	log "examples/tui_million --graph failed: $(tail -1 "$DIR/stderr.out")"
rm -f "$DIR/bulk-$GRAPH_SEGS.pcap"

REPORT=$DIR/report-$MODE.md
{
	echo "### ${MODE^} run — $(date -u '+%Y-%m-%d %H:%M UTC'), tcplens $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (src modified)')"
	echo
	echo "Capture: \`$(basename "$CAP")\` — $PKTS packets, $CONNS connections, $(awk -v s="$SIZE" 'BEGIN{printf "%.1f", s / 1e6}') MB"
	echo "(\`gencap --packets $PKTS --connections $CONNS --seed $SEED\`). $REPS repetitions, medians;"
	echo "page cache warm; load average $LOAD_BEFORE before, $LOAD_AFTER after. Rates use the median"
	echo "wall time; on a shared machine the CPU time (median of user+sys) is the steadier figure."
	echo "The timed runs took $TIMED_SECS s, the whole script $(($(date +%s) - SCRIPT_T0)) s (captures cached)."
	echo
	echo "| program | wall (s) | runs (s) | CPU user+sys (s) | Mpps | MB/s | peak RSS (MB) |"
	echo "|---|---:|---|---:|---:|---:|---:|"
	for name in "${ORDER[@]}"; do
		[[ $name == mem* || $name == base* || $name == *": "* ]] && continue
		if [[ -z ${RUNS[$name]:-} ]]; then
			echo "| $name | failed: ${FAILED[$name]:-not run} | | | | | |"
			continue
		fi
		w=$(wall "$name")
		WALL[$name]=$w
		CPUMED[$name]=$(cpu "$name")
		rss=$(echo "${RSS[$name]}" | maxof)
		echo "| $name | $(num "$w" '%.3f') | ${RUNS[$name]% } | ${CPUMED[$name]} | $(mpps "$w") | $(mbs "$w") | $(mb "$rss") |"
	done
	for name in "${!NOTES[@]}"; do
		echo
		echo "Note: \`$name\`: ${NOTES[$name]}"
	done
	echo
	r() { # label a b: wall(a)/wall(b), cpu(a)/cpu(b)
		if [[ -n ${WALL[$2]:-} && -n ${WALL[$3]:-} ]]; then
			echo "| $1 | $(div "${WALL[$2]}" "${WALL[$3]}" '%.2f×') | $(div "${CPUMED[$2]}" "${CPUMED[$3]}" '%.2f×') |"
		fi
	}
	echo "| ratio | wall time | CPU time |"
	echo "|---|---:|---:|"
	r "tcplens zeek / floor" "tcplens zeek" floor
	r "tcplens events / tcplens zeek" "tcplens events" "tcplens zeek"
	r "tcplens json / tcplens zeek" "tcplens json" "tcplens zeek"
	r "tcplens json --parquet / tcplens json" "tcplens json --parquet" "tcplens json"
	r "tcptrace / tcplens zeek" tcptrace "tcplens zeek"
	r "tshark conv,tcp / tcplens zeek" "tshark conv,tcp" "tcplens zeek"
	r "tshark analysis fields / tcplens events" "tshark analysis fields" "tcplens events"
	if [[ -f $PARQUET_DIR/connections.parquet ]]; then
		json_bytes=$("$TCPLENS" -r "$CAP" --report json 2>/dev/null | wc -c)
		echo
		echo "Parquet files of \`--parquet\`: connections.parquet $(mb $(($(stat -c %s "$PARQUET_DIR/connections.parquet") / 1024))) MB"
		echo "(the json report: $(mb $((json_bytes / 1024))) MB), events.parquet $(mb $(($(stat -c %s "$PARQUET_DIR/events.parquet") / 1024))) MB."
	fi
	# Every shape side by side: wall times and their ratio to the same capture's floor.
	PROGS=(floor "tcplens zeek" "tcplens events" "tcplens json" "tcplens text" tcptrace "tshark conv,tcp")
	declare -A SLOWEST=() SLOWEST_KIND=() FLOORW=() TSHARKW=()
	# CPU beside wall time: a run on N cores can be no shorter than its CPU time over N, so CPU
	# over the cores is the lowest ratio to the floor the same work could reach on this machine.
	CORES=$(nproc)
	CPU_ROWS=()
	echo
	echo "Capture shapes (\`gencap --shape SHAPE --seed $SEED\`): wall time in seconds, median of $REPS runs"
	echo "(tcptrace and tshark on the payload and short shapes: $SLOW_REPS), and in brackets the ratio to"
	echo "the floor (libpcap read loop) on the same capture."
	echo
	echo "| shape | capture | floor | tcplens zeek | tcplens events | tcplens json | tcplens text | tcptrace | tshark conv,tcp |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
	for shape in mixed $SHAPES; do
		pre=""
		[[ $shape != mixed ]] && pre="$shape: "
		f=$(wall "${pre}floor" || true)
		FLOORW[$shape]=$f
		row="| $shape | ${SHAPE_PKTS[$shape]} packets, ${SHAPE_CONNS[$shape]} connections, $(awk -v s="${SHAPE_SIZE[$shape]}" 'BEGIN{printf "%.0f", s / 1e6}') MB |"
		for prog in "${PROGS[@]}"; do
			w=$(wall "$pre$prog" || true)
			if [[ -z $w ]]; then
				row+=" n/a |"
			elif [[ $prog == tcptrace && -n ${TCPTRACE_BLIND[$shape]:-} ]]; then
				row+=" $(num "$w" '%.3f') (traced nothing) |"
			elif [[ $prog == floor || -z $f ]]; then
				row+=" $(num "$w" '%.3f') |"
			else
				row+=" $(num "$w" '%.3f') ($(div "$w" "$f" '%.2f×')) |"
			fi
			if [[ -n $w && $prog == tcplens* ]] &&
				[[ -z ${SLOWEST[$shape]:-} || $(awk -v a="$w" -v b="${SLOWEST[$shape]}" 'BEGIN{print (a > b)}') == 1 ]]; then
				SLOWEST[$shape]=$w
				SLOWEST_KIND[$shape]=${prog#tcplens }
			fi
			[[ -n $w && $prog == "tshark conv,tcp" ]] && TSHARKW[$shape]=$w
		done
		echo "$row"
		row="| $shape |"
		for kind in zeek events json text; do
			c=$(cpu "${pre}tcplens $kind" || true)
			if [[ -z $c ]]; then
				row+=" n/a |"
			elif [[ -z $f ]]; then
				row+=" $(num "$c" '%.2f') |"
			else
				row+=" $(num "$c" '%.2f') ($(awk -v c="$c" -v n="$CORES" -v f="$f" 'BEGIN{printf "%.2f×", c / n / f}')) |"
			fi
		done
		CPU_ROWS+=("$row")
	done
	echo
	echo "CPU time of the same tcplens runs (user + sys, median, seconds), and in brackets that time"
	echo "spread over this machine's $CORES cores as a ratio to the floor: the lowest ratio the same work"
	echo "could reach here with every core busy for the whole run."
	echo
	echo "| shape | tcplens zeek | tcplens events | tcplens json | tcplens text |"
	echo "|---|---:|---:|---:|---:|"
	printf '%s\n' "${CPU_ROWS[@]}"
	if [[ ${#TCPTRACE_BLIND[@]} -gt 0 ]]; then
		echo
		echo "*traced nothing*: tcptrace read the capture but traced no TCP packet (it does not decode"
		echo "802.1ad/QinQ frames), so its time there is only a read loop and not comparable."
	fi
	echo
	echo "Memory: \`$(basename "$IDLE")\` — $IDLE_CONNS concurrent idle connections (handshake + one"
	echo "keepalive round each, none closes), $IDLE_PKTS packets, $(awk -v s="$IDLE_SIZE" 'BEGIN{printf "%.1f", s / 1e6}') MB. Baseline: the same"
	echo "command on a 3-packet capture. Bytes per connection = (peak RSS − baseline) / connections:"
	echo "everything the process holds per flow (engine state, hash index, Vec growth slack, reports' buffers)."
	echo
	echo "| command | wall (s) | peak RSS (MB) | baseline RSS (MB) | bytes per connection |"
	echo "|---|---:|---:|---:|---:|"
	for kind in zeek events json text; do
		if [[ -z ${RUNS["mem $kind"]:-} || -z ${RUNS["base $kind"]:-} ]]; then
			echo "| tcplens --report $kind | failed: ${FAILED["mem $kind"]:-${FAILED["base $kind"]:-}} | | | |"
			continue
		fi
		m=$(echo "${RSS["mem $kind"]}" | maxof)
		b=$(echo "${RSS["base $kind"]}" | maxof)
		MEM[$kind]=$m
		MEMB[$kind]=$(awk -v m="$m" -v b="$b" -v n="$IDLE_CONNS" 'BEGIN{printf "%.0f", (m-b)*1024/n}')
		echo "| tcplens --report $kind | $(num "$(wall "mem $kind")" '%.2f') | $(awk -v m="$m" 'BEGIN{printf "%.0f", m/1024}') | $(awk -v m="$b" 'BEGIN{printf "%.1f", m/1024}') | ${MEMB[$kind]} |"
	done
	echo
	if [[ -n ${STATE_LIVE:-} ]]; then
		echo "Engine state per connection (\`examples/memory\`: the Zeek tracker's structures after reading"
		echo "the same capture, as \`--report zeek\` holds them; *in use* counts occupied slots and queued"
		echo "timers, *allocated* adds the slab's and the timer runs' growth slack; allocator overhead in neither):"
		echo
		echo "| part | bytes per connection in use | allocated |"
		echo "|---|---:|---:|"
		awk -F'\t' 'NR > 2 {printf "| %s | %s | %s |\n", $1, $3, $5}' "$DIR/memory.out"
		echo
	fi
	check() { # label ok-bool detail
		if [[ $2 == 1 ]]; then echo "| $1 | pass | $3 |"; else echo "| $1 | **fail** | $3 |"; fi
	}
	ge() { awk -v a="$1" -v b="$2" 'BEGIN{print (a >= b) ? 1 : 0}'; }
	echo "| acceptance (issue 6) | result | measured |"
	echo "|---|---|---|"
	if [[ -n ${WALL["tcplens zeek"]:-} ]]; then
		z=${WALL["tcplens zeek"]}
		zp=$(mpps "$z")
		check "tcplens zeek ≥ 4 Mpps" "$(ge "$zp" 4)" "$zp Mpps"
		if [[ -n ${WALL[floor]:-} ]]; then
			x=$(div "$z" "${WALL[floor]}" '%.2f')
			check "tcplens zeek ≤ 2.5× floor" "$(ge 2.5 "$x")" "${x}×"
		fi
		if [[ -n ${WALL["tshark conv,tcp"]:-} ]]; then
			x=$(div "${WALL["tshark conv,tcp"]}" "$z" '%.1f')
			check "tshark conv,tcp ≥ 30× tcplens zeek" "$(ge "$x" 30)" "${x}×"
		fi
		if [[ -n ${WALL["tcplens events"]:-} ]]; then
			x=$(div "${WALL["tcplens events"]}" "$z" '%.2f')
			check "tcplens events ≤ 1.5× zeek" "$(ge 1.5 "$x")" "${x}×"
		fi
	fi
	if [[ -n ${MEM[zeek]:-} ]]; then
		mb=$(awk -v m="${MEM[zeek]}" 'BEGIN{printf "%.0f", m/1024}')
		check "$IDLE_CONNS idle connections: peak RSS ≤ 500 MB (zeek)" "$(ge 500 "$mb")" "$mb MB"
	fi
	if [[ -n ${STATE_LIVE:-} ]]; then
		check "≤ 300 B of engine state per idle connection (zeek, in use)" "$(ge 300 "$STATE_LIVE")" "$STATE_LIVE B (allocated $STATE_ALLOC B; whole process ${MEMB[zeek]:-?} B)"
	fi
	echo
	echo "| acceptance (issue 17) | result | measured |"
	echo "|---|---|---|"
	for shape in mixed $SHAPES; do
		[[ -n ${SLOWEST[$shape]:-} && -n ${FLOORW[$shape]:-} ]] || continue
		bound=2.5
		[[ $shape == short ]] && bound=4
		x=$(div "${SLOWEST[$shape]}" "${FLOORW[$shape]}" '%.2f')
		check "$shape: every report kind ≤ ${bound}× floor" "$(ge "$bound" "$x")" "slowest: ${SLOWEST_KIND[$shape]}, ${x}×"
		if [[ -n ${TSHARKW[$shape]:-} ]]; then
			x=$(div "${TSHARKW[$shape]}" "${SLOWEST[$shape]}" '%.1f')
			check "$shape: tshark conv,tcp ≥ 30× every report kind" "$(ge "$x" 30)" "${x}× the slowest (${SLOWEST_KIND[$shape]})"
		fi
	done
	check "reports byte-identical, --threads 1 vs $NT (every shape and kind)" \
		"$([[ -z $IDENT_BAD ]] && echo 1 || echo 0)" "$IDENT_RUNS pairs${IDENT_BAD:+, differ:$IDENT_BAD}"
	for kind in zeek events json text; do
		[[ -n ${MEM[$kind]:-} ]] || continue
		mb=$(awk -v m="${MEM[$kind]}" 'BEGIN{printf "%.0f", m/1024}')
		check "$IDLE_CONNS idle connections, $kind: ≤ 400 B per connection, ≤ 500 MB peak" \
			"$(awk -v b="${MEMB[$kind]}" -v m="$mb" 'BEGIN{print (b <= 400 && m <= 500) ? 1 : 0}')" "${MEMB[$kind]} B, $mb MB"
	done
	if [[ -s $DIR/graph.out ]]; then
		echo
		echo "TUI graphs on one connection of $GRAPH_SEGS segments (\`examples/tui_million --graph\`;"
		echo "key + redraw at 200x50; the goal is under 100 ms a step; \`v\` makes the series from the"
		echo "segments kept in memory while the capture was read, then draws; each redraw costs per pixel"
		echo "column; the read-back is what a connection past the kept segments' budget costs instead):"
		echo
		echo "| step | wall | cpu |"
		echo "|---|---:|---:|"
		sed -n 's/^graph step \(.*\): \(.*\) (cpu \(.*\))$/| \1 | \2 | \3 |/p' "$DIR/graph.out"
		sed -n 's/^read the connection.s series back: \(.*\)$/| read the series back instead (past the budget) | \1 | |/p' "$DIR/graph.out"
	fi
	echo
	echo "Machine: $(nproc) cores, $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), $(awk '/MemTotal/{printf "%.1f GB", $2/1048576}' /proc/meminfo) RAM, Linux $(uname -r);"
	echo "$(rustc --version 2>/dev/null || echo 'rustc ?'); $( [[ $HAVE_TSHARK == 1 ]] && tshark --version 2>/dev/null | head -1 | sed 's/ (Git.*//' ); $( [[ $HAVE_TCPTRACE == 1 ]] && tcptrace -v 2>&1 | head -1 | sed 's/.*-- version/tcptrace/; s/ --.*//' ); $( [[ $HAVE_TCPDUMP == 1 ]] && tcpdump --version 2>&1 | head -1 )."
	echo
	echo "Commands (stdout to /dev/null, each under \`/usr/bin/time -f %M\`):"
	echo
	echo '```'
	for name in "${ORDER[@]}"; do
		echo "${CMD[$name]}"
	done
	echo '```'
} >"$REPORT"
cat "$REPORT"

# Keep the rest of BENCHMARKS.md; replace only this mode's section.
if [[ $OUT != - ]]; then
	begin="<!-- bench:$MODE:begin -->"
	end="<!-- bench:$MODE:end -->"
	[[ -f $OUT ]] || printf '# tcplens benchmarks\n\nGenerated by `make bench` (scripts/bench.sh).\n' >"$OUT"
	if ! grep -qF "$begin" "$OUT"; then
		printf '\n%s\n%s\n' "$begin" "$end" >>"$OUT"
	fi
	awk -v b="$begin" -v e="$end" -v f="$REPORT" '
		$0 == b { print; while ((getline l < f) > 0) print l; skip = 1; next }
		$0 == e { skip = 0 }
		!skip { print }' "$OUT" >"$OUT.tmp"
	mv "$OUT.tmp" "$OUT"
	log "report written to $OUT ($MODE section)"
fi
