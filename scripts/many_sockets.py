#!/usr/bin/env python3
"""Hold many established loopback TCP connections open, for the attribution benchmark
(scripts/bench-host.sh): `many_sockets.py CONNECTIONS` opens CONNECTIONS client sockets to
listeners on 127.0.0.1 (one listener per 20,000 connections, so ephemeral ports never run
out) and accepts each; every connection is two sockets. Prints 'ready N' and waits for stdin
to close. The caller raises RLIMIT_NOFILE (ulimit -n) first."""
import socket
import sys

n = int(sys.argv[1])
per = 20000
listeners = []
held = []
for i in range((n + per - 1) // per):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(4096)
    listeners.append(s)
for i in range(n):
    l = listeners[i // per]
    c = socket.create_connection(l.getsockname())
    a, _ = l.accept()
    held.append(c)
    held.append(a)
print("ready", len(held), flush=True)
sys.stdin.read()
