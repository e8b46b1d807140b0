#!/usr/bin/env python3
"""Client and server programs for scripts/record-cable-fixtures.sh (the life of a pulled cable).

    cable_scenarios.py server SCENARIO --addr A --port P --ready FILE
    cable_scenarios.py client SCENARIO --addr A --port P --cport CP [--out FILE]

The shell script starts the server in the server namespace and runs the client in the client
namespace while tcpdump records.  The client changes the lab at exact moments between two
socket calls through commands in its environment:

    TL_PULL   pull the cable (the server's bridge port down)
    TL_PLUG   put it back
    TL_KILL   kill the server process (SIGKILL)

Standard library only, except `rst-injection`, which builds RSTs with scapy (python3-scapy).
Every program exits by itself; expected errors (ECONNRESET, ETIMEDOUT...) are printed.
"""

import json
import os
import socket
import struct
import threading
import time

from scenario_common import arguments, connect, family, lab, linger0, log, recv_all, run


REQUEST = b"GET /cable HTTP/1.0\r\n\r\n"
REPLY = b"HTTP/1.0 200 OK\r\nContent-Length: 32\r\n\r\n" + b"x" * 32

# middlebox-idle-*: idle gaps (s) of the probed connections; the firewall forgets an
# established connection after 4 s (nf_conntrack_tcp_timeout_established=4).
GAPS = [1.5, 2.5, 3.3, 5.0, 6.5, 8.0]


# ---------------------------------------------------------------- servers

def echo(c):
    """Answer every chunk with REPLY until EOF or error."""
    try:
        while True:
            b = c.recv(4096)
            if not b:
                return
            c.sendall(REPLY)
    except OSError:
        return
    finally:
        c.close()


def server(args):
    sc = args.scenario
    ls = socket.socket(family(args.addr), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((args.addr, args.port))
    ls.listen(64)
    with open(args.ready, "w") as f:
        f.write("ready\n")
    log("server", f"{sc}: listening on {args.addr} port {args.port}")
    if sc.startswith("middlebox-idle"):
        while True:
            c, _ = ls.accept()
            threading.Thread(target=echo, args=(c,), daemon=True).start()
    c, peer = ls.accept()
    log("server", f"accepted {peer}")
    if sc in ("cable-pull-arp", "cable-pull-nd", "cable-resume", "rst-injection",
              "middlebox-reset", "cable-give-up"):
        echo(c)
    elif sc == "cable-peer-reset":
        # Killed by the client (TL_KILL) while the cable is out: SO_LINGER {1, 0} makes the
        # kernel answer the process's death with a RST, lost on the pulled cable.
        linger0(c)
        echo(c)
    elif sc == "close-wait-stuck":
        c.recv(4096)
        c.sendall(REPLY)
        c2, peer2 = ls.accept()
        c2.recv(4096)
        c2.sendall(REPLY)
        log("server", f"accepted {peer2}; reading EOF on both, never closing")
        recv_all(c)
        recv_all(c2)
        log("server", "both peers closed; hold both sockets (CLOSE-WAIT)")
        time.sleep(6.0)
        c2.sendall(b"late reply after the peer's FIN\n")
        log("server", "wrote on the second connection: the orphan is gone, expect a RST")
        time.sleep(3600)
    else:
        raise SystemExit(f"unknown scenario {sc}")


# ---------------------------------------------------------------- clients

def client(args):
    sc = args.scenario
    r = "client"
    if sc in ("cable-pull-arp", "cable-pull-nd"):
        s = connect(args)
        s.sendall(REQUEST)
        s.recv(4096)
        time.sleep(0.3)
        lab(r, "TL_PULL")
        t0 = time.time()
        s.sendall(REQUEST)  # unanswered: retransmissions, then neighbour resolution fails
        try:
            s.recv(4096)
            log(r, "recv returned?!")
        except OSError as e:
            log(r, f"{e} after {time.time() - t0:.3f} s")
    elif sc == "cable-resume":
        s = connect(args)
        s.settimeout(20)
        chunk = b"b" * 1000
        # The cable is pulled 0.5 s in and put back 3 s later, by timers: sendall() blocks
        # once the send buffer is full behind the pulled cable.
        threading.Timer(0.5, lab, args=(r, "TL_PULL")).start()
        threading.Timer(3.5, lab, args=(r, "TL_PLUG")).start()
        # The server answers every chunk; replies are read by a thread.
        threading.Thread(target=lambda: recv_all(s), daemon=True).start()
        t0 = time.time()
        while time.time() - t0 < 7.0:
            s.sendall(chunk)
            time.sleep(0.02)
        log(r, "7 s of writes done; shutdown(SHUT_WR)")
        s.shutdown(socket.SHUT_WR)
        time.sleep(0.5)
        s.close()
    elif sc == "cable-peer-reset":
        s = connect(args)
        s.sendall(REQUEST)
        s.recv(4096)
        time.sleep(0.2)
        lab(r, "TL_PULL")
        s.sendall(REQUEST)  # retransmitted while the cable is out
        time.sleep(0.8)
        lab(r, "TL_KILL")
        time.sleep(2.0)
        lab(r, "TL_PLUG")
        try:
            s.settimeout(10)
            s.recv(4096)
            log(r, "recv returned?!")
        except OSError as e:
            log(r, f"{e}")
    elif sc.startswith("middlebox-idle"):
        middlebox_client(args)
    elif sc == "cable-give-up":
        # Pinned neighbours: every retransmission reaches the wire until the kernel gives up
        # (tcp_retries2=5 in the lab); the time recv() fails is recorded for the test.
        s = connect(args)
        s.sendall(REQUEST)
        s.recv(4096)
        time.sleep(0.3)
        lab(r, "TL_PULL")
        t0 = time.time()
        s.sendall(REQUEST)
        err = None
        try:
            s.settimeout(60)
            s.recv(4096)
            log(r, "recv returned?!")
        except OSError as e:
            err = e
        write_outcome(args, r, "write", t0, err)
        # The capture must go on past the retransmission that never came: the cable back, and
        # a connection attempt to a closed port.
        time.sleep(1.0)
        lab(r, "TL_PLUG")
        time.sleep(0.5)
        closed_port_attempt(args, r)
    elif sc == "middlebox-reset":
        # The server vanishes behind the firewall (TL_PULL: its namespace drops the
        # connection's packets) just before a write; the client retransmits with backoff until
        # a gap outlasts the firewall's timeout for unacknowledged data, and the firewall
        # answers the next retransmission with its own RST.
        s = connect(args)
        s.sendall(REQUEST)
        s.recv(4096)
        time.sleep(0.3)
        lab(r, "TL_PULL")
        t0 = time.time()
        s.sendall(REQUEST)
        try:
            s.settimeout(20)
            s.recv(4096)
            log(r, "recv returned?!")
        except OSError as e:
            log(r, f"{e} after {time.time() - t0:.3f} s")
        time.sleep(0.5)
    elif sc == "close-wait-stuck":
        socks = []
        for i in range(2):
            s = connect(args, cport=args.cport + i)
            s.sendall(REQUEST)
            s.recv(4096)
            socks.append(s)
        time.sleep(0.2)
        for s in socks:
            s.close()  # orphaned: FIN-WAIT-2 until tcp_fin_timeout
        log(r, "closed both; the server never closes")
        time.sleep(8.0)
    elif sc == "syn-give-up":
        t0 = time.time()
        err = None
        try:
            connect(args)
            log(r, "connected?!")
        except OSError as e:
            err = e
        write_outcome(args, r, "connect", t0, err)
        time.sleep(0.5)
        # A second attempt, to a closed port: the capture goes on past the give-up.
        closed_port_attempt(args, r)
    elif sc == "rst-injection":
        rst_injection(args)
    else:
        raise SystemExit(f"unknown scenario {sc}")


def write_outcome(args, r, call, t0, err):
    """The kernel's verdict on a call that failed at the end of a give-up scenario, written
    to --out for the tests: when `call` (write/connect) was made and when it failed."""
    t1 = time.time()
    log(r, f"{err} after {t1 - t0:.3f} s")
    with open(args.out, "w") as f:
        json.dump({f"{call}_called": round(t0, 6), f"{call}_failed": round(t1, 6),
                   "error": str(err)}, f)
        f.write("\n")


def closed_port_attempt(args, r):
    """A connection attempt to a closed port, so the capture runs on past a give-up."""
    try:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("", args.cport + 1))
        s.connect((args.addr, 9))
    except OSError as e:
        log(r, f"second attempt: {e}")
    time.sleep(0.3)


def middlebox_client(args):
    """One chatty control connection (a request every 0.7 s) and one connection per gap in
    GAPS: each sends a request, waits for the reply, stays idle for its gap, then sends
    again and waits up to 3 s for an answer."""
    r = "client"
    results = {}
    stop = time.time() + max(GAPS) + 3.5

    def control():
        s = connect(args, cport=args.cport)
        s.settimeout(3)
        while time.time() < stop:
            s.sendall(REQUEST)
            s.recv(4096)
            time.sleep(0.7)
        s.close()

    def probed(i, gap):
        s = connect(args, cport=args.cport + 1 + i)
        s.settimeout(3)
        s.sendall(REQUEST)
        s.recv(4096)
        time.sleep(gap)
        try:
            s.sendall(REQUEST)
            b = s.recv(4096)
            results[gap] = "answered" if b else "eof"
        except OSError as e:
            results[gap] = str(e)
        # Leave the socket open: a killed connection keeps retransmitting into the capture.
        time.sleep(max(0.0, stop - time.time()))

    ts = [threading.Thread(target=control)]
    ts += [threading.Thread(target=probed, args=(i, g)) for i, g in enumerate(GAPS)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for g in GAPS:
        log(r, f"gap {g} s: {results.get(g)}")
    os._exit(0)  # leave the open sockets to the teardown (no FIN into the capture)


def rst_injection(args):
    """A live connection; three RSTs are injected toward the server, as if from the client
    (RFC 5961 §3): out of window (ignored), in window but not exact (challenge ACK), and
    finally exact (the server's socket is reset: the next write meets a RST)."""
    from scapy.all import IP, TCP, send, conf  # noqa: E402  (python3-scapy)
    conf.verb = 0
    r = "client"
    s = connect(args)
    s.sendall(REQUEST)
    s.recv(4096)
    time.sleep(0.2)
    info = snoop_next_segment(s, args)
    # The server's RCV.NXT is the end of our last request.
    rcv_nxt = info["seq"]
    src, dst = s.getsockname(), s.getpeername()

    def rst(seq, why):
        pkt = IP(src=src[0], dst=dst[0]) / TCP(sport=src[1], dport=dst[1], flags="R", seq=seq)
        send(pkt)
        log(r, f"injected RST seq {seq} ({why})")
        time.sleep(0.3)

    rst((rcv_nxt + 50_000_000) & 0xFFFFFFFF, "out of window")
    rst((rcv_nxt + 1000) & 0xFFFFFFFF, "in window, not exact: expect a challenge ACK")
    s.sendall(REQUEST)
    s.recv(4096)
    log(r, "the connection still works")
    time.sleep(0.2)
    rst(rcv_nxt + len(REQUEST), "exact")
    try:
        s.sendall(REQUEST)
        s.recv(4096)
        log(r, "answered?!")
    except OSError as e:
        log(r, f"{e}")
    time.sleep(0.3)


def snoop_next_segment(s, args):
    """Send one request and read its sequence number off the wire with a raw socket, so the
    injected RSTs can be placed relative to the server's RCV.NXT."""
    # ETH_P_ALL: only such sockets see outgoing frames.
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    raw.settimeout(2)
    port = s.getsockname()[1]
    s.sendall(REQUEST)
    try:
        while True:
            frame = raw.recv(65535)
            if frame[12:14] != b"\x08\x00":
                continue
            ip = frame[14:]
            ihl = (ip[0] & 0x0F) * 4
            if ip[9] != 6:
                continue
            tcp = ip[ihl:]
            sport, dport, seq = struct.unpack("!HHI", tcp[:8])
            plen = struct.unpack("!H", ip[2:4])[0] - ihl - (tcp[12] >> 4) * 4
            if sport == port and plen > 0:
                s.recv(4096)
                return {"seq": (seq + plen) & 0xFFFFFFFF}
    finally:
        raw.close()


def main():
    p = arguments()
    p.add_argument("--out", default="/dev/null")
    run(p, server, client)


if __name__ == "__main__":
    main()
