#!/usr/bin/env python3
"""Hold many established loopback TCP connections open, for the attribution benchmarks
(scripts/bench-host.sh, bench-live.sh): `many_sockets.py CONNECTIONS [PER_PROCESS]` opens
CONNECTIONS connections to listeners on 127.0.0.1 and accepts each (every connection is two
sockets), spread over worker processes of at most PER_PROCESS connections each (default 9000:
18,000 descriptors, under a common RLIMIT_NOFILE of 20,000; raised to the hard limit here).
Prints 'ready SOCKETS PROCESSES' and waits until killed (SIGTERM ends the workers too)."""
import os
import resource
import signal
import socket
import sys


def worker(n, w):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    listeners, held = [], []
    per = 20000
    for _ in range((n + per - 1) // per):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(4096)
        listeners.append(s)
    for i in range(n):
        l = listeners[i // per]
        c = socket.create_connection(l.getsockname())
        a, _ = l.accept()
        held += [c, a]
    os.write(w, b"%d\n" % len(held))
    while True:
        signal.pause()


def main():
    n = int(sys.argv[1])
    per = int(sys.argv[2]) if len(sys.argv) > 2 else 9000
    kids = []
    r, w = os.pipe()
    left = n
    while left > 0:
        k = min(per, left)
        left -= k
        pid = os.fork()
        if pid == 0:
            os.close(r)
            worker(k, w)
            os._exit(0)
        kids.append(pid)
    os.close(w)

    def stop(*_):
        for p in kids:
            try:
                os.kill(p, signal.SIGTERM)
            except OSError:
                pass
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    total = 0
    with os.fdopen(r) as f:
        for _ in kids:
            line = f.readline()
            if not line:
                stop()
            total += int(line)
    print("ready", total, len(kids), flush=True)
    while True:
        signal.pause()


main()
