//! IEEE 802.11 data frames and the radio headers in front of them in monitor-mode captures:
//! radiotap (radiotap.org), PPI (the Per-Packet Information header), Prism and AVS. A data
//! frame's body is 802.2 LLC/SNAP; an A-MSDU (QoS control bit 7) holds subframes, each a
//! destination, source and length followed by LLC/SNAP, padded to 4 bytes (IEEE 802.11-2020
//! clause 9.3.2.2.2). A frame gives one segment: an A-MSDU's first subframe that holds a TCP segment;
//! later subframes that carry TCP are counted on that segment ([`Segment::amsdu_rest`]) and
//! reported as not decoded, never dropped silently (docs/encapsulations.md).

use super::{Skip, Walk, rest};

/// PPI's link type for an 802.11 frame.
const PPI_DLT_80211: u32 = 105;

impl Walk<'_> {
    /// Radiotap: version 0, pad, little-endian header length, present flags, fields.
    pub(super) fn radiotap(&mut self, d: &[u8]) -> Result<(), Skip> {
        let h = d.get(0..4).ok_or(Skip::TruncatedLink)?;
        let len = u16::from_le_bytes([h[2], h[3]]) as usize;
        if h[0] != 0 || len < 8 {
            return Err(Skip::TruncatedLink);
        }
        self.wifi(d.get(len..).ok_or(Skip::TruncatedLink)?)
    }

    /// PPI: version, flags, little-endian header length, little-endian link type.
    pub(super) fn ppi(&mut self, d: &[u8]) -> Result<(), Skip> {
        let h = d.get(0..8).ok_or(Skip::TruncatedLink)?;
        let len = u16::from_le_bytes([h[2], h[3]]) as usize;
        let dlt = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        let body = d.get(len.max(8)..).ok_or(Skip::TruncatedLink)?;
        match dlt {
            PPI_DLT_80211 => self.wifi(body),
            1 => self.ethernet(body),
            _ => Err(Skip::NotIp),
        }
    }

    /// Prism (a 144-byte header whose little-endian message length is at offset 4) or AVS
    /// (magic 0x80211001/0x80211000, big-endian header length at offset 4).
    pub(super) fn prism(&mut self, d: &[u8]) -> Result<(), Skip> {
        let h = d.get(0..8).ok_or(Skip::TruncatedLink)?;
        let magic = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
        let len = if magic & 0xffff_fff0 == 0x8021_1000 {
            u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize
        } else {
            u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as usize
        };
        self.wifi(d.get(len.max(8)..).ok_or(Skip::TruncatedLink)?)
    }

    /// An 802.11 frame: data frames only (management and control frames carry no IP).
    pub(super) fn wifi(&mut self, d: &[u8]) -> Result<(), Skip> {
        let h = d.get(0..24).ok_or(Skip::TruncatedLink)?;
        let (fc0, fc1) = (h[0], h[1]);
        if (fc0 >> 2) & 0x03 != 2 {
            return Err(Skip::NotIp);
        }
        let subtype = fc0 >> 4;
        if subtype & 0x04 != 0 {
            return Err(Skip::NotIp); // null-data frames carry no body
        }
        let mut len = 24;
        if fc1 & 0x03 == 0x03 {
            len += 6; // fourth address (wireless distribution system)
        }
        let mut amsdu = false;
        if subtype & 0x08 != 0 {
            let qos = *d.get(len).ok_or(Skip::TruncatedLink)?;
            amsdu = qos & 0x80 != 0;
            len += 2;
            if fc1 & 0x80 != 0 {
                len += 4; // HT control (the Order bit in a QoS data frame)
            }
        }
        if fc1 & 0x40 != 0 {
            return Err(Skip::WifiProtected);
        }
        let body = d.get(len..).ok_or(Skip::TruncatedLink)?;
        if !amsdu {
            return self.llc(body);
        }
        // A-MSDU: the first subframe that holds a TCP segment; the TCP in the subframes after
        // it is counted on that segment.
        let mut subframes = Subframes {
            body,
            off: 0,
            read: 0,
        };
        let mut last = Err(Skip::NotIp);
        while let Some(msdu) = subframes.next() {
            let msdu = msdu?;
            let depth = self.depth;
            let hops = self.chain.len();
            match self.llc(msdu) {
                Ok(()) => {
                    let rest = subframes.filter(|m| m.is_ok_and(carries_tcp)).count();
                    self.out.amsdu_rest = u8::try_from(rest).unwrap_or(u8::MAX);
                    return Ok(());
                }
                Err(e) => last = Err(e),
            }
            self.depth = depth;
            self.chain.truncate(hops);
        }
        let _ = rest(body, 0);
        last
    }
}

/// Most subframes read from one A-MSDU (bounds the work on hostile input).
const MAX_SUBFRAMES: usize = 64;

/// The MSDUs of an A-MSDU body in order: each after its 14-byte subframe header (destination,
/// source, big-endian length), subframes padded to 4 bytes. A length running past the body is
/// a truncated link layer, and ends the walk.
struct Subframes<'a> {
    body: &'a [u8],
    off: usize,
    read: usize,
}

impl<'a> Iterator for Subframes<'a> {
    type Item = Result<&'a [u8], Skip>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.off >= self.body.len() || self.read >= MAX_SUBFRAMES {
            return None;
        }
        self.read += 1;
        let sub = self.body.get(self.off..self.off + 14)?;
        let n = u16::from_be_bytes([sub[12], sub[13]]) as usize;
        let Some(msdu) = self.body.get(self.off + 14..self.off + 14 + n) else {
            self.off = self.body.len();
            return Some(Err(Skip::TruncatedLink));
        };
        self.off += (14 + n + 3) & !3;
        Some(Ok(msdu))
    }
}

/// Does an MSDU hold a TCP segment right behind its LLC/SNAP header (IPv4 protocol 6, IPv6
/// next header 6)? A look at two bytes, not a decode: the frame's segment is already chosen.
fn carries_tcp(msdu: &[u8]) -> bool {
    let Some(h) = msdu.get(0..8) else {
        return false;
    };
    if h[0..3] != [0xaa, 0xaa, 0x03] {
        return false;
    }
    let ip = rest(msdu, 8);
    match u16::from_be_bytes([h[6], h[7]]) {
        super::link::ETH_IPV4 => ip.first().is_some_and(|b| b >> 4 == 4) && ip.get(9) == Some(&6),
        super::link::ETH_IPV6 => ip.first().is_some_and(|b| b >> 4 == 6) && ip.get(6) == Some(&6),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::{DecodeOptions, Decoded, RawFrame, decode, linktype};
    use crate::engine::{Config, Engine};
    use crate::testkit::{Ladder, ip_packet};

    /// One A-MSDU subframe: destination, source, big-endian length, LLC/SNAP with `ethertype`,
    /// the packet; padded to 4 bytes unless it is the last.
    fn subframe(ethertype: u16, packet: &[u8], last: bool) -> Vec<u8> {
        let mut s = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1];
        s.extend_from_slice(&(8 + packet.len() as u16).to_be_bytes());
        s.extend_from_slice(&[0xaa, 0xaa, 0x03, 0, 0, 0]);
        s.extend_from_slice(&ethertype.to_be_bytes());
        s.extend_from_slice(packet);
        while !last && s.len() % 4 != 0 {
            s.push(0);
        }
        s
    }

    /// A QoS data frame to the DS (link type 105) whose A-MSDU holds, in order: the data
    /// segment, an ARP request, the client's next data segment, and its ACK of the reply.
    fn amsdu_frame() -> (Vec<u8>, crate::decode::Segment) {
        let mut l = Ladder::new();
        let first = l.c2s("PA", 1, 1, 10);
        let second = l.c2s("PA", 11, 1, 20);
        let ack = l.c2s("A", 31, 21, 0);
        let mut f = vec![0x88, 0x01, 0, 0]; // QoS data, to DS; duration
        f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0xaa]); // BSSID
        f.extend_from_slice(&[0x02, 0, 0, 0, 0, 1]); // source
        f.extend_from_slice(&[0x02, 0, 0, 0, 0, 2]); // destination
        f.extend_from_slice(&[0x10, 0]); // sequence control
        f.extend_from_slice(&[0x80, 0]); // QoS control: A-MSDU present, TID 0
        let arp = [[0, 1, 8, 0, 6, 4, 0, 1].as_slice(), &[0; 20]].concat();
        f.extend(subframe(0x0800, &ip_packet(&first, false), false));
        f.extend(subframe(0x0806, &arp, false));
        f.extend(subframe(0x0800, &ip_packet(&second, false), false));
        f.extend(subframe(0x0800, &ip_packet(&ack, false), true));
        (f, first)
    }

    // The frame of `amsdu_frame` written to a pcap (link type 105) and read by tshark 4.0.17
    // (`tshark -V --disable-protocol gsm_ipa`: port 5000's payload is otherwise taken for
    // GSM IPA, which stops the dissection), abridged; frame.protocols is
    // wlan:llc:ip:tcp:data:llc:arp:llc:ip:tcp:data:llc:ip:tcp.
    //
    //   IEEE 802.11 QoS Data, Flags: .......T
    //           .... .... 1... .... = Payload Type: A-MSDU
    //   IEEE 802.11 Aggregate MSDU
    //       A-MSDU Subframe #1
    //           A-MSDU Length: 58
    //           Internet Protocol Version 4, Src: 10.0.0.1, Dst: 10.0.0.2
    //           Transmission Control Protocol, Src Port: 40000, Dst Port: 5000, Seq: 1, Ack: 1, Len: 10
    //       A-MSDU Subframe #2
    //           A-MSDU Length: 36
    //           Address Resolution Protocol (ARP Announcement)
    //       A-MSDU Subframe #3
    //           A-MSDU Length: 68
    //           Transmission Control Protocol, Src Port: 40000, Dst Port: 5000, Seq: 11, Ack: 1, Len: 20
    //       A-MSDU Subframe #4
    //           A-MSDU Length: 48
    //           Transmission Control Protocol, Src Port: 40000, Dst Port: 5000, Seq: 31, Ack: 21, Len: 0
    #[test]
    fn an_amsdu_gives_its_first_segment_and_counts_the_later_tcp_subframes() {
        let (frame, first) = amsdu_frame();
        let raw = RawFrame {
            frame: 1,
            ts: first.ts,
            linktype: linktype::IEEE802_11,
            data: &frame,
            orig_len: frame.len() as u32,
        };
        let Ok(Decoded::Tcp(seg)) = decode(&raw, DecodeOptions::default()) else {
            panic!("the first subframe's segment");
        };
        assert_eq!(
            (seg.src, seg.dst, seg.seq),
            (first.src, first.dst, first.seq)
        );
        assert_eq!(seg.payload_len, 10);
        // The ARP subframe is not TCP; the two after it are.
        assert_eq!(seg.amsdu_rest, 2);

        // The engine analyses the first and names the two others as not decoded.
        let mut e = Engine::new(Config::default());
        e.on_frame(&raw);
        assert_eq!(e.stats().tcp_segments, 1);
        assert_eq!(e.stats().skipped(Skip::AmsduSubframe), 2);
        let (lost, line) = e
            .stats()
            .classified_warnings()
            .into_iter()
            .find(|(_, w)| w.contains("A-MSDU"))
            .expect("a warning names the subframes");
        assert!(lost, "part of the input was not analysed: {line}");
        assert_eq!(
            line,
            "2 frames in 802.11 A-MSDU subframes after a frame's first TCP segment, not decoded"
        );
    }

    #[test]
    fn an_amsdu_whose_later_subframes_hold_no_tcp_counts_nothing() {
        let mut l = Ladder::new();
        let seg = l.c2s("S", 0, 0, 0);
        let mut f = vec![0x88, 0x01, 0, 0];
        f.extend_from_slice(&[0; 18]);
        f.extend_from_slice(&[0x10, 0, 0x80, 0]);
        f.extend(subframe(0x0800, &ip_packet(&seg, false), false));
        f.extend(subframe(0x0806, &[0; 28], false));
        let raw = RawFrame {
            frame: 1,
            ts: seg.ts,
            linktype: linktype::IEEE802_11,
            data: &f,
            orig_len: f.len() as u32,
        };
        let Ok(Decoded::Tcp(got)) = decode(&raw, DecodeOptions::default()) else {
            panic!("a segment");
        };
        assert_eq!(got.amsdu_rest, 0);
        // A later subframe whose length runs past the frame is not counted either.
        let mut cut = f.clone();
        cut.extend(subframe(0x0800, &ip_packet(&seg, false), true));
        cut.truncate(cut.len() - 4);
        let raw = RawFrame {
            data: &cut,
            orig_len: cut.len() as u32,
            ..raw
        };
        let Ok(Decoded::Tcp(got)) = decode(&raw, DecodeOptions::default()) else {
            panic!("a segment");
        };
        assert_eq!(got.amsdu_rest, 0);
    }
}
