#!/usr/bin/env bash
# Fuzz tcplens with cargo-fuzz (libFuzzer): each target in turn for FUZZ_SECONDS, one process
# at a time (one core). `make fuzz` runs this; it is not part of `make test`.
#
#   FUZZ_SECONDS=120              time per target (seconds)
#   FUZZ_TARGETS="decode engine capture_file encap sock_diag"
#   FUZZ_SANITIZER=address        address (default) or none: no ASan, about 4x the executions
#                                 on the engine target (tcplens is safe Rust, so ASan mostly
#                                 guards libpcap's buffers in capture_file); also the fallback
#                                 if a toolchain lacks the ASan runtime
#   FUZZ_SEED_PCAPS="a.pcap ..."  extra captures for the seed corpus
#
# Targets (fuzz/fuzz_targets/):
#   decode        one frame of any link type → tcplens::decode::decode
#   engine        a sequence of frames (or compact synthetic segments) → Engine with every
#                 report's collection on → finish, summaries, JSON/text/zeek/events writers,
#                 checking JSON is valid UTF-8 and every Zeek row has the header's field count
#   capture_file  the input as a capture file (FileSource: own pcap/pcapng readers, gzip/zstd/lz4,
#                 merging) → Engine → reports; checked against libpcap wherever it reads the file
#                 inputs starting with 0xff are recipes for a structure-aware pcapng generator
#                 (fuzz_targets/common/pcapng.rs: both byte orders, sections, interfaces with
#                 if_tsresol/if_tsoffset/if_fcslen, EPB/SPB/OPB whose lengths agree or lie,
#                 statistics/name/secrets/custom/unknown blocks, bad trailers, cut blocks)
#   encap         structure-aware stacked encapsulations (IP-in-IP, GRE, VXLAN, Geneve, GTP-U,
#                 Teredo, MPLS, VLAN/QinQ, PPPoE, up to 5 deep, over Ethernet/raw/SLL/SLL2)
#                 around compact TCP segments, with a damaged byte, snap-length cuts and
#                 reordered/duplicated/overlapping IPv4 fragments through the reassembly
#   sock_diag     netlink sock_diag replies (live process attribution)
#
# Toolchain: cargo-fuzz passes nightly-only flags (-Zsanitizer=address, -Cpasses=sancov-module,
# -Zbuild-std is NOT needed). On a stable toolchain RUSTC_BOOTSTRAP=1 lets stable rustc accept
# them; this script sets it (checked with stable rustc 1.95 and cargo-fuzz 0.13.2). ASan works
# with the rust-std of x86_64-unknown-linux-gnu. Switching FUZZ_SANITIZER rebuilds everything.
#
# Measured on the 2-core development machine (one process): decode ~200k exec/s, engine ~270
# exec/s with ASan (~1100 without), capture_file ~1700 exec/s.
#
# Seed corpus (fuzz/corpus/<target>, generated once by fuzz/seedgen): every capture under
# 200 KB from fixtures/ and /work/shared/eval/zeek-corpus/*/trace.pcap (when present) and
# FUZZ_SEED_PCAPS, testkit ladders in six classic-pcap variants (byte order, resolution, link
# type); decode gets their single frames, engine their first 64 frames and the ladders in
# compact form. Delete fuzz/corpus to regenerate.
#
# Output: fuzz/logs/<target>-<time>.log; a summary line per target (executions, exec/s, cov, ft).
# A crash leaves fuzz/artifacts/<target>/crash-*; reproduce with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run <target> fuzz/artifacts/<target>/crash-...
# and turn it into a regression test in tests/ (see tests/broken_files.rs).
set -uo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET=${FUZZ_SECONDS:-120}
TARGETS=${FUZZ_TARGETS:-decode engine capture_file encap sock_diag}
SANITIZER=${FUZZ_SANITIZER:-address}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked || exit 2
fi

if [ ! -d fuzz/corpus/capture_file ] || [ -z "$(ls -A fuzz/corpus/capture_file 2>/dev/null)" ]; then
    echo "generating the seed corpus"
    shopt -s nullglob
    pcaps=(fixtures/*.pcap fixtures/*.pcapng fixtures/*.pcapng.* /work/shared/eval/zeek-corpus/*/trace.pcap)
    # shellcheck disable=SC2206
    pcaps+=(${FUZZ_SEED_PCAPS:-})
    cargo run --quiet --release --manifest-path fuzz/Cargo.toml -p tcplens-seedgen -- \
        fuzz/corpus "${pcaps[@]}" || exit 2
fi

max_len() {
    case $1 in
        decode) echo 4096 ;;
        engine) echo 40000 ;;
        *) echo 204800 ;;
    esac
}

mkdir -p fuzz/logs
# The capture_file target writes its input to $TMPDIR/tcplens-fuzz-<pid>.cap; keep those here.
export TMPDIR="$PWD/fuzz/target/fuzz-tmp"
mkdir -p "$TMPDIR"
status=0
for t in $TARGETS; do
    log="fuzz/logs/$t-$(date -u +%Y%m%dT%H%M%S).log"
    echo "fuzzing $t for ${SECONDS_PER_TARGET}s (log: $log)"
    (cd fuzz && cargo fuzz run --sanitizer "$SANITIZER" "$t" -- \
        -max_total_time="$SECONDS_PER_TARGET" -max_len="$(max_len "$t")" \
        -print_final_stats=1 -timeout=10 -rss_limit_mb=2048) >"$log" 2>&1
    rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$')
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' <<<"$last")
    ft=$(grep -o 'ft: [0-9]*' <<<"$last")
    echo "  $t: ${execs:-?} executions, ${speed:-?} exec/s, $cov, $ft, exit $rc"
    if [ "$rc" -ne 0 ]; then
        status=1
        grep -E 'ERROR|panicked|Test unit written' "$log" | head -5 | sed 's/^/    /'
    fi
done
rm -f "$TMPDIR"/tcplens-fuzz-*.cap
exit $status
