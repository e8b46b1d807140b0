# The network-namespace lab that scripts/record-fixtures.sh and scripts/record-cable-fixtures.sh
# record their fixtures in: sourced by both, never run by itself.
#
# The sourcing script sets, before calling lab_main "$@":
#   OUT PY HELPER           the output folder, the python interpreter, the scenario program
#                           (`HELPER server|client SCENARIO --addr A --port P ...`)
#   NAMESPACES=(...)        every namespace it may create (all torn down between scenarios)
#   NS_C NS_S NS_B          the client, server and bridge namespaces of bridge_lab
#   C4 S4 C6 S6 MAC_C MAC_S the client's and server's addresses on the bridge
#   PULL [PLUG]             the commands the client runs to pull the cable and put it back
#   REQUIRED_TOOLS=(...)    commands that must exist
#   SCENARIOS=(...)         scenario names; record NAME INDEX records one (INDEX from 1)
#
# Conventions of the lab (both scripts): offloads (TSO/GSO/GRO/tx checksum) off on every veth
# end, so the capture shows wire-sized segments with correct checksums; per-namespace TCP
# sysctls on both hosts (host_sysctls); tcpdump in --immediate-mode (without it, packets still
# in the TPACKET_V3 block when tcpdump is stopped are lost). Only addresses inside namespaces
# the scripts create are used.

WORK=""
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
    for ns in "${NAMESPACES[@]}"; do
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

# net.ipv4.tcp_* also governs IPv6 TCP:
#   tcp_retries2=5       established data gives up after ~12.6 s (M(5)=63*0.2 s)
#   tcp_syn_retries=3    SYN: 3 retransmissions, then ETIMEDOUT (no RST)
#   tcp_orphan_retries=3 orphaned FINs give up sooner
#   tcp_fin_timeout=5    orphaned FIN-WAIT-2 lifetime
host_sysctls() { # NS
    ip netns exec "$1" sysctl -qw \
        net.ipv4.tcp_retries2=5 \
        net.ipv4.tcp_syn_retries=3 \
        net.ipv4.tcp_orphan_retries=3 \
        net.ipv4.tcp_fin_timeout=5 \
        net.ipv6.conf.all.accept_dad=0 \
        net.ipv6.conf.default.accept_dad=0 \
        net.ipv6.conf.all.router_solicitations=0 \
        net.ipv6.conf.default.router_solicitations=0
}

offloads_off() { # NS DEV
    ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off >/dev/null 2>&1 || true
}

wait_up() { # NS DEV ...: until every link is up (5 s at most)
    local i ns dev ok
    for i in $(seq 50); do
        ok=1
        local args=("$@")
        while ((${#args[@]} >= 2)); do
            ns=${args[0]} dev=${args[1]}
            args=("${args[@]:2}")
            ip -n "$ns" -br link show "$dev" | grep -q ' UP ' || ok=""
        done
        [[ -n $ok ]] && return 0
        sleep 0.1
    done
}

probe_refused() { # ADDR...: a connect() to a closed port must be refused (no ping here)
    ip netns exec "$NS_C" "$PY" -c '
import socket, sys
for a in sys.argv[1:]:
    s = socket.socket(socket.AF_INET6 if ":" in a else socket.AF_INET)
    s.settimeout(3)
    try:
        s.connect((a, 9))
    except ConnectionRefusedError:
        continue
    sys.exit("lab: no answer from " + a)
' "$@"
}

# The bridge lab, rebuilt from scratch for every scenario (so no TIME-WAIT socket, qdisc or
# sysctl leaks from one scenario into the next):
#
#   netns NS_C              netns NS_B                   netns NS_S
#   vcli C4, C6  <--veth-->  bcli -[ br0 ]- bsrv  <--veth-->  vsrv S4, S6
#
# Both hosts pin their neighbour entries (nud permanent, fixed MACs): no ARP/ND at all, and the
# client keeps transmitting after a pull instead of stalling in neighbour resolution. With
# DYNAMIC=1 the client resolves the server itself, with short neighbour timers
# (base_reachable_time 1 s, delay_first_probe 1 s, 3 unicast then 3 broadcast probes 1 s apart).
bridge_lab() { # DYNAMIC(0|1)
    local dynamic=$1
    teardown
    local ns
    for ns in "$NS_C" "$NS_S" "$NS_B"; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
    ip -n "$NS_B" link add br0 type bridge stp_state 0 forward_delay 0
    ip netns exec "$NS_B" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    ip -n "$NS_B" link add bcli type veth peer name vcli netns "$NS_C"
    ip -n "$NS_B" link add bsrv type veth peer name vsrv netns "$NS_S"
    ip -n "$NS_B" link set bcli master br0
    ip -n "$NS_B" link set bsrv master br0
    ip -n "$NS_C" link set vcli address "$MAC_C"
    ip -n "$NS_S" link set vsrv address "$MAC_S"
    local side dev addr4 addr6 peer4 peer6 peermac
    for side in c s; do
        if [[ $side == c ]]; then
            ns=$NS_C dev=vcli addr4=$C4 addr6=$C6 peer4=$S4 peer6=$S6 peermac=$MAC_S
        else
            ns=$NS_S dev=vsrv addr4=$S4 addr6=$S6 peer4=$C4 peer6=$C6 peermac=$MAC_C
        fi
        host_sysctls "$ns"
        offloads_off "$ns" "$dev"
        ip -n "$ns" addr add "$addr4/24" dev "$dev"
        ip -n "$ns" -6 addr add "$addr6/64" dev "$dev" nodad
        ip -n "$ns" link set "$dev" up
        if [[ $dynamic == 1 && $side == c ]]; then
            local fam
            for fam in ipv4 ipv6; do
                ip netns exec "$ns" sysctl -qw \
                    net.$fam.neigh.$dev.base_reachable_time_ms=1000 \
                    net.$fam.neigh.$dev.delay_first_probe_time=1 \
                    net.$fam.neigh.$dev.retrans_time_ms=1000 \
                    net.$fam.neigh.$dev.ucast_solicit=3 \
                    net.$fam.neigh.$dev.mcast_solicit=3
            done
        else
            ip -n "$ns" neigh replace "$peer4" lladdr "$peermac" dev "$dev" nud permanent
            ip -n "$ns" -6 neigh replace "$peer6" lladdr "$peermac" dev "$dev" nud permanent
        fi
    done
    for dev in bcli bsrv; do
        offloads_off "$NS_B" "$dev"
        ip -n "$NS_B" link set "$dev" up
    done
    ip -n "$NS_B" link set br0 up
    wait_up "$NS_B" bsrv "$NS_B" bcli "$NS_C" vcli "$NS_S" vsrv
    # Connectivity check before the capture starts, over IPv4 and IPv6; it also teaches the
    # bridge both MACs.
    probe_refused "$S4" "$S6"
}

cap_start() { # NAME NS DEV SNAPLEN FILTER
    CAP_NAME=$1
    rm -f "$OUT/$1.pcap"
    ip netns exec "$2" tcpdump -i "$3" -s "$4" --immediate-mode -U -w "$OUT/$1.pcap" "$5" \
        2>"$WORK/tcpdump.err" &
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
    ip netns exec "$NS_S" "$PY" "$HELPER" server "$1" --addr "$2" --port "$3" --ready "$WORK/ready" "${@:4}" &
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

# The client changes the lab at exact moments between two socket calls through commands in
# its environment: TL_PULL (pull the cable), TL_PLUG (put it back), TL_KILL (SIGKILL the server).
cli_run() { # SCENARIO ADDR PORT CPORT TIMEOUT [EXTRA ARGS...]
    # In the background + wait, so that an INT/TERM trap runs at once.
    timeout "$5" ip netns exec "$NS_C" env TL_PULL="$PULL" TL_PLUG="${PLUG:-}" \
        TL_KILL="kill -KILL ${SRV_PID:-0}" \
        "$PY" "$HELPER" client "$1" --addr "$2" --port "$3" --cport "$4" "${@:6}" &
    CLI_PID=$!
    local rc=0
    wait "$CLI_PID" || rc=$?
    CLI_PID=""
    ((rc == 0)) || say "  (client exited with status $rc)"
}

lab_main() { # [SCENARIO ...]: all of SCENARIOS when none is named
    [[ $(id -u) == 0 ]] || { say "run as root (sudo $0)"; exit 2; }
    local t
    for t in "${REQUIRED_TOOLS[@]}" "$PY"; do
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
