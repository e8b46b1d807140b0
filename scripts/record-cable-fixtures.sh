#!/usr/bin/env bash
# Record the "life of a pulled cable" fixtures under fixtures/ (docs/cable-pull.md): reachability
# evidence (ARP, neighbour discovery, ICMP), outcomes after a pull, middleboxes that forget idle
# connections, stuck closes, the SYN give-up and RST acceptance.
#
#   sudo scripts/record-cable-fixtures.sh [OUTDIR] [SCENARIO ...]
#
# Needs root, iproute2, tcpdump, ethtool, nftables, python3 and python3-scapy (rst-injection).
# The same lab conventions as scripts/record-fixtures.sh (offloads off, tcp_retries2=5,
# tcp_fin_timeout=5), with namespaces prefixed "cbl-" so both scripts can run side by side.
#
# Bridge lab (cable-*, close-wait-stuck, syn-give-up, rst-injection; cable-give-up):
#
#   netns cbl-cli                  netns cbl-br                    netns cbl-srv
#   vcli 10.203.0.1/24  <--veth-->  bcli -[ br0 ]- bsrv  <--veth-->  vsrv 10.203.0.2/24
#        fd00:203::1/64                                                  fd00:203::2/64
#
#   tcpdump records on bcli ("tcp or arp or icmp or icmp6").  Pulling the cable = bsrv down,
#   putting it back = bsrv up.  Neighbour entries are pinned (no ARP), except for
#   cable-pull-arp / cable-pull-nd, where the client resolves the server dynamically with short
#   neighbour timers (base_reachable_time 1 s, delay_first_probe 1 s, 3 unicast then 3
#   broadcast probes 1 s apart): after the pull its entry goes STALE, PROBE, FAILED, and every
#   retransmission then waits behind an unanswered ARP request / neighbour solicitation.
#
# Firewall lab (middlebox-idle-drop / -rst / -icmp, middlebox-reset):
#
#   netns cbl-cli                    netns cbl-fw                       netns cbl-srv
#   vcli 10.203.1.1/24  <--veth-->  fcli 10.203.1.254 | fsrv 10.203.2.254  <--veth-->  vsrv 10.203.2.2/24
#
#   cbl-fw routes and masquerades, with connection tracking: nf_conntrack_tcp_timeout_established=4
#   (a connection idle 4 s is forgotten) and nf_conntrack_tcp_loose=0 (a forgotten connection's
#   next segment is not picked up again: it is "invalid").  nftables then drops it, answers it
#   with a TCP reset, or with an ICMP administratively-prohibited, by scenario.  tcpdump records
#   on fcli, the client-side link.
#
# Only addresses inside namespaces this script creates are used.

set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-$HERE/../fixtures}"
shift || true
# The system python carries python3-scapy (rst-injection).
PY="${PYTHON:-/usr/bin/python3}"
HELPER="$HERE/cable_scenarios.py"

NS_C=cbl-cli
NS_S=cbl-srv
NS_B=cbl-br
NS_F=cbl-fw
C4=10.203.0.1
S4=10.203.0.2
C6=fd00:203::1
S6=fd00:203::2
FC4=10.203.1.1
FS4=10.203.2.2
MAC_C=02:00:0a:cb:00:01
MAC_S=02:00:0a:cb:00:02
PULL="ip -n $NS_B link set bsrv down"
PLUG="ip -n $NS_B link set bsrv up"

# Ports: client 45000 + 100*i, server 6000 + i (append new scenarios).
SCENARIOS=(cable-pull-arp cable-pull-nd cable-resume cable-peer-reset middlebox-idle-drop
    middlebox-idle-rst middlebox-idle-icmp close-wait-stuck syn-give-up rst-injection
    middlebox-reset cable-give-up)

WORK=""
CAP_PID=""
SRV_PID=""
CLI_PID=""
CAP_NAME=""

say() { printf '%s\n' "$*"; }

teardown() {
    if [[ -n "$CLI_PID" ]]; then kill "$CLI_PID" 2>/dev/null || true; wait "$CLI_PID" 2>/dev/null || true; CLI_PID=""; fi
    if [[ -n "$SRV_PID" ]]; then kill "$SRV_PID" 2>/dev/null || true; wait "$SRV_PID" 2>/dev/null || true; SRV_PID=""; fi
    if [[ -n "$CAP_PID" ]]; then kill -INT "$CAP_PID" 2>/dev/null || true; wait "$CAP_PID" 2>/dev/null || true; CAP_PID=""; fi
    local ns
    for ns in $NS_C $NS_S $NS_B $NS_F; do
        if ip netns list | grep -qw "$ns"; then
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

wait_up() { # NS DEV ...
    local i ns dev ok
    for i in $(seq 50); do
        ok=1
        while (($# >= 2)); do
            ns=$1 dev=$2
            shift 2
            ip -n "$ns" -br link show "$dev" | grep -q ' UP ' || ok=""
        done
        [[ -n $ok ]] && return 0
        sleep 0.1
    done
}

bridge_lab() { # DYNAMIC(0|1)
    local dynamic=$1
    teardown
    local ns
    for ns in $NS_C $NS_S $NS_B; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
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
        host_sysctls "$ns"
        ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off tx off >/dev/null 2>&1 || true
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
        ip netns exec $NS_B ethtool -K "$dev" tso off gso off gro off tx off >/dev/null 2>&1 || true
        ip -n $NS_B link set "$dev" up
    done
    ip -n $NS_B link set br0 up
    wait_up $NS_B bsrv $NS_B bcli $NS_C vcli $NS_S vsrv
    probe_refused "$S4" "$S6"
}

fw_lab() { # POLICY: drop | rst | icmp
    local policy=$1
    teardown
    local ns
    for ns in $NS_C $NS_S $NS_F; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
    ip -n $NS_F link add fcli type veth peer name vcli netns $NS_C
    ip -n $NS_F link add fsrv type veth peer name vsrv netns $NS_S
    host_sysctls $NS_C
    host_sysctls $NS_S
    local dev
    for dev in fcli fsrv; do ip netns exec $NS_F ethtool -K "$dev" tso off gso off gro off tx off >/dev/null 2>&1 || true; done
    ip netns exec $NS_C ethtool -K vcli tso off gso off gro off tx off >/dev/null 2>&1 || true
    ip netns exec $NS_S ethtool -K vsrv tso off gso off gro off tx off >/dev/null 2>&1 || true
    ip -n $NS_C addr add $FC4/24 dev vcli
    ip -n $NS_S addr add $FS4/24 dev vsrv
    ip -n $NS_F addr add 10.203.1.254/24 dev fcli
    ip -n $NS_F addr add 10.203.2.254/24 dev fsrv
    ip -n $NS_C link set vcli up
    ip -n $NS_S link set vsrv up
    ip -n $NS_F link set fcli up
    ip -n $NS_F link set fsrv up
    ip -n $NS_C route add default via 10.203.1.254
    ip -n $NS_S route add default via 10.203.2.254
    ip netns exec $NS_F sysctl -qw net.ipv4.ip_forward=1
    local verdict
    case $policy in
        drop) verdict="drop" ;;
        rst) verdict="reject with tcp reset" ;;
        icmp) verdict="reject with icmp type admin-prohibited" ;;
    esac
    ip netns exec $NS_F nft -f - <<EOF
table ip cbl {
    chain filter_forward {
        type filter hook forward priority 0; policy accept;
        ct state established,related accept
        ct state new tcp flags & (syn | ack | rst | fin) == syn accept
        ip protocol tcp $verdict
    }
    chain postrouting_nat {
        type nat hook postrouting priority 100;
        oifname "fsrv" masquerade
    }
}
EOF
    # Connection tracking is loaded by the table above; now its per-namespace timeouts.
    ip netns exec $NS_F sysctl -qw \
        net.netfilter.nf_conntrack_tcp_timeout_established=4 \
        net.netfilter.nf_conntrack_tcp_loose=0
    wait_up $NS_F fcli $NS_F fsrv $NS_C vcli $NS_S vsrv
    probe_refused "$FS4"
}

probe_refused() { # ADDR...: a connect() to a closed port must be refused (no ping here)
    ip netns exec $NS_C "$PY" -c '
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

cap_start() { # NAME NS DEV
    CAP_NAME=$1
    rm -f "$OUT/$1.pcap"
    ip netns exec "$2" tcpdump -i "$3" -s 262144 --immediate-mode -U -w "$OUT/$1.pcap" \
        'tcp or arp or icmp or icmp6' 2>"$WORK/tcpdump.err" &
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
    grep -E 'packets (captured|dropped by kernel)' "$WORK/tcpdump.err" | sed 's/^/  tcpdump: /'
}

srv_start() { # SCENARIO ADDR PORT
    rm -f "$WORK/ready"
    ip netns exec $NS_S "$PY" "$HELPER" server "$1" --addr "$2" --port "$3" --ready "$WORK/ready" &
    SRV_PID=$!
    local i
    for i in $(seq 100); do
        [[ -f "$WORK/ready" ]] && return 0
        sleep 0.05
    done
    say "server did not start"; exit 1
}

cli_run() { # SCENARIO ADDR PORT CPORT TIMEOUT [EXTRA ARGS...]
    timeout "$5" ip netns exec $NS_C env TL_PULL="$PULL" TL_PLUG="$PLUG" \
        TL_KILL="kill -KILL ${SRV_PID:-0}" \
        "$PY" "$HELPER" client "$1" --addr "$2" --port "$3" --cport "$4" "${@:6}" &
    CLI_PID=$!
    local rc=0
    wait "$CLI_PID" || rc=$?
    CLI_PID=""
    ((rc == 0)) || say "  (client exited with status $rc)"
}

record() { # NAME INDEX
    local name=$1 idx=$2
    local cport=$((45000 + 100 * idx)) sport=$((6000 + idx))
    local t0=$SECONDS tail=1.0
    say "== $name"
    case $name in
        cable-pull-arp)
            bridge_lab 1
            cap_start "$name" $NS_B bcli
            srv_start "$name" $S4 "$sport"
            cli_run "$name" $S4 "$sport" "$cport" 40 ;;
        cable-pull-nd)
            bridge_lab 1
            cap_start "$name" $NS_B bcli
            srv_start "$name" $S6 "$sport"
            cli_run "$name" $S6 "$sport" "$cport" 40 ;;
        cable-resume | cable-peer-reset | rst-injection)
            bridge_lab 0
            cap_start "$name" $NS_B bcli
            srv_start "$name" $S4 "$sport"
            cli_run "$name" $S4 "$sport" "$cport" 30 ;;
        close-wait-stuck)
            bridge_lab 0
            cap_start "$name" $NS_B bcli
            srv_start "$name" $S4 "$sport"
            cli_run "$name" $S4 "$sport" "$cport" 30 ;;
        cable-give-up)
            bridge_lab 0
            cap_start "$name" $NS_B bcli
            srv_start "$name" $S4 "$sport"
            cli_run "$name" $S4 "$sport" "$cport" 40 --out "$OUT/$name.error.json"
            chown --reference="$OUT" "$OUT/$name.error.json" 2>/dev/null || true ;;
        syn-give-up)
            bridge_lab 0
            # A black hole for this port only (the server's port 9 still refuses), and fewer
            # SYN retries in the client's namespace.
            ip netns exec $NS_S nft add table ip cbl
            ip netns exec $NS_S nft add chain ip cbl input_drop '{ type filter hook input priority 0; }'
            ip netns exec $NS_S nft add rule ip cbl input_drop tcp dport "$sport" drop
            ip netns exec $NS_C sysctl -qw net.ipv4.tcp_syn_retries=2
            cap_start "$name" $NS_B bcli
            cli_run "$name" $S4 "$sport" "$cport" 40 --out "$OUT/$name.connect.json"
            chown --reference="$OUT" "$OUT/$name.connect.json" 2>/dev/null || true ;;
        middlebox-idle-*)
            fw_lab "${name#middlebox-idle-}"
            cap_start "$name" $NS_F fcli
            srv_start "$name" $FS4 "$sport"
            cli_run "$name" $FS4 "$sport" "$cport" 40 ;;
        middlebox-reset)
            # The firewall lab answering forgotten connections with its own RST, and a short
            # conntrack timeout for unacknowledged data: the server vanishes (its namespace
            # drops the connection), the client's retransmissions back off until a gap outlasts
            # 2 s, and the firewall resets the next one (TTL 64: one hop less than the server's).
            fw_lab rst
            ip netns exec $NS_F sysctl -qw \
                net.netfilter.nf_conntrack_tcp_timeout_unacknowledged=2 \
                net.netfilter.nf_conntrack_tcp_timeout_max_retrans=2
            ip netns exec $NS_S nft add table ip cbl
            ip netns exec $NS_S nft add chain ip cbl input_drop '{ type filter hook input priority 0; }'
            cap_start "$name" $NS_F fcli
            srv_start "$name" $FS4 "$sport"
            local pull=$PULL
            PULL="ip netns exec $NS_S nft add rule ip cbl input_drop tcp dport $sport drop"
            cli_run "$name" $FS4 "$sport" "$cport" 40
            PULL=$pull ;;
    esac
    cap_stop "$tail"
    teardown
    say "== $name: $(tcpdump -nn -r "$OUT/$name.pcap" 2>/dev/null | wc -l) packets, $((SECONDS - t0)) s"
}

main() {
    [[ $(id -u) == 0 ]] || { say "run as root (sudo $0)"; exit 2; }
    local t
    for t in ip tcpdump ethtool nft "$PY"; do
        command -v "$t" >/dev/null || { say "missing: $t"; exit 2; }
    done
    mkdir -p "$OUT"
    OUT="$(cd "$OUT" && pwd)"
    WORK="$(mktemp -d)"
    trap on_exit EXIT
    trap 'exit 130' INT TERM
    local want=("$@")
    [[ ${#want[@]} -gt 0 ]] || want=("${SCENARIOS[@]}")
    local name i found
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
}

main "$@"
