#!/usr/bin/env python3
"""Small TCP peers for tcplens's live-capture tests, run inside network namespaces.

server PORT MODE   MODE: echo (answer 'ping' with 'pong', then wait for EOF) | sink (read until EOF)
                   | hold (echo, then never close: CLOSE-WAIT after the client's FIN)
                   | many (echo on every connection accepted, until killed)
client HOST PORT MODE [SECONDS [LOCAL_PORT]]
    graceful        send ping, read pong, close
    keepalive S     TCP_KEEPIDLE=2, TCP_KEEPINTVL=1, TCP_KEEPCNT=3; ping/pong; idle S seconds; close
    keepalive-wait  same settings; ping/pong; then block until the kernel reports the error
    keepalive-long  keepalive-wait with TCP_KEEPCNT=8: after a pull the connection stays stale
                    for about seven seconds (several scrapes of a metrics test) before the reset
    bulk S          send as fast as possible for S seconds (or until the kernel gives up)
    paced S         4 KiB every 10 ms for S seconds (data in flight at a rate any sensor keeps up with)
    idle S          connect and send nothing for S seconds, then close (no keepalive)
    reset S         ping/pong, wait S seconds, close with a RST (SO_LINGER 0: no TIME-WAIT,
                    so LOCAL_PORT can be reused at once)
Each prints 'ready' / 'done ...' lines on stdout so the test can follow.
"""
import os
import socket
import struct
import sys
import time


def say(*words):
    """One progress line; the test may have stopped reading (it kills us once it has what it
    needs), and a closed stdout then is expected, not a failure worth a traceback."""
    try:
        print(*words, flush=True)
    except BrokenPipeError:
        # Point stdout at /dev/null so the exit-time flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(0)


def server(port, mode):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(8)
    say("ready")
    if mode == "many":
        while True:
            c, _ = s.accept()
            c.recv(100)
            c.sendall(b"pong")
            c.close()
    c, _ = s.accept()
    if mode in ("echo", "hold"):
        c.recv(100)
        c.sendall(b"pong")
    try:
        while c.recv(65536):
            pass
    except OSError:
        pass
    if mode == "hold":
        say("eof")
        time.sleep(3600)
    c.close()
    say("done")


def keepalive(sock, count=3):
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 2)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, count)


def client(host, port, mode, secs, lport=0):
    if lport:
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        c.bind(("0.0.0.0", lport))
        c.settimeout(30)
        c.connect((host, port))
    else:
        c = socket.create_connection((host, port), timeout=30)
    if mode == "idle":
        say("connected")
        time.sleep(secs)
        c.close()
        say("done")
        return
    if mode in ("keepalive", "keepalive-wait"):
        keepalive(c)
    if mode == "keepalive-long":
        keepalive(c, 8)
    if mode in ("bulk", "paced"):
        # "paced": 4 KiB every 10 ms keeps data in flight without loading the sensor, for
        # tests about what follows a pull rather than about capture at line rate.
        c.settimeout(60)
        chunk = b"x" * (65536 if mode == "bulk" else 4096)
        end = time.time() + secs
        try:
            while time.time() < end:
                c.sendall(chunk)
                if mode == "paced":
                    time.sleep(0.01)
        except OSError as e:
            say("error", e.errno)
        say("done")
        return
    c.sendall(b"ping")
    c.recv(100)
    say("exchanged", time.time())
    if mode == "keepalive":
        time.sleep(secs)
    elif mode == "reset":
        time.sleep(secs)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    elif mode in ("keepalive-wait", "keepalive-long"):
        c.settimeout(None)
        try:
            c.recv(100)
        except OSError as e:
            say("error", e.errno, time.time())
    c.close()
    say("done")


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[0] == "server":
        server(int(a[1]), a[2])
    else:
        client(a[1], int(a[2]), a[3], float(a[4]) if len(a) > 4 else 0.0,
               int(a[5]) if len(a) > 5 else 0)
