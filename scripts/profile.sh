#!/usr/bin/env bash
# Cost per packet of each step (issue 6, item 2): run tcplens under valgrind's callgrind on a
# generated capture and group the instructions by step (read, decode, flow lookup, Compat-W,
# Native, Zeek, report output, engine glue, allocation). Instruction counts do not depend on
# the machine's load, so the figures are stable on a shared machine.
#
#   scripts/profile.sh            200k packets / 10k connections, --report zeek and events
#
# Environment: PROFILE_PACKETS=200000 PROFILE_CONNECTIONS=10000 PROFILE_REPORTS="zeek events"
#              BENCH_DIR=target/bench  BENCH_OUT=BENCHMARKS.md ("-" to only print)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
log() { echo "profile: $*" >&2; }
die() {
	echo "profile: error: $*" >&2
	exit 1
}
PKTS=${PROFILE_PACKETS:-200000}
CONNS=${PROFILE_CONNECTIONS:-10000}
REPORTS=${PROFILE_REPORTS:-zeek events}
DIR=${BENCH_DIR:-$ROOT/target/bench}
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
mkdir -p "$DIR"
command -v valgrind >/dev/null || die "valgrind is required (apt-get install valgrind)"
command -v callgrind_annotate >/dev/null || die "callgrind_annotate is required (package valgrind)"
command -v python3 >/dev/null || die "python3 is required"

log "building tcplens with debug info (target/prof) and gencap"
CARGO_TARGET_DIR=$ROOT/target/prof CARGO_PROFILE_RELEASE_DEBUG=true \
	cargo build --release --quiet --bin tcplens || die "cargo build failed"
cargo build --release --quiet --example gencap || die "cargo build failed"
BIN=$ROOT/target/prof/release/tcplens
GENCAP=$ROOT/target/release/examples/gencap
CAP=$DIR/cap-${PKTS}p-${CONNS}c-s1.pcap
if ! [[ -s $CAP && $CAP -nt $GENCAP ]]; then
	"$GENCAP" --packets "$PKTS" --connections "$CONNS" --seed 1 --out "$CAP.tmp"
	mv "$CAP.tmp" "$CAP"
fi

REPORT=$DIR/report-profile.md
{
	echo "### Instructions per packet — $(date -u '+%Y-%m-%d %H:%M UTC'), tcplens $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD -- src 2>/dev/null || echo ' (src modified)')"
	echo
	echo "\`valgrind --tool=callgrind tcplens -r $(basename "$CAP") --report KIND\` ($PKTS packets,"
	echo "$CONNS connections), release build with debug info. Exclusive instruction counts (Ir) grouped"
	echo "by the source file of each (inlined) line, else by the enclosing function; divided by the"
	echo "packet count. Startup and the final report are included (in *other* and *report output*)."
	echo
} >"$REPORT"

for kind in $REPORTS; do
	out=$DIR/callgrind-$kind.out
	log "callgrind: --report $kind"
	valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN" -r "$CAP" --report "$kind" \
		>/dev/null 2>"$DIR/callgrind-$kind.log" || die "valgrind failed: $(tail -3 "$DIR/callgrind-$kind.log")"
	callgrind_annotate --threshold=100 --auto=no "$out" 2>/dev/null >"$DIR/callgrind-$kind.txt"
	python3 - "$DIR/callgrind-$kind.txt" "$PKTS" "$kind" >>"$REPORT" <<'EOF'
import re, sys
path, pkts, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rows = []
total = None
for line in open(path, errors="replace"):
    m = re.match(r"\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S.*?)(?:\s+\[(.*)\])?\s*$", line)
    if not m:
        continue
    ir = int(m.group(1).replace(",", ""))
    what = m.group(2)
    if what == "PROGRAM TOTALS":
        total = ir
        continue
    rows.append((ir, what, m.group(3) or ""))
if total is None:
    total = sum(r[0] for r in rows)

# First matching rule wins: (group, regex on "file:function [object]").
RULES = [
    ("read: file reader (fast classic-pcap path, libpcap)", r"libpcap\.so|/libio/|fread|pcap-\d[\d.]*/src|capture/file\.rs|capture/classic\.rs|FileSource::run|ClassicReader"),
    ("memcpy (buffer refills, batches)", r"memmove|memcpy"),
    ("allocation", r"malloc|free|realloc|_int_|alloc::alloc|RawVec|__rust_alloc|__rdl_"),
    ("decode (decode.rs, etherparse)", r"src/decode\.rs|etherparse|tcplens::decode::"),
    ("flow lookup (key, hash, endpoint compare)", r"src/flow/|hashbrown|rustc[-_]hash|net/ip_addr\.rs:tcplens::engine|array/equality\.rs:tcplens::engine|slice/cmp\.rs:tcplens::engine|/cmp\.rs:tcplens::engine"),
    ("Compat-W (analysis/wireshark.rs)", r"analysis/wireshark\.rs|WireFlow::"),
    ("Native (src/tcp)", r"src/tcp/|tcplens::tcp::"),
    ("Zeek (analysis/zeek.rs)", r"analysis/zeek\.rs|tcplens::analysis::zeek::"),
    ("report output (report/, writer, fmt)", r"src/report/|ReportWriter|write_result|core::fmt|std::io::|BufWriter|serde|itoa|ryu|MicrosFmt|tcplens::report::"),
    ("engine glue (engine.rs, events.rs, per-frame driver)", r"src/engine\.rs|analysis/events\.rs|tcplens::engine::|run_offline"),
]
groups = {}
for ir, what, obj in rows:
    s = f"{what} [{obj}]"
    g = "other (startup, libc, std)"
    for name, rx in RULES:
        if re.search(rx, s):
            g = name
            break
    groups[g] = groups.get(g, 0) + ir
order = [r[0] for r in RULES] + ["other (startup, libc, std)"]
print(f"`--report {kind}`: **{total / pkts:,.0f} instructions per packet** ({total:,} in all).")
print()
print("| step | Ir per packet | share |")
print("|---|---:|---:|")
for g in order:
    v = groups.get(g, 0)
    if v:
        print(f"| {g} | {v / pkts:,.1f} | {100 * v / total:.1f}% |")
print()
# Top functions (exclusive), merging the inlined parts of each function.
fn = {}
for ir, what, obj in rows:
    f = what.split(":", 1)[1] if ":" in what else what
    fn[f] = fn.get(f, 0) + ir
print(f"Top functions, `--report {kind}` (exclusive, inlined code included in its caller):")
print()
print("| function | Ir per packet | share |")
print("|---|---:|---:|")
for f, v in sorted(fn.items(), key=lambda x: -x[1])[:12]:
    f = f.replace("|", "\\|")
    print(f"| `{f}` | {v / pkts:,.1f} | {100 * v / total:.1f}% |")
print()
EOF
done
cat "$REPORT"

if [[ $OUT != - ]]; then
	begin="<!-- bench:profile:begin -->"
	end="<!-- bench:profile:end -->"
	[[ -f $OUT ]] || printf '# tcplens benchmarks\n' >"$OUT"
	grep -qF "$begin" "$OUT" || printf '\n%s\n%s\n' "$begin" "$end" >>"$OUT"
	awk -v b="$begin" -v e="$end" -v f="$REPORT" '
		$0 == b { print; while ((getline l < f) > 0) print l; skip = 1; next }
		$0 == e { skip = 0 }
		!skip { print }' "$OUT" >"$OUT.tmp"
	mv "$OUT.tmp" "$OUT"
	log "report written to $OUT (profile section)"
fi
