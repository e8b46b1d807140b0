#!/usr/bin/env bash
# Compare tshark with tcplens on every capture of fixtures/encap/ and fixtures/frag/: the
# number of TCP conversations (`tshark -q -z conv,tcp`) must equal the number of connections
# in `tcplens --report json`. Prints one line per file and exits 1 on any disagreement.
#
#   scripts/check-encap-fixtures.sh [TCPLENS]      (default: target/release/tcplens)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN="${1:-$HERE/../target/release/tcplens}"
command -v tshark >/dev/null || { echo "tshark not found (apt-get install tshark)"; exit 2; }
bad=0
for f in "$HERE"/../fixtures/encap/*.pcap "$HERE"/../fixtures/frag/*.pcap; do
    [ -e "$f" ] || continue
    t=$(tshark -r "$f" -q -z conv,tcp 2>/dev/null | grep -c '<->' || true)
    n=$("$BIN" -r "$f" --report json 2>/dev/null | grep -c '^{' || true)
    if [ "$t" = "$n" ]; then mark=ok; else mark=DIFFER; bad=1; fi
    printf '%-28s tshark %3s  tcplens %3s  %s\n' "$(basename "$f")" "$t" "$n" "$mark"
done
exit $bad
