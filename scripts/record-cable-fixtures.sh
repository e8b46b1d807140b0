#!/usr/bin/env bash
# Record the "life of a pulled cable" fixtures under fixtures/ (docs/cable-pull.md): reachability
# evidence (ARP, neighbour discovery, ICMP), outcomes after a pull, middleboxes that forget idle
# connections, stuck closes, the SYN give-up and RST acceptance.
#
#   sudo scripts/record-cable-fixtures.sh [OUTDIR] [SCENARIO ...]
#
# Needs root, iproute2, tcpdump, ethtool, nftables, python3 and python3-scapy (rst-injection).
# The same lab as scripts/record-fixtures.sh (scripts/fixture-lab.sh: offloads off,
# tcp_retries2=5, tcp_fin_timeout=5), with namespaces prefixed "cbl-" so both scripts can run
# side by side.
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

# LAB_PREFIX renames the namespaces (parallel runs).
NS_C=${LAB_PREFIX:-cbl}-cli
NS_S=${LAB_PREFIX:-cbl}-srv
NS_B=${LAB_PREFIX:-cbl}-br
NS_F=${LAB_PREFIX:-cbl}-fw
NAMESPACES=("$NS_C" "$NS_S" "$NS_B" "$NS_F")
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
REQUIRED_TOOLS=(ip tcpdump ethtool nft)
# What the captures record: TCP and the reachability evidence.
FILTER='tcp or arp or icmp or icmp6'

# Ports: client 45000 + 100*i, server 6000 + i (append new scenarios).
SCENARIOS=(cable-pull-arp cable-pull-nd cable-resume cable-peer-reset middlebox-idle-drop
    middlebox-idle-rst middlebox-idle-icmp close-wait-stuck syn-give-up rst-injection
    middlebox-reset cable-give-up)

# shellcheck source=scripts/fixture-lab.sh
source "$HERE/fixture-lab.sh"

fw_lab() { # POLICY: drop | rst | icmp
    local policy=$1
    teardown
    local ns
    for ns in $NS_C $NS_S $NS_F; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
    ip -n $NS_F link add fcli type veth peer name vcli netns $NS_C
    ip -n $NS_F link add fsrv type veth peer name vsrv netns $NS_S
    host_sysctls $NS_C
    host_sysctls $NS_S
    offloads_off $NS_F fcli
    offloads_off $NS_F fsrv
    offloads_off $NS_C vcli
    offloads_off $NS_S vsrv
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

record() { # NAME INDEX
    local name=$1 idx=$2
    local cport=$((45000 + 100 * idx)) sport=$((6000 + idx))
    local t0=$SECONDS tail=1.0
    say "== $name"
    case $name in
        cable-pull-arp)
            bridge_lab 1
            cap_start "$name" $NS_B bcli 262144 "$FILTER"
            srv_start "$name" $S4 "$sport"
            cli_run "$name" $S4 "$sport" "$cport" 40 ;;
        cable-pull-nd)
            bridge_lab 1
            cap_start "$name" $NS_B bcli 262144 "$FILTER"
            srv_start "$name" $S6 "$sport"
            cli_run "$name" $S6 "$sport" "$cport" 40 ;;
        cable-resume | cable-peer-reset | rst-injection)
            bridge_lab 0
            cap_start "$name" $NS_B bcli 262144 "$FILTER"
            srv_start "$name" $S4 "$sport"
            cli_run "$name" $S4 "$sport" "$cport" 30 ;;
        close-wait-stuck)
            bridge_lab 0
            cap_start "$name" $NS_B bcli 262144 "$FILTER"
            srv_start "$name" $S4 "$sport"
            cli_run "$name" $S4 "$sport" "$cport" 30 ;;
        cable-give-up)
            bridge_lab 0
            cap_start "$name" $NS_B bcli 262144 "$FILTER"
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
            cap_start "$name" $NS_B bcli 262144 "$FILTER"
            cli_run "$name" $S4 "$sport" "$cport" 40 --out "$OUT/$name.connect.json"
            chown --reference="$OUT" "$OUT/$name.connect.json" 2>/dev/null || true ;;
        middlebox-idle-*)
            fw_lab "${name#middlebox-idle-}"
            cap_start "$name" $NS_F fcli 262144 "$FILTER"
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

lab_main "$@"
