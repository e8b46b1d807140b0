#!/usr/bin/env python3
"""A user-space GTP-U tunnel for scripts/record-fragments.sh: packets the kernel routes into
the TUN device IFNAME are sent as G-PDUs (3GPP TS 29.281: version 1, message type 255,
TEID 1) in UDP datagrams to [REMOTE]:2152 over IPv6, and G-PDUs received on [LOCAL]:2152 are
written back to the TUN device. The kernel fragments datagrams larger than the path MTU.

    gtpu_tun.py IFNAME LOCAL REMOTE
"""
import fcntl
import os
import select
import socket
import struct
import sys

TUNSETIFF = 0x400454CA
IFF_TUN, IFF_NO_PI = 0x0001, 0x1000

name, local, remote = sys.argv[1:4]
tun = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(tun, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
sock = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
sock.bind((local, 2152))
while True:
    r, _, _ = select.select([tun, sock], [], [])
    if tun in r:
        pkt = os.read(tun, 65535)
        sock.sendto(struct.pack(">BBHI", 0x30, 255, len(pkt), 1) + pkt, (remote, 2152))
    if sock in r:
        data = sock.recv(65535)
        if len(data) > 8 and data[1] == 255:
            os.write(tun, data[8:])
