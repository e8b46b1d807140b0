//! Decoder edge cases, on bytes built with the testkit encoders (docs/analysis.md#decoding).

use std::net::{IpAddr, Ipv6Addr};

use tcplens::decode::{
    Checksum, DecodeOptions, Decoded, RawFrame, Skip, TcpOptions, decode, linktype,
};
use tcplens::testkit::{Ladder, ethernet, ip_packet, sll, sll2};
use tcplens::time::Ts;

fn raw(lt: i32, data: &[u8]) -> RawFrame<'_> {
    RawFrame {
        frame: 7,
        ts: Ts(1_000),
        linktype: lt,
        data,
        orig_len: data.len() as u32,
    }
}

fn dec(lt: i32, data: &[u8]) -> Result<tcplens::decode::Segment, Skip> {
    // Frames that are not TCP segments (ARP, ICMP errors) count as the skip they are.
    decode(&raw(lt, data), DecodeOptions::default()).and_then(|d| match d {
        Decoded::Tcp(s) => Ok(s),
        other => Err(other.skip_reason().unwrap_or(Skip::NotTcp)),
    })
}

/// A frame cut by the snap length: `orig` bytes were on the wire.
fn dec_cut(lt: i32, data: &[u8], orig: usize) -> Result<tcplens::decode::Segment, Skip> {
    let mut r = raw(lt, data);
    r.orig_len = orig as u32;
    decode(&r, DecodeOptions::default()).and_then(|d| match d {
        Decoded::Tcp(s) => Ok(s),
        other => Err(other.skip_reason().unwrap_or(Skip::NotTcp)),
    })
}

fn data_segment() -> tcplens::decode::Segment {
    let mut l = Ladder::new();
    l.c2s("PA", 1, 1, 100)
}

#[test]
fn ethernet_ipv4_fields_survive_the_round_trip() {
    let seg = data_segment();
    let bytes = ethernet(&ip_packet(&seg, false), &[]);
    let got = dec(linktype::ETHERNET, &bytes).expect("decodes");
    assert_eq!(got.src, seg.src);
    assert_eq!(got.dst, seg.dst);
    assert_eq!(
        (got.seq, got.ack, got.flags, got.window),
        (seg.seq, seg.ack, seg.flags, seg.window)
    );
    assert_eq!(got.payload_len, 100);
    assert_eq!(got.ip_len, 140);
    assert_eq!(got.frame, 7);
}

#[test]
fn vlan_and_qinq_tags_are_walked() {
    let seg = data_segment();
    let ip = ip_packet(&seg, false);
    for tags in [
        vec![(0x8100, 10)],
        vec![(0x88a8, 100), (0x8100, 10)],
        vec![(0x9100, 1), (0x8100, 2)],
    ] {
        let got = dec(linktype::ETHERNET, &ethernet(&ip, &tags)).expect("decodes");
        assert_eq!(got.payload_len, 100, "tags {tags:?}");
    }
}

#[test]
fn linux_cooked_v1_and_v2_and_raw_ip_and_loopback() {
    let seg = data_segment();
    let ip = ip_packet(&seg, false);
    assert_eq!(
        dec(linktype::LINUX_SLL, &sll(&ip)).map(|s| s.seq),
        Ok(seg.seq)
    );
    assert_eq!(
        dec(linktype::LINUX_SLL2, &sll2(&ip)).map(|s| s.seq),
        Ok(seg.seq)
    );
    assert_eq!(dec(linktype::RAW, &ip).map(|s| s.seq), Ok(seg.seq));
    assert_eq!(dec(linktype::RAW_DLT12, &ip).map(|s| s.seq), Ok(seg.seq));
    let mut null = 2u32.to_le_bytes().to_vec(); // AF_INET, host order
    null.extend_from_slice(&ip);
    assert_eq!(dec(linktype::NULL, &null).map(|s| s.seq), Ok(seg.seq));
    let mut lo = 2u32.to_be_bytes().to_vec(); // DLT_LOOP: network order
    lo.extend_from_slice(&ip);
    assert_eq!(dec(linktype::LOOP, &lo).map(|s| s.seq), Ok(seg.seq));
}

#[test]
fn ipv6_with_extension_headers_reaches_tcp() {
    let v6c = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 1));
    let v6s = IpAddr::V6(Ipv6Addr::new(0xfd00, 0, 0, 0, 0, 0, 0, 2));
    let mut l = Ladder::new().addrs(v6c, v6s);
    let seg = l.c2s("PA", 1, 1, 10);
    let plain = ip_packet(&seg, false);
    // Insert a hop-by-hop and a destination-options header (8 bytes each) before TCP.
    let mut v6 = plain[..40].to_vec();
    let tcp = &plain[40..];
    v6[6] = 0; // next header: hop-by-hop
    let plen = (tcp.len() + 16) as u16;
    v6[4..6].copy_from_slice(&plen.to_be_bytes());
    v6.extend_from_slice(&[60, 0, 1, 4, 0, 0, 0, 0]); // hop-by-hop → dest opts, PadN
    v6.extend_from_slice(&[6, 0, 1, 4, 0, 0, 0, 0]); // dest opts → TCP
    v6.extend_from_slice(tcp);
    let got = dec(linktype::ETHERNET, &ethernet(&v6, &[])).expect("decodes");
    assert_eq!(got.src.addr, v6c);
    assert_eq!(got.payload_len, 10);
    assert_eq!(got.ip_len, 40 + plen as u32);
    assert_eq!(got.src.to_string(), "[fd00::1]:40000");
}

#[test]
fn snaplen_cut_payload_keeps_ip_lengths() {
    let seg = data_segment();
    let bytes = ethernet(&ip_packet(&seg, false), &[]);
    let cut = &bytes[..14 + 20 + 20 + 10];
    let got = dec_cut(linktype::ETHERNET, cut, bytes.len()).expect("headers are complete");
    assert_eq!(got.payload_len, 100);
    assert_eq!(got.captured_payload_len, 10);
    assert!(got.truncated());
}

#[test]
fn ethernet_padding_does_not_add_payload() {
    let mut l = Ladder::new();
    let seg = l.c2s("A", 1, 1, 0);
    let mut bytes = ethernet(&ip_packet(&seg, false), &[]);
    bytes.resize(60, 0); // minimum Ethernet frame
    let got = dec(linktype::ETHERNET, &bytes).expect("decodes");
    assert_eq!(got.payload_len, 0);
}

#[test]
fn tcp_header_cut_short_is_skipped() {
    let seg = data_segment();
    let bytes = ethernet(&ip_packet(&seg, false), &[]);
    assert_eq!(
        dec_cut(linktype::ETHERNET, &bytes[..14 + 20 + 12], bytes.len()),
        Err(Skip::TruncatedTcp)
    );
    // The same bytes captured whole: the IP length lies, the TCP header is malformed.
    assert_eq!(
        dec(linktype::ETHERNET, &bytes[..14 + 20 + 12]),
        Err(Skip::MalformedTcp)
    );
}

#[test]
fn tcp_header_length_below_20_is_malformed() {
    let seg = data_segment();
    let mut ip = ip_packet(&seg, false);
    ip[20 + 12] = 4 << 4; // data offset 4 words = 16 bytes
    assert_eq!(dec(linktype::RAW, &ip), Err(Skip::MalformedTcp));
}

#[test]
fn ipv4_total_length_zero_uses_the_captured_length() {
    let seg = data_segment();
    let mut ip = ip_packet(&seg, false);
    ip[2] = 0;
    ip[3] = 0;
    let got = dec(linktype::RAW, &ip).expect("decodes");
    assert_eq!(got.payload_len, 100);
    assert!(got.ip_len_from_capture);
}

#[test]
fn non_first_fragment_is_skipped() {
    let seg = data_segment();
    let mut ip = ip_packet(&seg, false);
    ip[6] = 0x00;
    ip[7] = 0x10; // fragment offset 16 * 8 bytes
    assert_eq!(dec(linktype::RAW, &ip), Err(Skip::Fragment));
}

#[test]
fn non_tcp_and_non_ip_are_told_apart() {
    let arp = [
        0xffu8, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x08, 0x06, 0, 1,
    ];
    assert_eq!(dec(linktype::ETHERNET, &arp), Err(Skip::NotIp));
    let seg = data_segment();
    let mut ip = ip_packet(&seg, false);
    ip[9] = 17; // UDP to an unremarkable port
    ip[22] = 0x13;
    ip[23] = 0x88;
    assert_eq!(dec(linktype::RAW, &ip), Err(Skip::NotTcp));
    assert_eq!(dec(147, &ip), Err(Skip::UnsupportedLinkType));
    assert_eq!(
        dec(linktype::ETHERNET, &[1, 2, 3]),
        Err(Skip::TruncatedLink)
    );
}

#[test]
fn options_mss_wscale_sack_timestamps_and_fast_open() {
    let mut l = Ladder::new();
    l.opts(TcpOptions {
        mss: Some(1460),
        window_scale: Some(7),
        sack_permitted: true,
        timestamps: Some((11, 22)),
        fast_open: true,
        ..TcpOptions::default()
    });
    let seg = l.c2s("S", 0, 0, 0);
    let got = dec(linktype::RAW, &ip_packet(&seg, false)).expect("decodes");
    let o = got.options;
    assert_eq!(o.mss, Some(1460));
    assert_eq!(o.window_scale, Some(7));
    assert!(o.sack_permitted);
    assert_eq!(o.timestamps, Some((11, 22)));
    assert!(o.fast_open);
    assert!(!o.malformed);
}

#[test]
fn broken_option_list_keeps_what_was_read() {
    let o = tcplens::decode::parse_options(&[2, 4, 5, 0xb4, 3, 9, 1]);
    assert_eq!(o.mss, Some(1460));
    assert!(o.malformed);
    let o = tcplens::decode::parse_options(&[5, 10, 0, 0, 0, 1, 0, 0, 0, 2]);
    assert_eq!((o.sack_blocks, o.first_sack), (1, Some((1, 2))));
}

#[test]
fn checksums_are_verified_only_on_request() {
    let seg = data_segment();
    let good = ip_packet(&seg, false);
    let bad = ip_packet(&seg, true);
    let on = DecodeOptions {
        verify_checksums: true,
    };
    let r = |d: &[u8]| {
        decode(&raw(linktype::RAW, d), on).map(|d| match d {
            Decoded::Tcp(s) => s.checksum,
            _ => Checksum::NotChecked,
        })
    };
    assert_eq!(r(&good), Ok(Checksum::Good));
    assert_eq!(r(&bad), Ok(Checksum::Bad));
    let mut cut = raw(linktype::RAW, &good[..60]);
    cut.orig_len = good.len() as u32;
    let r_cut = decode(&cut, on).map(|d| match d {
        Decoded::Tcp(s) => s.checksum,
        _ => Checksum::NotChecked,
    });
    assert_eq!(r_cut, Ok(Checksum::Unverifiable));
    assert_eq!(
        dec(linktype::RAW, &bad).map(|s| s.checksum),
        Ok(Checksum::NotChecked)
    );
}

#[test]
fn ip_in_ip_and_vxlan_reach_the_inner_tcp() {
    let seg = data_segment();
    let inner = ip_packet(&seg, false);
    // IPv4 carrying IPv4 (protocol 4).
    let mut outer = vec![
        0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 4, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
    ];
    let total = (outer.len() + inner.len()) as u16;
    outer[2..4].copy_from_slice(&total.to_be_bytes());
    outer.extend_from_slice(&inner);
    assert_eq!(dec(linktype::RAW, &outer).map(|s| s.seq), Ok(seg.seq));
    // VXLAN: outer IPv4/UDP 4789, 8-byte VXLAN header, inner Ethernet.
    let eth = ethernet(&inner, &[]);
    let mut udp = vec![0x12, 0x34, 0x12, 0xb5, 0, 0, 0, 0];
    let ulen = (8 + 8 + eth.len()) as u16;
    udp[4..6].copy_from_slice(&ulen.to_be_bytes());
    udp.extend_from_slice(&[0x08, 0, 0, 0, 0, 0, 1, 0]);
    udp.extend_from_slice(&eth);
    let mut v = vec![
        0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
    ];
    let total = (v.len() + udp.len()) as u16;
    v[2..4].copy_from_slice(&total.to_be_bytes());
    v.extend_from_slice(&udp);
    assert_eq!(dec(linktype::RAW, &v).map(|s| s.payload_len), Ok(100));
}

#[test]
fn random_bytes_never_panic() {
    // A small deterministic xorshift so the test is repeatable.
    let mut rng = tcplens::testkit::XorShift::new(0x9e37_79b9_7f4a_7c15);
    let mut buf = [0u8; 200];
    for round in 0..20_000 {
        let len = (round % 199) + 1;
        for b in buf.iter_mut().take(len) {
            *b = rng.next_u64() as u8;
        }
        for lt in [
            linktype::ETHERNET,
            linktype::RAW,
            linktype::LINUX_SLL2,
            linktype::NULL,
        ] {
            let _ = dec(lt, &buf[..len]);
        }
    }
}

#[test]
fn pppoe_length_bounds_the_ip_packet_like_wireshark() {
    // A pure ACK whose IPv4 total length (46) counts 6 bytes of Ethernet padding that the
    // PPPoE length (42 = PPP protocol + 40-byte IP packet) excludes. Wireshark bounds the IP
    // packet by the PPPoE payload, so the segment carries no data.
    let mut l = Ladder::new();
    let mut ip = ip_packet(&l.c2s("A", 1, 1, 0), false);
    ip[2..4].copy_from_slice(&46u16.to_be_bytes());
    ip.extend_from_slice(&[0; 6]);
    let mut f = vec![
        0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x81, 0x00, 0, 5, 0x88, 0x64,
    ];
    f.extend_from_slice(&[0x11, 0x00, 0x12, 0x34]);
    f.extend_from_slice(&42u16.to_be_bytes());
    f.extend_from_slice(&[0x00, 0x21]);
    f.extend_from_slice(&ip);
    let got = dec(linktype::ETHERNET, &f).expect("decodes");
    assert_eq!(got.payload_len, 0);
    assert_eq!(got.ip_len, 40);
}

#[test]
fn an_ip_length_past_a_whole_frame_lies_and_only_real_bytes_count() {
    // Issue 14 row 13: IPv4 total length 65535 in a complete 54-byte frame (tcpdump:
    // "truncated-ip - 65481 bytes missing!"): no phantom payload.
    let mut l = Ladder::new();
    let seg = l.c2s("A", 1, 1, 0);
    let mut ip = ip_packet(&seg, false);
    ip[2..4].copy_from_slice(&65535u16.to_be_bytes());
    let frame = ethernet(&ip, &[]);
    let got = dec(linktype::ETHERNET, &frame).expect("decodes");
    assert!(got.len_past_frame);
    assert_eq!((got.payload_len, got.ip_len), (0, 40));
    assert!(!got.truncated());
    // The same bytes cut by the snap length: the header is believed.
    let cut = dec_cut(linktype::ETHERNET, &frame, 65535 + 14).expect("decodes");
    assert!(!cut.len_past_frame);
    assert_eq!(cut.payload_len, 65535 - 40);
}

#[test]
fn an_ipv6_extension_header_past_the_frame_is_malformed_not_ignored() {
    // Issue 14 row 15: a destination-options header claiming 2 KB in a whole frame.
    let mut v6 = vec![0x60, 0, 0, 0, 0, 16, 60, 64];
    v6.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    v6.extend_from_slice(&[0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    v6.extend_from_slice(&[6, 255, 1, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(dec(linktype::RAW, &v6), Err(Skip::MalformedIp));
    assert_eq!(
        dec_cut(linktype::RAW, &v6, v6.len() + 2048),
        Err(Skip::TruncatedIp)
    );
}
