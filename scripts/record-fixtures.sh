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
# The lab, rebuilt from scratch for every scenario (so no TIME-WAIT socket, qdisc or sysctl
# leaks from one scenario into the next):
#
#   netns tlfx-cli                 netns tlfx-br                   netns tlfx-srv
#   vcli 10.201.0.1/24  <--veth-->  bcli -[ br0 ]- bsrv  <--veth-->  vsrv 10.201.0.2/24
#        fd00:201::1/64                                                  fd00:201::2/64
#
# * tcpdump records on bcli, the client-side bridge port, with the filter "tcp", in
#   --immediate-mode (without it, packets still in the TPACKET_V3 block when tcpdump is
#   stopped are lost).
# * "Pulling the cable" = `ip -n tlfx-br link set bsrv down`: the server's (far) bridge port.
#   The client's own link stays up, so its retransmissions and probes still reach bcli.
# * Both hosts pin their neighbour entries (nud permanent, fixed MACs): no ARP/ND at all, and
#   the client keeps transmitting after the pull instead of stalling in neighbour resolution.
# * Offloads (TSO/GSO/GRO/tx checksum) are off on every veth end, so the capture shows
#   wire-sized segments with correct checksums.
# * Per-namespace sysctls, on both hosts (net.ipv4.tcp_* also governs IPv6 TCP):
#     net.ipv4.tcp_retries2=5       established data gives up after ~12.6 s (M(5)=63*0.2 s)
#     net.ipv4.tcp_syn_retries=3    SYN: 3 retransmissions, then ETIMEDOUT (no RST)
#     net.ipv4.tcp_orphan_retries=3 orphaned FINs give up sooner
#     net.ipv4.tcp_fin_timeout=5    orphaned FIN-WAIT-2 lifetime
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

NS_C=tlfx-cli
NS_S=tlfx-srv
NS_B=tlfx-br
C4=10.201.0.1
S4=10.201.0.2
C6=fd00:201::1
S6=fd00:201::2
MAC_C=02:00:0a:c9:00:01
MAC_S=02:00:0a:c9:00:02
PULL="ip -n $NS_B link set bsrv down"

# Indexes fix the ports (client 40000 + 100*i, server 5000 + i): append new scenarios.
SCENARIOS=(graceful-client graceful-client-v6 graceful-server simultaneous-close half-close
    half-close-pending abort-linger0 unread-data rst-after-fin closed-port syn-blackhole
    keepalive-answered keepalive-timeout bulk-cable-pull zero-window many-short
    simultaneous-open)

WORK=""
CROSS_TRIES=0
CAP_NAME=""
CAP_PID=""
SRV_PID=""
CLI_PID=""

say() { printf '%s\n' "$*"; }

teardown() {
    if [[ -n "$CLI_PID" ]]; then kill "$CLI_PID" 2>/dev/null || true; wait "$CLI_PID" 2>/dev/null || true; CLI_PID=""; fi
    if [[ -n "$SRV_PID" ]]; then kill "$SRV_PID" 2>/dev/null || true; wait "$SRV_PID" 2>/dev/null || true; SRV_PID=""; fi
    if [[ -n "$CAP_PID" ]]; then kill -INT "$CAP_PID" 2>/dev/null || true; wait "$CAP_PID" 2>/dev/null || true; CAP_PID=""; fi
    local ns
    for ns in $NS_C $NS_S $NS_B; do
        if ip netns list | grep -qw "$ns"; then
            # Kill whatever still runs inside (only processes of our own namespaces).
            ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
            ip netns del "$ns" 2>/dev/null || true
        fi
    done
}

on_exit() {
    local rc=$?
    teardown
    [[ -n "$WORK" && -d "$WORK" ]] && rm -rf "$WORK"
    exit $rc
}

lab_up() {
    teardown
    ip netns add $NS_C
    ip netns add $NS_S
    ip netns add $NS_B
    local ns
    for ns in $NS_C $NS_S $NS_B; do ip -n "$ns" link set lo up; done

    ip -n $NS_B link add br0 type bridge stp_state 0 forward_delay 0
    ip netns exec $NS_B sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip -n $NS_B link add bcli type veth peer name vcli netns $NS_C
    ip -n $NS_B link add bsrv type veth peer name vsrv netns $NS_S
    ip -n $NS_B link set bcli master br0
    ip -n $NS_B link set bsrv master br0
    ip -n $NS_C link set vcli address $MAC_C
    ip -n $NS_S link set vsrv address $MAC_S

    local side dev addr4 addr6 peer4 peer6 peermac
    for side in c s; do
        if [[ $side == c ]]; then
            ns=$NS_C dev=vcli addr4=$C4 addr6=$C6 peer4=$S4 peer6=$S6 peermac=$MAC_S
        else
            ns=$NS_S dev=vsrv addr4=$S4 addr6=$S6 peer4=$C4 peer6=$C6 peermac=$MAC_C
        fi
        ip netns exec "$ns" sysctl -qw \
            net.ipv4.tcp_retries2=5 \
            net.ipv4.tcp_syn_retries=3 \
            net.ipv4.tcp_orphan_retries=3 \
            net.ipv4.tcp_fin_timeout=5 \
            net.ipv6.conf.all.accept_dad=0 \
            net.ipv6.conf.default.accept_dad=0 \
            net.ipv6.conf.all.router_solicitations=0 \
            net.ipv6.conf.default.router_solicitations=0
        ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off >/dev/null 2>&1 || true
        ip -n "$ns" addr add "$addr4/24" dev "$dev"
        ip -n "$ns" -6 addr add "$addr6/64" dev "$dev" nodad
        ip -n "$ns" link set "$dev" up
        ip -n "$ns" neigh replace "$peer4" lladdr "$peermac" dev "$dev" nud permanent
        ip -n "$ns" -6 neigh replace "$peer6" lladdr "$peermac" dev "$dev" nud permanent
    done
    for dev in bcli bsrv; do
        ip netns exec $NS_B ethtool -K "$dev" tso off gso off gro off tx off >/dev/null 2>&1 || true
        ip -n $NS_B link set "$dev" up
    done
    ip -n $NS_B link set br0 up
    # The bridge learns both MACs from the first frames; wait until every link is up.
    local i
    for i in $(seq 50); do
        if ip -n $NS_B -br link show bsrv | grep -q ' UP ' &&
            ip -n $NS_B -br link show bcli | grep -q ' UP ' &&
            ip -n $NS_C -br link show vcli | grep -q ' UP ' &&
            ip -n $NS_S -br link show vsrv | grep -q ' UP '; then
            break
        fi
        sleep 0.1
    done
    # Connectivity check before the capture starts (no ping here): a connect() to a closed
    # port must be refused, over IPv4 and IPv6.  It also teaches the bridge both MACs.
    ip netns exec $NS_C "$PY" -c '
import socket, sys
for a in sys.argv[1:]:
    s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET)
    s.settimeout(2)
    try:
        s.connect((a, 9))
    except ConnectionRefusedError:
        continue
    sys.exit("lab: no answer from " + a)
' $S4 $S6
}

add_tbf() { # a slow qdisc on both hosts: see simultaneous-close / simultaneous-open above
    local dev ns
    for ns in $NS_C $NS_S; do
        dev=vcli; [[ $ns == "$NS_S" ]] && dev=vsrv
        tc -n "$ns" qdisc add dev "$dev" root tbf rate 20kbit burst 1514 limit 30000
    done
}

cap_start() { # NAME SNAPLEN
    local name=$1 snap=$2
    CAP_NAME=$name
    rm -f "$OUT/$name.pcap"
    ip netns exec $NS_B tcpdump -i bcli -s "$snap" --immediate-mode -U -w "$OUT/$name.pcap" tcp 2>"$WORK/tcpdump.err" &
    CAP_PID=$!
    local i
    for i in $(seq 100); do
        if grep -q 'listening on' "$WORK/tcpdump.err" 2>/dev/null; then
            sleep 0.1
            return 0
        fi
        sleep 0.05
    done
    say "tcpdump did not start:"; cat "$WORK/tcpdump.err"; exit 1
}

cap_stop() { # TAIL_SECONDS
    sleep "$1"
    kill -INT "$CAP_PID"
    wait "$CAP_PID" 2>/dev/null || true
    CAP_PID=""
    chown --reference="$OUT" "$OUT/$CAP_NAME.pcap" 2>/dev/null || true
    grep -E 'packets (captured|received by filter|dropped by kernel)' "$WORK/tcpdump.err" | sed 's/^/  tcpdump: /'
}

srv_start() { # SCENARIO ADDR PORT [EXTRA ARGS...]
    rm -f "$WORK/ready"
    ip netns exec $NS_S "$PY" "$HELPER" server "$1" --addr "$2" --port "$3" --ready "$WORK/ready" "${@:4}" &
    SRV_PID=$!
    local i
    for i in $(seq 100); do
        [[ -f "$WORK/ready" ]] && return 0
        sleep 0.05
    done
    say "server did not start"; exit 1
}

srv_wait() { # TIMEOUT
    local i
    for i in $(seq $(($1 * 10))); do
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill "$SRV_PID" 2>/dev/null || true
    wait "$SRV_PID" 2>/dev/null || true
    SRV_PID=""
}

cli_run() { # SCENARIO ADDR PORT CPORT TIMEOUT [EXTRA ARGS...]
    # In the background + wait, so that an INT/TERM trap runs at once.
    timeout "$5" ip netns exec $NS_C env TL_PULL="$PULL" \
        "$PY" "$HELPER" client "$1" --addr "$2" --port "$3" --cport "$4" "${@:6}" &
    CLI_PID=$!
    local rc=0
    wait "$CLI_PID" || rc=$?
    CLI_PID=""
    ((rc == 0)) || say "  (client exited with status $rc)"
}

# scenario NAME: client port = 40000 + 100*index, server port = 5000 + index.
record() { # NAME INDEX
    local name=$1 idx=$2
    local cport=$((40000 + 100 * idx)) sport=$((5000 + idx))
    local saddr=$S4 snap=262144 tail=1.0
    local t0=$SECONDS
    lab_up
    case $name in
        *-v6) saddr=$S6 ;;
        bulk-cable-pull | zero-window) snap=128 ;;
    esac
    local caddr=$C4
    [[ $saddr == "$S6" ]] && caddr=$C6
    say "== $name: client [$caddr]:$cport -> server [$saddr]:$sport"
    say "   recording $OUT/$name.pcap (tcpdump on bcli, filter tcp, snaplen $snap)"
    cap_start "$name" "$snap"
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

main() {
    [[ $(id -u) == 0 ]] || { say "run as root (sudo $0)"; exit 2; }
    local t
    for t in ip tcpdump ethtool tc "$PY"; do
        command -v "$t" >/dev/null || { say "missing: $t"; exit 2; }
    done
    mkdir -p "$OUT"
    OUT="$(cd "$OUT" && pwd)"
    WORK="$(mktemp -d)"
    trap on_exit EXIT
    trap 'exit 130' INT TERM
    local want=("$@")
    [[ ${#want[@]} -gt 0 ]] || want=("${SCENARIOS[@]}")
    local start=$SECONDS name i found
    for name in "${want[@]}"; do
        found=""
        for i in "${!SCENARIOS[@]}"; do
            if [[ ${SCENARIOS[$i]} == "$name" ]]; then
                found=1
                record "$name" $((i + 1))
            fi
        done
        [[ -n $found ]] || { say "unknown scenario: $name"; exit 2; }
    done
    say "done: ${#want[@]} fixture(s) in $((SECONDS - start)) s"
}

main "$@"
