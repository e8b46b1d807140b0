#!/usr/bin/env bash
# Record kernel-made IP fragments of TCP into fixtures/frag/ (IP reassembly fixtures, see
# docs/encapsulations.md and fixtures/frag/README.md).
#
#   sudo scripts/record-fragments.sh [OUTDIR]
#
# The lab (namespaces and links prefixed "encf", removed at exit):
#
#   netns encf-c                  netns encf-r                       netns encf-s
#   vc 10.214.1.1/24   <--veth-->  rc 10.214.1.254 | rs 10.214.2.254 <--veth--> vs 10.214.2.1/24
#      fd00:214:1::1/64               fd00:214:1::fe | fd00:214:2::fe          fd00:214:2::1/64
#                                   (rs: MTU 700; 1280 for IPv6)
#
# rs, the router's port toward the server, has MTU 700; every other MTU is 1500, so neither
# host learns the small link from its own interface. Offloads (TSO/GSO/GRO) are off on every
# end, so the capture shows wire-sized packets. tcpdump records on vs, in the server's
# namespace, after the router.
#
# Scenarios (client sends 4000 bytes, server answers 100, client closes):
#  v4-router   plain TCP over IPv4; the client has net.ipv4.ip_no_pmtu_disc=1 (DF clear), so
#              the router fragments its 1500-byte packets onto the 700-byte link.
#  v4-vxlan    the same TCP inside a VXLAN tunnel over IPv4 (inner 10.215.0.1 <-> 10.215.0.2)
#              whose outer packets have DF clear (df unset): the router fragments them.
#  v6-gtpu     TCP over IPv4 inside a GTP-U tunnel over the IPv6 path (inner 10.216.0.1 <->
#              10.216.0.2); the client has learnt the 1280-byte path MTU, and its kernel
#              fragments the outer IPv6 packets (RFC 8200 section 4.5).
#
# Only the addresses above, inside namespaces this script creates, are used.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-$HERE/../fixtures/frag}"
mkdir -p "$OUT"
C=encf-c R=encf-r S=encf-s
PY="${PYTHON:-python3}"

cleanup() {
    for n in $C $R $S; do ip netns del $n 2>/dev/null || true; done
}
trap cleanup EXIT

lab() {
    local mtu=$1
    cleanup
    for n in $C $R $S; do ip netns add $n; ip -n $n link set lo up; done
    ip link add vc netns $C type veth peer name rc netns $R
    ip link add vs netns $S type veth peer name rs netns $R
    ip -n $C addr add 10.214.1.1/24 dev vc
    ip -n $C addr add fd00:214:1::1/64 dev vc nodad
    ip -n $R addr add 10.214.1.254/24 dev rc
    ip -n $R addr add fd00:214:1::fe/64 dev rc nodad
    ip -n $R addr add 10.214.2.254/24 dev rs
    ip -n $R addr add fd00:214:2::fe/64 dev rs nodad
    ip -n $S addr add 10.214.2.1/24 dev vs
    ip -n $S addr add fd00:214:2::1/64 dev vs nodad
    ip -n $R link set rs mtu $mtu
    for p in "$C vc" "$R rc" "$R rs" "$S vs"; do
        set -- $p
        ip -n $1 link set $2 up
        ip netns exec $1 ethtool -K $2 tso off gso off gro off tx off >/dev/null 2>&1 || true
    done
    ip -n $C route add default via 10.214.1.254
    ip -n $C -6 route add default via fd00:214:1::fe
    ip -n $S route add default via 10.214.2.254
    ip -n $S -6 route add default via fd00:214:2::fe
    ip netns exec $R sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
    ip netns exec $C sysctl -qw net.ipv4.ip_no_pmtu_disc=1
    sleep 1
}

# A VXLAN tunnel (VNI 42, UDP 4789) between the client and the server across the router:
# client underlay address, server underlay address, inner client and server addresses, extra
# options. Inner MTU 1400, so outer packets (1450 bytes over IPv4, 1470 over IPv6) exceed the
# small link. (VXLAN is the tunnel this lab's kernel has; GRE and IP-in-IP are not built in.)
tunnel() {
    local lc=$1 ls=$2 ic=$3 is=$4 extra=$5
    ip -n $C link add encfvx type vxlan id 42 local $lc remote $ls dstport 4789 $extra
    ip -n $S link add encfvx type vxlan id 42 local $ls remote $lc dstport 4789 $extra
    ip -n $C link set encfvx address 02:00:0a:d7:00:01 mtu 1400 up
    ip -n $S link set encfvx address 02:00:0a:d7:00:02 mtu 1400 up
    ip -n $C addr add $ic/30 dev encfvx
    ip -n $S addr add $is/30 dev encfvx
    ip -n $C neigh replace $is lladdr 02:00:0a:d7:00:02 dev encfvx nud permanent
    ip -n $S neigh replace $ic lladdr 02:00:0a:d7:00:01 dev encfvx nud permanent
    ip netns exec $C ethtool -K encfvx tso off gso off gro off tx off >/dev/null 2>&1 || true
    ip netns exec $S ethtool -K encfvx tso off gso off gro off tx off >/dev/null 2>&1 || true
}

# Run the exchange against SERVER_ADDR, recording on vs into OUT/NAME.pcap.
exchange() {
    local name=$1 server=$2
    ip netns exec $S tcpdump -i vs -w "$OUT/$name.pcap" -U --immediate-mode -s 0 \
        'ip or ip6' >/dev/null 2>&1 &
    local cap=$!
    sleep 1
    ip netns exec $S "$PY" - <<EOF &
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("$server", 5000)); s.listen(1)
c, _ = s.accept()
got = b""
while len(got) < 4000:
    b = c.recv(65536)
    if not b: break
    got += b
c.sendall(b"r" * 100)
c.recv(10)
c.close()
EOF
    local srv=$!
    sleep 0.5
    ip netns exec $C "$PY" - <<EOF
import socket, time
s = socket.create_connection(("$server", 5000))
s.sendall(b"q" * 4000)
got = b""
while len(got) < 100:
    got += s.recv(100)
time.sleep(0.1)
s.close()
EOF
    wait $srv || true
    sleep 1
    kill $cap; wait $cap 2>/dev/null || true
    echo "$name: $(tcpdump -nn -r "$OUT/$name.pcap" 2>/dev/null | wc -l) packets"
}

lab 700
exchange v4-router 10.214.2.1

lab 700
tunnel 10.214.1.1 10.214.2.1 10.215.0.1 10.215.0.2 "df unset"
exchange v4-vxlan 10.215.0.2

# IPv6 needs links of at least 1280 bytes: the small link is 1280 here. This lab's kernel
# has no IPv6 tunnel that fragments its outer packets (VXLAN lowers the inner path MTU
# instead), so the tunnel is GTP-U in user space (scripts/gtpu_tun.py over a TUN device): its
# UDP datagrams are fragmented by the client's kernel once it has learnt the path MTU.
lab 1280
for n in "$C 10.216.0.1 fd00:214:1::1 fd00:214:2::1" "$S 10.216.0.2 fd00:214:2::1 fd00:214:1::1"; do
    set -- $n
    ip -n $1 tuntap add dev encftun mode tun
    ip -n $1 addr add $2/30 dev encftun
    ip -n $1 link set encftun mtu 1400 up
    ip netns exec $1 "$PY" "$HERE/gtpu_tun.py" encftun $3 $4 &
    TUNS="${TUNS:-} $!"
done
sleep 1
# The first datagram over 1280 bytes draws a Packet Too Big from the router.
ip netns exec $C ping -c 2 -s 1300 10.216.0.2 >/dev/null 2>&1 || true
exchange v6-gtpu 10.216.0.2
kill $TUNS 2>/dev/null || true
