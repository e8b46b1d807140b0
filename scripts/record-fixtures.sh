#!/usr/bin/env bash
# Record the real-kernel TCP fixtures under fixtures/ (one pcap per scenario).
#
#   sudo scripts/record-fixtures.sh [OUTDIR] [SCENARIO ...]
#
# OUTDIR defaults to fixtures/ next to this script; with SCENARIO names only those are
# recorded (names: see SCENARIOS below).  Needs root, iproute2, tcpdump, ethtool, python3.
# The cable-pull fixtures (ARP/ND/ICMP evidence, middleboxes, stuck closes, SYN give-up,
# RST injection) have their own script: scripts/record-cable-fixtures.sh.
#
# The lab (scripts/fixture-lab.sh, shared with record-cable-fixtures.sh), rebuilt from scratch
# for every scenario:
#
#   netns tlfx-cli                 netns tlfx-br                   netns tlfx-srv
#   vcli 10.201.0.1/24  <--veth-->  bcli -[ br0 ]- bsrv  <--veth-->  vsrv 10.201.0.2/24
#        fd00:201::1/64                                                  fd00:201::2/64
#
# * tcpdump records on bcli, the client-side bridge port, with the filter "tcp".
# * "Pulling the cable" = `ip -n tlfx-br link set bsrv down`: the server's (far) bridge port.
#   The client's own link stays up, so its retransmissions and probes still reach bcli.
# * Neighbour entries pinned, offloads off, per-namespace TCP sysctls (tcp_retries2=5,
#   tcp_syn_retries=3, tcp_orphan_retries=3, tcp_fin_timeout=5): see scripts/fixture-lab.sh.
#   net.ipv4.tcp_syn_linear_timeouts keeps its default (4: the first SYN retransmissions are
#   1 s apart on Linux >= 6.5).  Keepalive timers are socket options (TCP_KEEPIDLE=2,
#   TCP_KEEPINTVL=1, TCP_KEEPCNT=3), set in tcp_scenarios.py.
# * simultaneous-close only: a tbf qdisc (rate 20kbit, burst 1514 bytes) on vcli and vsrv.
#   Each side sends one full-sized segment (1514-byte frame: it empties the bucket) and calls
#   shutdown(SHUT_WR) at the same agreed wall-clock instant.  The FIN is built by TCP at
#   once, with the ACK number of that moment, and then waits ~26 ms in the qdisc for tokens,
#   so each FIN leaves before the peer's FIN can have arrived: the FINs cross on the wire.
#   (There is no netem on this kernel; tbf is the delay.)
# * simultaneous-open only: the same tbf; both hosts bind a fixed port and, at an agreed
#   instant, first send a 1472-byte UDP datagram (to a UDP socket of the peer, so no ICMP;
#   not in the capture, whose filter is "tcp") that empties the bucket, then connect() to
#   each other: each SYN waits ~30 ms in its qdisc, so both SYNs are sent before either
#   arrives and the SYNs cross.
#
# Only loopback and the addresses above, inside namespaces this script creates, are used.

set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-$HERE/../fixtures}"
shift || true
PY="${PYTHON:-$(command -v python3)}"
HELPER="$HERE/tcp_scenarios.py"

# LAB_PREFIX renames the namespaces (parallel runs).
NS_C=${LAB_PREFIX:-tlfx}-cli
NS_S=${LAB_PREFIX:-tlfx}-srv
NS_B=${LAB_PREFIX:-tlfx}-br
NAMESPACES=("$NS_C" "$NS_S" "$NS_B")
C4=10.201.0.1
S4=10.201.0.2
C6=fd00:201::1
S6=fd00:201::2
MAC_C=02:00:0a:c9:00:01
MAC_S=02:00:0a:c9:00:02
PULL="ip -n $NS_B link set bsrv down"
REQUIRED_TOOLS=(ip tcpdump ethtool tc)

# Indexes fix the ports (client 40000 + 100*i, server 5000 + i): append new scenarios.
SCENARIOS=(graceful-client graceful-client-v6 graceful-server simultaneous-close half-close
    half-close-pending abort-linger0 unread-data rst-after-fin closed-port syn-blackhole
    keepalive-answered keepalive-timeout bulk-cable-pull zero-window many-short
    simultaneous-open)

CROSS_TRIES=0

# shellcheck source=scripts/fixture-lab.sh
source "$HERE/fixture-lab.sh"

add_tbf() { # a slow qdisc on both hosts: see simultaneous-close / simultaneous-open above
    local dev ns
    for ns in $NS_C $NS_S; do
        dev=vcli; [[ $ns == "$NS_S" ]] && dev=vsrv
        tc -n "$ns" qdisc add dev "$dev" root tbf rate 20kbit burst 1514 limit 30000
    done
}

# scenario NAME: client port = 40000 + 100*index, server port = 5000 + index.
record() { # NAME INDEX
    local name=$1 idx=$2
    local cport=$((40000 + 100 * idx)) sport=$((5000 + idx))
    local saddr=$S4 snap=262144 tail=1.0
    local t0=$SECONDS
    bridge_lab 0
    case $name in
        *-v6) saddr=$S6 ;;
        bulk-cable-pull | zero-window) snap=128 ;;
    esac
    local caddr=$C4
    [[ $saddr == "$S6" ]] && caddr=$C6
    say "== $name: client [$caddr]:$cport -> server [$saddr]:$sport"
    say "   recording $OUT/$name.pcap (tcpdump on bcli, filter tcp, snaplen $snap)"
    cap_start "$name" "$NS_B" bcli "$snap" tcp
    case $name in
        closed-port)
            cli_run "$name" "$saddr" "$sport" "$cport" 10 ;;
        syn-blackhole)
            cli_run "$name" "$saddr" "$sport" "$cport" 30
            tail=1.0 ;;
        simultaneous-close)
            add_tbf
            srv_start "$name" "$saddr" "$sport"
            cli_run "$name" "$saddr" "$sport" "$cport" 20
            srv_wait 5 ;;
        simultaneous-open)
            add_tbf
            TL_AT=$(date +%s.%N | awk '{printf "%.6f", $1 + 1.5}')
            export TL_AT
            srv_start "$name" "$saddr" "$sport" --peer "$C4" --cport "$cport"
            cli_run "$name" "$saddr" "$sport" "$cport" 20 --local "$C4"
            srv_wait 5
            unset TL_AT ;;
        half-close-pending)
            srv_start "$name" "$saddr" "$sport"
            cli_run "$name" "$saddr" "$sport" "$cport" 20 ;;
        keepalive-timeout | bulk-cable-pull)
            srv_start "$name" "$saddr" "$sport"
            cli_run "$name" "$saddr" "$sport" "$cport" 40
            tail=1.5 ;;
        *)
            srv_start "$name" "$saddr" "$sport"
            cli_run "$name" "$saddr" "$sport" "$cport" 30
            srv_wait 5 ;;
    esac
    cap_stop "$tail"
    teardown
    local n
    local check=""
    case $name in
        simultaneous-close) check=fins-crossed ;;
        simultaneous-open) check=syns-crossed ;;
    esac
    if [[ -n $check ]] && ! "$PY" "$HELPER" "$check" "$OUT/$name.pcap"; then
        CROSS_TRIES=$((CROSS_TRIES + 1))
        if ((CROSS_TRIES < 3)); then
            say "   $check failed; recording again"
            record "$name" "$idx"
            return
        fi
        say "   WARNING: $check failed 3 times; $name.pcap does NOT show what it should"
    fi
    CROSS_TRIES=0
    n=$(tcpdump -nn -r "$OUT/$name.pcap" 2>/dev/null | wc -l)
    say "== $name: $n packets, $((SECONDS - t0)) s"
}

lab_main "$@"
