#!/usr/bin/env bash
# Record fixtures/two-interfaces.pcapng: one dumpcap capture on two interfaces of different
# link types at once (an Ethernet veth and the Linux "any" device, cooked headers), with real
# kernel TCP traffic on both, then the same file compressed by gzip, zstd and lz4.
#
#   sudo scripts/record-pcapng-fixture.sh [OUTDIR]
#
# Needs root, iproute2, dumpcap (Debian: wireshark-common, pulled in by tshark), python3,
# gzip, zstd, lz4.  Only addresses inside the namespaces this script creates are used.
#
#   netns cfng-cli                              netns cfng-srv
#   vcli 10.202.0.1/24  <-------- veth -------->  vsrv 10.202.0.2/24
#   lo 127.0.0.1 (a local server on port 6000)
#
# dumpcap runs in cfng-cli on two interfaces: vcli (Ethernet, filter "tcp") and any (Linux
# cooked, filter "tcp and host 127.0.0.1" so the veth's packets are not recorded twice).
# Traffic, one connection at a time, from fixed client ports 42001..42005:
#   * three connections client -> 10.202.0.2:5000 over the veth (request 100 bytes, reply
#     200 bytes, the client closes first);
#   * two connections client -> 127.0.0.1:6000 over loopback (same exchange).
# The file therefore interleaves Ethernet and cooked packets, which libpcap refuses
# ("different from the type of the first interface") and tcplens reads whole.

set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-$HERE/../fixtures}"
NS_C=cfng-cli
NS_S=cfng-srv
NAME=two-interfaces
WORK="$(mktemp -d)"
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    ip netns del "$NS_C" 2>/dev/null || true
    ip netns del "$NS_S" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

for t in ip dumpcap python3 gzip zstd lz4; do
    command -v "$t" >/dev/null || { echo "missing: $t" >&2; exit 2; }
done

ip netns del "$NS_C" 2>/dev/null || true
ip netns del "$NS_S" 2>/dev/null || true
ip netns add "$NS_C"
ip netns add "$NS_S"
ip link add vcli netns "$NS_C" type veth peer name vsrv netns "$NS_S"
ip -n "$NS_C" addr add 10.202.0.1/24 dev vcli
ip -n "$NS_S" addr add 10.202.0.2/24 dev vsrv
for ns in "$NS_C" "$NS_S"; do
    ip -n "$ns" link set lo up
done
ip -n "$NS_C" link set vcli up
ip -n "$NS_S" link set vsrv up
# Wire-sized segments with correct checksums.
for pair in "$NS_C vcli" "$NS_S vsrv"; do
    set -- $pair
    ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off >/dev/null 2>&1 || true
done

SERVER='
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(8)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    data = b""
    while len(data) < 100:
        d = c.recv(4096)
        if not d: break
        data += d
    c.sendall(b"r" * 200)
    while c.recv(4096): pass
    c.close()
'
CLIENT='
import socket, sys, time
for i, port_host in enumerate(sys.argv[1:]):
    host, port = port_host.split(":")
    src = "127.0.0.1" if host == "127.0.0.1" else "10.202.0.1"
    c = socket.create_connection((host, int(port)), source_address=(src, 42001 + i))
    c.sendall(b"q" * 100)
    got = b""
    while len(got) < 200:
        d = c.recv(4096)
        if not d: break
        got += d
    c.close()
    time.sleep(0.2)
'
ip netns exec "$NS_S" python3 -c "$SERVER" 10.202.0.2 5000 > "$WORK/srv1" &
PIDS+=($!)
ip netns exec "$NS_C" python3 -c "$SERVER" 127.0.0.1 6000 > "$WORK/srv2" &
PIDS+=($!)
for f in "$WORK/srv1" "$WORK/srv2"; do
    for _ in $(seq 50); do grep -q ready "$f" 2>/dev/null && break; sleep 0.1; done
done

ip netns exec "$NS_C" dumpcap -q -i vcli -f tcp -i any -f "tcp and host 127.0.0.1" \
    -w "$WORK/$NAME.pcapng" 2> "$WORK/dumpcap.err" &
CAP=$!
PIDS+=($CAP)
# dumpcap says nothing when it is ready: wait until the file has its interface blocks.
for _ in $(seq 50); do
    [ -s "$WORK/$NAME.pcapng" ] && break
    sleep 0.1
done
sleep 1

ip netns exec "$NS_C" python3 -c "$CLIENT" \
    10.202.0.2:5000 127.0.0.1:6000 10.202.0.2:5000 127.0.0.1:6000 10.202.0.2:5000
sleep 1
kill -INT "$CAP"
wait "$CAP" || true

mkdir -p "$OUT"
cp "$WORK/$NAME.pcapng" "$OUT/$NAME.pcapng"
gzip -9 -n -c "$OUT/$NAME.pcapng" > "$OUT/$NAME.pcapng.gz"
zstd -19 -q -f "$OUT/$NAME.pcapng" -o "$OUT/$NAME.pcapng.zst"
lz4 -9 -q -f "$OUT/$NAME.pcapng" "$OUT/$NAME.pcapng.lz4"
ls -l "$OUT/$NAME".pcapng*
