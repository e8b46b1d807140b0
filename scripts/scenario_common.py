"""What the scenario programs of the fixture recorders share: scripts/tcp_scenarios.py
(scripts/record-fixtures.sh) and scripts/cable_scenarios.py (scripts/record-cable-fixtures.sh).

Logging with wall-clock stamps, the lab commands a client runs from its environment at exact
moments between two socket calls (TL_PULL, TL_PLUG, TL_KILL: see scripts/fixture-lab.sh),
socket helpers, and the common command line (`server|client SCENARIO --addr --port ...`).
Standard library only.
"""

import argparse
import os
import shlex
import socket
import struct
import subprocess
import time


def log(role, msg):
    print(f"  [{role} {time.time():.6f}] {msg}", flush=True)


def lab(role, var, what=None):
    """Run the lab command in the environment variable `var` (e.g. TL_PULL) and log it."""
    cmd = os.environ.get(var)
    if not cmd:
        raise SystemExit(f"{var} is not set")
    subprocess.run(shlex.split(cmd), check=True)
    log(role, f"{what} ({cmd})" if what else f"{var}: {cmd}")


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def connect(args, cport=None, reuse=True):
    """Connect to the scenario's server from `cport` (default: --cport; 0: any port)."""
    s = socket.socket(family(args.addr), socket.SOCK_STREAM)
    if reuse:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    port = args.cport if cport is None else cport
    if port:
        s.bind(("", port))
    s.connect((args.addr, args.port))
    return s


def linger0(sock):
    """SO_LINGER {1, 0}: close() sends a RST."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def recv_all(sock):
    """Read until EOF; return the byte count."""
    n = 0
    while True:
        b = sock.recv(65536)
        if not b:
            return n
        n += len(b)


def sleep_until(t):
    d = t - time.time()
    if d > 0:
        time.sleep(d)


def arguments():
    """The command line both programs take; callers add their own options."""
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["server", "client"])
    p.add_argument("scenario")
    p.add_argument("--addr", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cport", type=int, default=0)
    p.add_argument("--ready", default="/dev/null")
    return p


def run(parser, server, client):
    args = parser.parse_args()
    if args.role == "server":
        server(args)
    else:
        client(args)
