#!/usr/bin/env python3
"""Client and server programs for scripts/record-fixtures.sh.

Standard library only (socket, struct, time, os, subprocess).  Each scenario has a server
half and a client half; record-fixtures.sh starts the server inside the server namespace,
then runs the client inside the client namespace while tcpdump records the client-side
bridge port.

    tcp_scenarios.py server SCENARIO --addr A --port P --ready FILE
    tcp_scenarios.py client SCENARIO --addr A --port P --cport CP
    tcp_scenarios.py fins-crossed FILE.pcap     (exit 0 when the two FINs crossed)
    tcp_scenarios.py syns-crossed FILE.pcap     (exit 0 when both sides sent a bare SYN)

"Pulling the cable": the client runs the command in the environment variable TL_PULL
(record-fixtures.sh sets it to `ip -n <bridge ns> link set <server port> down`) at the
moment the scenario needs it, so the pull is placed exactly between two socket calls.

Every program exits by itself; errors the scenario expects (ECONNREFUSED, ETIMEDOUT,
ECONNRESET) are printed and are not failures.
"""

import os
import socket
import subprocess
import sys
import time

from scenario_common import arguments, connect, family, lab, linger0, log, recv_all, run, sleep_until

KEEPIDLE, KEEPINTVL, KEEPCNT = 2, 1, 3


def recv_line(sock):
    buf = b""
    while not buf.endswith(b"\n"):
        b = sock.recv(1)
        if not b:
            break
        buf += b
    return buf


def set_keepalive(sock):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, KEEPIDLE)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, KEEPINTVL)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, KEEPCNT)


def pull_cable(role):
    lab(role, "TL_PULL", "cable pulled")


REQUEST = b"GET /fixture HTTP/1.0\r\nHost: lab\r\n\r\n"
REPLY = b"HTTP/1.0 200 OK\r\nContent-Length: 64\r\n\r\n" + b"x" * 64


# ---------------------------------------------------------------- servers

def simultaneous_open(role, args, local, peer):
    """Both hosts bind a fixed port and connect() to each other at the instant TL_AT.  Just
    before it each sends a 1472-byte UDP datagram (peer's UDP port 9999, where a socket
    listens: no ICMP) that empties its tbf bucket, so each SYN waits ~30 ms in the qdisc and
    both SYNs are built before either arrives: the SYNs cross."""
    fam = family(peer[0])
    sink = socket.socket(fam, socket.SOCK_DGRAM)
    sink.bind((local[0], 9999))
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(local)
    if args.ready != "/dev/null":
        with open(args.ready, "w") as f:
            f.write("ready\n")
    sleep_until(float(os.environ["TL_AT"]))
    sink.sendto(b"u" * 1472, (peer[0], 9999))
    s.connect(peer)
    log(role, f"connected {local} <-> {peer}")
    if role == "client":
        s.sendall(b"hello from the client\n")
        recv_line(s)
        time.sleep(0.1)
        s.close()
        time.sleep(0.5)
    else:
        recv_line(s)
        s.sendall(b"hello from the server\n")
        recv_all(s)
        time.sleep(0.2)
        s.close()
    sink.close()


def server(args):
    sc = args.scenario
    if sc == "simultaneous-open":
        simultaneous_open("server", args, (args.addr, args.port), (args.peer, args.cport))
        return
    ls = socket.socket(family(args.addr), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if sc == "zero-window":
        # Set before listen() so the accepted socket inherits it and the window scale is
        # chosen for it; the kernel doubles the value (sk_rcvbuf = 8192).
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    ls.bind((args.addr, args.port))
    ls.listen(64)
    with open(args.ready, "w") as f:
        f.write("ready\n")
    log("server", f"{sc}: listening on {args.addr} port {args.port}")
    conns = 20 if sc == "many-short" else 1
    for i in range(conns):
        c, peer = ls.accept()
        try:
            serve_one(sc, c, peer, i)
        except OSError as e:
            log("server", f"{sc}: {peer}: {e}")
        finally:
            c.close()
    ls.close()


def serve_one(sc, c, peer, i):
    log("server", f"{sc}: accepted {peer}")
    if sc in ("graceful-client", "graceful-client-v6", "keepalive-answered",
              "keepalive-timeout", "abort-linger0"):
        c.recv(4096)
        c.sendall(REPLY)
        n = recv_all(c)           # EOF (or ECONNRESET for abort-linger0, raised)
        log("server", f"EOF after {n} more bytes")
        time.sleep(0.2)           # the FIN ACK goes out alone first: a 4-way close
    elif sc == "graceful-server":
        c.recv(4096)
        c.sendall(REPLY)
        time.sleep(0.1)
        log("server", "close() first")
    elif sc == "simultaneous-close":
        line = recv_line(c)
        t = float(line.split()[1])
        sleep_until(t)
        c.sendall(b"s" * 1448)    # one full segment drains the tbf bucket ...
        c.shutdown(socket.SHUT_WR)  # ... so this FIN waits in the qdisc (see the .sh)
        log("server", "sent 1448 bytes + shutdown(SHUT_WR)")
        n = recv_all(c)
        log("server", f"read {n} bytes until EOF")
    elif sc in ("half-close", "half-close-pending"):
        c.recv(4096)
        n = recv_all(c)
        log("server", f"client half-closed (EOF after {n} more bytes); keep sending")
        for _ in range(3):
            time.sleep(0.2)
            c.sendall(b"d" * 500)
        if sc == "half-close-pending":
            log("server", "hold the connection open (no FIN) until killed")
            time.sleep(3600)
        time.sleep(0.2)
        log("server", "close()")
    elif sc == "unread-data":
        time.sleep(0.3)           # never read the request: close() sends RST
        log("server", "close() with unread data")
    elif sc == "rst-after-fin":
        c.recv(4096)
        c.sendall(REPLY)
        log("server", "close() (full close, FIN)")
    elif sc == "bulk-cable-pull":
        n = recv_all(c)
        log("server", f"read {n} bytes")
    elif sc == "zero-window":
        log("server", "not reading for 3 s")
        time.sleep(3.0)
        n = recv_all(c)
        log("server", f"read {n} bytes until EOF")
    elif sc == "many-short":
        req = c.recv(4096)
        c.sendall(REPLY)
        if b"server-closes" in req:
            return                # close first: the server holds TIME-WAIT
        recv_all(c)
    else:
        raise SystemExit(f"unknown scenario {sc}")


# ---------------------------------------------------------------- clients

def client(args):
    sc = args.scenario
    r = "client"
    if sc == "simultaneous-open":
        simultaneous_open(r, args, (args.local, args.cport), (args.addr, args.port))
    elif sc in ("graceful-client", "graceful-client-v6"):
        s = connect(args)
        s.sendall(REQUEST)
        s.recv(4096)
        time.sleep(0.1)
        log(r, "close() first")
        s.close()
        time.sleep(0.5)
    elif sc == "graceful-server":
        s = connect(args)
        s.sendall(REQUEST)
        n = recv_all(s)
        log(r, f"read {n} bytes until the server's FIN")
        time.sleep(0.2)
        s.close()
        time.sleep(0.2)
    elif sc == "simultaneous-close":
        s = connect(args)
        t = time.time() + 1.0     # both sides share CLOCK_REALTIME
        s.sendall(f"CLOSE_AT {t:.6f}\n".encode())
        sleep_until(t)
        s.sendall(b"c" * 1448)
        s.shutdown(socket.SHUT_WR)
        log(r, "sent 1448 bytes + shutdown(SHUT_WR)")
        n = recv_all(s)
        log(r, f"read {n} bytes until EOF")
        s.close()
        time.sleep(0.3)
    elif sc in ("half-close", "half-close-pending"):
        s = connect(args)
        s.sendall(REQUEST)
        s.shutdown(socket.SHUT_WR)
        log(r, "shutdown(SHUT_WR) after the request")
        if sc == "half-close-pending":
            s.settimeout(2.0)
            n = 0
            try:
                while True:
                    b = s.recv(65536)
                    if not b:
                        break
                    n += len(b)
            except socket.timeout:
                pass
            log(r, f"read {n} bytes; the server still has not closed")
            time.sleep(0.5)
            os._exit(0)           # leave the socket to the teardown
        n = recv_all(s)
        log(r, f"read {n} bytes until EOF")
        s.close()
        time.sleep(0.2)
    elif sc == "abort-linger0":
        s = connect(args)
        s.sendall(REQUEST)
        s.recv(4096)
        time.sleep(0.1)
        linger0(s)
        log(r, "SO_LINGER {1, 0} + close(): RST")
        s.close()
        time.sleep(0.3)
    elif sc == "unread-data":
        s = connect(args)
        s.sendall(REQUEST)
        try:
            n = recv_all(s)
            log(r, f"EOF after {n} bytes (expected a reset)")
        except ConnectionResetError as e:
            log(r, f"{e}")
        s.close()
        time.sleep(0.2)
    elif sc == "rst-after-fin":
        s = connect(args)
        s.sendall(REQUEST)
        n = recv_all(s)
        log(r, f"read {n} bytes until the server's FIN; now send more")
        time.sleep(0.1)
        s.sendall(b"late data after FIN\n")
        time.sleep(0.2)
        try:
            s.recv(10)
        except ConnectionResetError as e:
            log(r, f"{e}")
        s.close()
        time.sleep(0.2)
    elif sc == "closed-port":
        try:
            connect(args)
            log(r, "connected?!")
        except ConnectionRefusedError as e:
            log(r, f"{e}")
        time.sleep(0.2)
    elif sc == "syn-blackhole":
        pull_cable(r)
        t0 = time.time()
        try:
            connect(args)
            log(r, "connected?!")
        except OSError as e:
            log(r, f"{e} after {time.time() - t0:.3f} s")
    elif sc == "keepalive-answered":
        s = connect(args)
        set_keepalive(s)
        s.sendall(REQUEST)
        s.recv(4096)
        log(r, "idle for 7 s (keepalive idle 2 s, interval 1 s, count 3)")
        time.sleep(7.0)
        s.close()
        time.sleep(0.5)
    elif sc == "keepalive-timeout":
        s = connect(args)
        set_keepalive(s)
        s.sendall(REQUEST)
        s.recv(4096)
        time.sleep(0.05)          # let the delayed ACK of the reply go first
        pull_cable(r)
        t0 = time.time()
        try:
            s.recv(4096)
            log(r, "recv returned?!")
        except OSError as e:
            log(r, f"{e} after {time.time() - t0:.3f} s")
        s.close()
    elif sc == "bulk-cable-pull":
        s = connect(args)
        chunk = b"b" * 1000
        t0 = time.time()
        i = 0
        pulled = False
        try:
            while True:
                s.sendall(chunk)
                i += 1
                if not pulled and time.time() - t0 >= 0.5:
                    pull_cable(r)
                    pulled = True
                    t1 = time.time()
                time.sleep(0.005)
        except OSError as e:
            log(r, f"{e} after {i} chunks, {time.time() - t1:.3f} s after the pull")
        s.close()
    elif sc == "zero-window":
        s = connect(args)
        s.sendall(b"z" * 65536)
        # Keep the socket open (not orphaned: an orphan gives up its zero-window probes
        # after tcp_orphan_retries) until the server has read everything and closed.
        s.shutdown(socket.SHUT_WR)
        log(r, "64 KiB queued; shutdown(SHUT_WR); wait for the server's FIN")
        recv_all(s)
        s.close()
        time.sleep(0.2)
    elif sc == "many-short":
        for i in range(10):
            s = connect(args, cport=args.cport + 1 + i)
            s.sendall(REQUEST)
            s.recv(4096)
            s.close()             # client closes first: client TIME-WAIT
            time.sleep(0.05)
        for i in range(10):
            # The same client port every time; the previous connection on it is in
            # TIME-WAIT on the server, which accepts a new SYN with a higher seq/TSval.
            s = connect(args, cport=args.cport + 100)
            s.sendall(REQUEST.replace(b"/fixture", b"/server-closes"))
            recv_all(s)
            s.close()
            time.sleep(0.05)
        log(r, "20 connections done")
    else:
        raise SystemExit(f"unknown scenario {sc}")


def fins_crossed(pcap):
    """True when the capture holds one FIN from each side and neither FIN acknowledges the
    other (each was built before its sender had seen the peer's FIN)."""
    out = subprocess.run(["tcpdump", "-S", "-nn", "-r", pcap, "tcp[tcpflags] & tcp-fin != 0"],
                         capture_output=True, text=True, check=True).stdout
    fins = {}
    for line in out.splitlines():
        w = line.replace(",", "").split()
        src = w[2]
        seq = w[w.index("seq") + 1].split(":")[-1]   # "a:b" when the FIN carries data
        ack = w[w.index("ack") + 1]
        fins.setdefault(src, (int(seq), int(ack)))  # first FIN of each side
    if len(fins) != 2:
        return False
    (s1, a1), (s2, a2) = fins.values()

    def acks(ack, fin_seq):  # ack >= fin_seq + 1, modulo 2^32
        return 0 < ((ack - fin_seq) & 0xFFFFFFFF) < 0x80000000

    return not acks(a1, s2) and not acks(a2, s1)


def syns_crossed(pcap):
    """True when both sides sent a SYN without ACK (each connect() came before the peer's
    SYN arrived; otherwise the late side's port would have answered with a RST)."""
    out = subprocess.run(["tcpdump", "-nn", "-r", pcap, "tcp[tcpflags] & (tcp-syn|tcp-ack|tcp-rst) == tcp-syn"],
                         capture_output=True, text=True, check=True).stdout
    return len({line.split()[2] for line in out.splitlines()}) == 2


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "syns-crossed":
        ok = syns_crossed(sys.argv[2])
        print("  SYNs crossed" if ok else "  SYNs did NOT cross")
        sys.exit(0 if ok else 1)
    if len(sys.argv) == 3 and sys.argv[1] == "fins-crossed":
        ok = fins_crossed(sys.argv[2])
        print("  FINs crossed" if ok else "  FINs did NOT cross")
        sys.exit(0 if ok else 1)
    p = arguments()
    p.add_argument("--peer", help="simultaneous-open server: the client's address")
    p.add_argument("--local", help="simultaneous-open client: its own address")
    run(p, server, client)


if __name__ == "__main__":
    main()
