#!/usr/bin/python3
"""Write fixtures/encap/*.pcap: one small TCP conversation (handshake, a request and a reply,
FIN close) inside each encapsulation tcplens decodes (docs/encapsulations.md).

Built with scapy (Debian: python3-scapy; run with the system python3) where scapy has the
layer, by hand from the specifications where it does not (GTP-U extension headers, Teredo
indicators, AYIYA, ERSPAN II/III, PBB, VN-Tag, E-Tag, FabricPath, NFLOG). Each file was read
back with `tshark -V` (see scripts/check-encap-fixtures.sh, which also compares tshark's TCP
conversation count with tcplens's connection count).

    /usr/bin/python3 scripts/gen-encap-fixtures.py [OUTDIR]
"""

import os
import struct
import sys

from scapy.all import (
    GRE, HDLC, IP, LLC, PPP, SNAP, TCP, UDP, Dot11, Dot11QoS, Ether, IPv6, PPI, PrismHeader,
    RadioTap, Raw, Dot1Q, wrpcap,
)
from scapy.contrib.mpls import MPLS

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "fixtures", "encap")
os.makedirs(OUT, exist_ok=True)

C4, S4 = "10.1.0.1", "10.2.0.2"
C6, S6 = "2001:db8:1::1", "2001:db8:2::2"
T0 = 1_700_000_000.0


def conversation(v6=False, cport=40000, sport=80):
    """The inner packets: handshake, 10-byte request, 20-byte reply, FIN/ACK close."""
    ip = (lambda s, d: IPv6(src=s, dst=d)) if v6 else (lambda s, d: IP(src=s, dst=d, id=1))
    c, s = (C6, S6) if v6 else (C4, S4)
    up = lambda: ip(c, s)
    dn = lambda: ip(s, c)
    a, b = 1000, 5000
    pk = [
        up() / TCP(sport=cport, dport=sport, flags="S", seq=a),
        dn() / TCP(sport=sport, dport=cport, flags="SA", seq=b, ack=a + 1),
        up() / TCP(sport=cport, dport=sport, flags="A", seq=a + 1, ack=b + 1),
        up() / TCP(sport=cport, dport=sport, flags="PA", seq=a + 1, ack=b + 1) / Raw(b"R" * 10),
        dn() / TCP(sport=sport, dport=cport, flags="PA", seq=b + 1, ack=a + 11) / Raw(b"A" * 20),
        up() / TCP(sport=cport, dport=sport, flags="FA", seq=a + 11, ack=b + 21),
        dn() / TCP(sport=sport, dport=cport, flags="FA", seq=b + 21, ack=a + 12),
        up() / TCP(sport=cport, dport=sport, flags="A", seq=a + 12, ack=b + 22),
    ]
    # Direction of each packet (True: client to server), for the outer headers.
    dirs = [True, False, True, True, False, True, False, True]
    return [bytes(p) for p in pk], dirs


def write(name, linktype, frames):
    path = os.path.join(OUT, name + ".pcap")
    pkts = []
    for i, f in enumerate(frames):
        r = Raw(bytes(f))
        r.time = T0 + i + i / 1000
        pkts.append(r)
    wrpcap(path, pkts, linktype=linktype)


def eth(payload_type, payload, up=True):
    a, b = "02:00:00:00:00:01", "02:00:00:00:00:02"
    src, dst = (a, b) if up else (b, a)
    return bytes(Ether(src=src, dst=dst, type=payload_type)) + payload


def outer_ip(inner_bytes_proto, payload, up=True, v6=False):
    """An outer IPv4 (or IPv6) header between 192.0.2.1 and 192.0.2.2."""
    proto = inner_bytes_proto
    if v6:
        s, d = ("2001:db8:ff::1", "2001:db8:ff::2") if up else ("2001:db8:ff::2", "2001:db8:ff::1")
        return bytes(IPv6(src=s, dst=d, nh=proto) / Raw(payload))
    s, d = ("192.0.2.1", "192.0.2.2") if up else ("192.0.2.2", "192.0.2.1")
    return bytes(IP(src=s, dst=d, proto=proto) / Raw(payload))


def outer_udp(sport, dport, payload, up=True, v6=False, fixed_dport=False):
    """`fixed_dport`: both directions go to `dport` (VXLAN, Geneve, GRE-in-UDP: the source
    port is flow entropy)."""
    sp, dp = (sport, dport) if up or fixed_dport else (dport, sport)
    if v6:
        s, d = ("2001:db8:ff::1", "2001:db8:ff::2") if up else ("2001:db8:ff::2", "2001:db8:ff::1")
        return bytes(IPv6(src=s, dst=d) / UDP(sport=sp, dport=dp) / Raw(payload))
    s, d = ("192.0.2.1", "192.0.2.2") if up else ("192.0.2.2", "192.0.2.1")
    return bytes(IP(src=s, dst=d) / UDP(sport=sp, dport=dp) / Raw(payload))


def over_eth_ip(frames_fn, v6_inner=False):
    pk, dirs = conversation(v6=v6_inner)
    return [eth(0x0800, frames_fn(p, up), up) for p, up in zip(pk, dirs)]


# --- GTP-U (3GPP TS 29.281): flags 0x34 = version 1, PT, E; G-PDU; one PDU session
# container extension header (type 0x85, length 1 = 4 bytes).
def gtpu(p, up):
    ext = bytes([0x01, 0x10 if up else 0x00, 0x09, 0x00])
    opt = struct.pack(">HBB", 0, 0, 0x85)
    body = opt + ext + p
    hdr = struct.pack(">BBHI", 0x34, 255, len(body), 0x11223344 if up else 0x55667788)
    return outer_udp(2152, 2152, hdr + body, up)


def gtpu_plain(p, up):
    hdr = struct.pack(">BBHI", 0x30, 255, len(p), 0x1234)
    return outer_udp(2152, 2152, hdr + p, up)


# --- Teredo (RFC 4380): server to client packets carry an origin indication, client to
# server packets an authentication indicator (client id 4 bytes, auth 0, nonce, confirmation).
def teredo(p, up):
    if up:
        auth = bytes([0, 1, 4, 0]) + b"cid!" + b"\x11" * 8 + b"\x00"
        payload = auth + p
    else:
        origin = struct.pack(">HH", 0, 3544 ^ 0xFFFF) + bytes(b ^ 0xFF for b in bytes([192, 0, 2, 9]))
        payload = origin + p
    return outer_udp(40001, 3544, payload, up)


# --- AYIYA: identity 16 bytes (IDLen 4, IPv6 id type 1), SHA-1 signature 20 bytes
# (SigLen 5, hash method 2), authentication method 2, opcode 1 (forward), next header 41.
def ayiya(p, up):
    hdr = bytes([0x41, 0x52, 0x21, 41]) + struct.pack(">I", 1_700_000_000)
    hdr += b"\x20\x01\x0d\xb8" + b"\x00" * 11 + (b"\x01" if up else b"\x02")
    hdr += b"\x5a" * 20
    return outer_udp(5072, 5072, hdr + p, up)


# --- GRE (RFC 2784/2890): checksum, key and sequence number.
def gre_ksc(p, up):
    g = GRE(chksum_present=1, key_present=1, seqnum_present=1, key=42, seqence_number=7, proto=0x0800)
    return outer_ip(47, bytes(g / Raw(p)), up)


# GRE with RFC 1701 source routing: one IPv4 SRE, then the NULL SRE.
def gre_routing(p, up):
    hdr = struct.pack(">BBH", 0x40, 0x00, 0x0800) + struct.pack(">HH", 0, 0)
    hdr += struct.pack(">HBB", 0x0800, 0, 4) + bytes([198, 51, 100, 1])
    hdr += struct.pack(">HBB", 0, 0, 0)
    return outer_ip(47, hdr + p, up)


# GRE carrying Ethernet (transparent Ethernet bridging), over IPv6.
def gre_teb(p, up):
    g = bytes(GRE(proto=0x6558))
    return outer_ip(47, g + eth(0x0800, p, up), up, v6=True)


# PPTP's enhanced GRE (version 1): key (payload length, call id), sequence; PPP in HDLC
# framing carrying IPv4.
def gre_ppp(p, up):
    ppp = b"\xff\x03\x00\x21" + p
    hdr = struct.pack(">BBHHHI", 0x30, 0x01, 0x880B, len(ppp), 7, 1)
    return outer_ip(47, hdr + ppp, up)


def gre_udp(p, up):
    return outer_udp(50000, 4754, bytes(GRE(proto=0x0800)) + p, up, fixed_dport=True)


def mpls_gre(p, up):
    lbl = bytes(MPLS(label=100, s=1, ttl=64))
    return outer_ip(47, bytes(GRE(proto=0x8847)) + lbl + p, up)


# --- ERSPAN: type I (GRE 0x88be without sequence number), II (8-byte header, version 1),
# III (GRE 0x22eb, 12-byte header, version 2, O flag and the 8-byte platform sub-header).
def erspan1(p, up):
    return outer_ip(47, bytes(GRE(proto=0x88BE)) + eth(0x0800, p, up), up)


def erspan2(p, up):
    gre = struct.pack(">BBHI", 0x10, 0, 0x88BE, 1)
    hdr = struct.pack(">HHI", (1 << 12) | 10, 5, 3)
    return outer_ip(47, gre + hdr + eth(0x0800, p, up), up)


def erspan3(p, up):
    gre = struct.pack(">BBHI", 0x10, 0, 0x22EB, 1)
    hdr = struct.pack(">HHI", (2 << 12) | 10, 5, 123456) + struct.pack(">HBB", 0, 0, 0x01)
    platf = struct.pack(">II", 3 << 26, 0)
    return outer_ip(47, gre + hdr + platf + eth(0x0800, p, up), up)


# --- Aruba: GRE protocol 0x8200 carrying an 802.11 data frame (to DS) with LLC/SNAP.
def wifi_data(p, up):
    return bytes(Dot11(type=2, subtype=0, FCfield="to-DS" if up else "from-DS",
                       addr1="02:00:00:00:00:aa", addr2="02:00:00:00:00:01", addr3="02:00:00:00:00:02")
                 / LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x0800) / Raw(p))


def aruba(p, up):
    return outer_ip(47, bytes(GRE(proto=0x8200)) + wifi_data(p, up), up)


# Aruba with a QoS data frame holding an A-MSDU: the TCP subframe, then an ARP subframe.
def aruba_amsdu(p, up):
    def sub(da, sa, body):
        s = bytes.fromhex(da.replace(":", "")) + bytes.fromhex(sa.replace(":", "")) + struct.pack(">H", len(body)) + body
        return s + b"\x00" * ((4 - len(s) % 4) % 4)
    snap = bytes(LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x0800))
    arp = bytes(LLC(dsap=0xAA, ssap=0xAA, ctrl=3) / SNAP(OUI=0, code=0x0806)) + b"\x00\x01\x08\x00\x06\x04\x00\x01" + b"\x00" * 20
    body = sub("02:00:00:00:00:02", "02:00:00:00:00:01", snap + p) + sub("ff:ff:ff:ff:ff:ff", "02:00:00:00:00:01", arp)
    hdr = bytes(Dot11(type=2, subtype=8, FCfield="to-DS" if up else "from-DS",
                      addr1="02:00:00:00:00:aa", addr2="02:00:00:00:00:01", addr3="02:00:00:00:00:02")
                / Dot11QoS(A_MSDU_Present=1, TID=0))
    return outer_ip(47, bytes(GRE(proto=0x8200)) + hdr + body, up)


# --- Link-layer encapsulations over Ethernet.
def pbb_frame(p, up):
    """802.1ad B-tag, 802.1ah I-tag (service id 0x10203), the customer's Ethernet frame."""
    bsa, bda = ("0a:00:00:00:00:01", "0a:00:00:00:00:02") if up else ("0a:00:00:00:00:02", "0a:00:00:00:00:01")
    outer = bytes(Ether(src=bsa, dst=bda, type=0x88A8)) + struct.pack(">HH", 20, 0x88E7)
    itag = struct.pack(">I", 0x00010203)
    return outer + itag + eth(0x0800, p, up)


def vntag_frame(p, up):
    return eth(0x8926, struct.pack(">IH", 0x00050003, 0x0800) + p, up)


def etag_frame(p, up):
    return eth(0x893F, struct.pack(">HIH", 0, 0x00000123, 0x0800) + p, up)


def fabricpath_frame(p, up):
    osa, oda = ("06:00:01:00:00:01", "06:00:02:00:00:02") if up else ("06:00:02:00:00:02", "06:00:01:00:00:01")
    outer = bytes(Ether(src=osa, dst=oda, type=0x8903)) + struct.pack(">H", (1 << 6) | 32)
    return outer + eth(0x0800, p, up)


def mpls_eth(p, up):
    return eth(0x8847, bytes(MPLS(label=16, s=0, ttl=64)) + bytes(MPLS(label=17, s=1, ttl=64)) + p, up)


def qinq_frame(p, up):
    return bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02", type=0x88A8)
                 / Dot1Q(vlan=100, type=0x8100) / Dot1Q(vlan=200, type=0x0800)) + p


def vxlan(p, up):
    return outer_udp(50001, 4789, struct.pack(">II", 0x08000000, 5000 << 8) + eth(0x0800, p, up), up, fixed_dport=True)


def geneve(p, up):
    # One 8-byte option (class 0x0102, type 1, length 1).
    opt = struct.pack(">HBB", 0x0102, 1, 1) + b"\x00" * 4
    hdr = struct.pack(">BBHI", 2, 0, 0x6558, 7 << 8)
    return outer_udp(50002, 6081, hdr + opt + eth(0x0800, p, up), up, fixed_dport=True)


def ipip(p, up):
    return outer_ip(4, p, up)


def six_in_four(p, up):
    return outer_ip(41, p, up)


def pppoe_frame(p, up):
    ppp = b"\x00\x21" + p
    return eth(0x8864, struct.pack(">BBHH", 0x11, 0, 0x1234, len(ppp)) + ppp, up)


def nflog(p, up):
    """NFLOG: family AF_INET, version 0, resource id 1 (big-endian), then little-endian
    TLVs: hardware protocol (type 1), prefix (type 10, padded), payload (type 9)."""
    def tlv(t, v):
        b = struct.pack("<HH", 4 + len(v), t) + v
        return b + b"\x00" * ((4 - len(b) % 4) % 4)
    return struct.pack(">BBH", 2, 0, 1) + tlv(1, struct.pack(">HBB", 0x0800, 3, 0)) + tlv(10, b"fw-drop\x00") + tlv(9, p)


def main():
    pk, dirs = conversation()
    pk6, _ = conversation(v6=True)
    both = list(zip(pk, dirs))
    both6 = list(zip(pk6, dirs))
    eth_wrap = lambda fn, conv=both: [eth(0x0800, fn(p, up), up) for p, up in conv]
    write("gtp-u", 1, eth_wrap(gtpu))
    write("gtp-u-plain", 1, eth_wrap(gtpu_plain))
    write("teredo", 1, [eth(0x0800, teredo(p, up), up) for p, up in both6])
    write("ayiya", 1, [eth(0x0800, ayiya(p, up), up) for p, up in both6])
    write("gre-key-seq-csum", 1, eth_wrap(gre_ksc))
    write("gre-routing", 1, eth_wrap(gre_routing))
    write("gre-teb-v6", 1, [eth(0x86DD, gre_teb(p, up), up) for p, up in both])
    write("gre-pptp-ppp", 1, eth_wrap(gre_ppp))
    write("gre-udp", 1, eth_wrap(gre_udp))
    write("mpls-gre", 1, eth_wrap(mpls_gre))
    write("erspan-1", 1, eth_wrap(erspan1))
    write("erspan-2", 1, eth_wrap(erspan2))
    write("erspan-3", 1, eth_wrap(erspan3))
    write("aruba", 1, eth_wrap(aruba))
    write("aruba-amsdu", 1, eth_wrap(aruba_amsdu))
    write("pbb", 1, [pbb_frame(p, up) for p, up in both])
    write("vntag", 1, [vntag_frame(p, up) for p, up in both])
    write("etag", 1, [etag_frame(p, up) for p, up in both])
    write("fabricpath", 1, [fabricpath_frame(p, up) for p, up in both])
    write("mpls-eth", 1, [mpls_eth(p, up) for p, up in both])
    write("qinq", 1, [qinq_frame(p, up) for p, up in both])
    write("vxlan", 1, eth_wrap(vxlan))
    write("geneve", 1, eth_wrap(geneve))
    write("ipip", 1, eth_wrap(ipip))
    write("6in4", 1, [eth(0x0800, six_in_four(p, up), up) for p, up in both6])
    write("pppoe", 1, [pppoe_frame(p, up) for p, up in both])
    # 802.11 behind radio headers (monitor mode), LLC/SNAP.
    write("wifi-radiotap", 127, [bytes(RadioTap()) + wifi_data(p, up) for p, up in both])
    write("wifi-ppi", 192, [bytes(PPI(dlt=105)) + wifi_data(p, up) for p, up in both])
    write("wifi-prism", 119, [bytes(PrismHeader()) + wifi_data(p, up) for p, up in both])
    write("wifi-raw", 105, [wifi_data(p, up) for p, up in both])
    # PPP: DLT 9 with and without HDLC-like framing, DLT 50 (PPP in HDLC framing).
    write("ppp", 9, [b"\xff\x03\x00\x21" + p for p, up in both])
    write("ppp-hdlc", 50, [b"\xff\x03\x00\x21" + p for p, up in both])
    write("nflog", 239, [nflog(p, up) for p, up in both])
    # Encapsulations recognised but not decoded (counted and named in warnings): GTP-C
    # echo requests (UDP 2123), ESP (IP protocol 50), L2TP (UDP 1701), a GRE keepalive
    # (protocol type 0), next to one plain TCP conversation.
    os.makedirs(os.path.join(OUT, "undecoded"), exist_ok=True)
    gtpc = [eth(0x0800, outer_udp(2123, 2123, struct.pack(">BBHIHBB", 0x32, 1, 4, 0, i, 0, 0), True)) for i in range(3)]
    esp = [eth(0x0800, outer_ip(50, struct.pack(">II", 0x1000, i) + b"\x42" * 48, True)) for i in range(2)]
    l2tp = [eth(0x0800, outer_udp(1701, 1701, b"\xc8\x02\x00\x0c\x00\x01\x00\x00\x00\x00\x00\x00", True))]
    keep = [eth(0x0800, outer_ip(47, struct.pack(">BBH", 0, 0, 0), True))]
    plain = [eth(0x0800, p, up) for p, up in both]
    write("undecoded/mixed", 1, gtpc + esp + l2tp + keep + plain)


if __name__ == "__main__":
    main()
