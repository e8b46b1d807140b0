//! IEEE 802.11 data frames and the radio headers in front of them in monitor-mode captures:
//! radiotap (radiotap.org), PPI (the Per-Packet Information header), Prism and AVS. A data
//! frame's body is 802.2 LLC/SNAP; an A-MSDU (QoS control bit 7) holds subframes, each a
//! destination, source and length followed by LLC/SNAP, padded to 4 bytes.

use super::{Segment, Skip, Walk, rest};

/// PPI's link type for an 802.11 frame.
const PPI_DLT_80211: u32 = 105;

impl Walk<'_> {
    /// Radiotap: version 0, pad, little-endian header length, present flags, fields.
    pub(super) fn radiotap(&mut self, d: &[u8]) -> Result<Segment, Skip> {
        let h = d.get(0..4).ok_or(Skip::TruncatedLink)?;
        let len = u16::from_le_bytes([h[2], h[3]]) as usize;
        if h[0] != 0 || len < 8 {
            return Err(Skip::TruncatedLink);
        }
        self.wifi(d.get(len..).ok_or(Skip::TruncatedLink)?)
    }

    /// PPI: version, flags, little-endian header length, little-endian link type.
    pub(super) fn ppi(&mut self, d: &[u8]) -> Result<Segment, Skip> {
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
    pub(super) fn prism(&mut self, d: &[u8]) -> Result<Segment, Skip> {
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
    pub(super) fn wifi(&mut self, d: &[u8]) -> Result<Segment, Skip> {
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
        // A-MSDU: the first subframe that holds a TCP segment (the others are counted with
        // the frame's outcome only).
        let mut off = 0;
        let mut last = Err(Skip::NotIp);
        for _ in 0..64 {
            let Some(sub) = body.get(off..off + 14) else {
                break;
            };
            let n = u16::from_be_bytes([sub[12], sub[13]]) as usize;
            let msdu = body
                .get(off + 14..off + 14 + n)
                .ok_or(Skip::TruncatedLink)?;
            let depth = self.depth;
            let hops = self.chain.len();
            match self.llc(msdu) {
                Ok(seg) => return Ok(seg),
                Err(e) => last = Err(e),
            }
            self.depth = depth;
            self.chain.truncate(hops);
            off += (14 + n + 3) & !3;
            if off >= body.len() {
                break;
            }
        }
        let _ = rest(body, 0);
        last
    }
}
