//! Zeek's likely server ports, which decide the originator of a connection whose first packet
//! is not a SYN (docs/analysis.md, "Orientation").

use std::net::IpAddr;

use crate::decode::Segment;

/// Zeek's likely server ports (docs/analysis.md#likely-server-ports), overridable for `--zeek-bare`.
#[derive(Clone, Debug)]
pub struct ServerPorts {
    ports: Vec<u16>,
}

impl ServerPorts {
    pub const ZEEK_DEFAULT: [u16; 49] = [
        21, 22, 25, 53, 79, 80, 81, 88, 135, 139, 143, 389, 443, 445, 465, 502, 514, 563, 585, 587,
        614, 631, 636, 989, 990, 992, 993, 995, 1080, 1434, 1883, 2811, 3128, 3268, 3306, 3389,
        5222, 5223, 5269, 5432, 6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888, 20000,
    ];

    pub fn zeek_default() -> ServerPorts {
        ServerPorts {
            ports: Self::ZEEK_DEFAULT.to_vec(),
        }
    }

    /// `zeek -b`: no protocol scripts, so no likely server ports.
    pub fn bare() -> ServerPorts {
        ServerPorts { ports: Vec::new() }
    }

    pub fn custom(ports: &[u16]) -> ServerPorts {
        ServerPorts {
            ports: ports.to_vec(),
        }
    }

    #[inline]
    pub fn contains(&self, port: u16) -> bool {
        self.ports.contains(&port)
    }

    /// Zeek's `WantConnection` role flip for a connection's first packet (docs/analysis.md#orientation rule 2, docs/analysis.md#zeek-connection-creation).
    pub fn flip_at_creation(&self, seg: &Segment) -> bool {
        let f = seg.flags;
        if f.syn() && !f.ack() {
            return false;
        }
        if let IpAddr::V4(a) = seg.dst.addr
            && a.is_broadcast()
        {
            return false;
        }
        if !self.contains(seg.src.port) {
            return false;
        }
        if self.contains(seg.dst.port) {
            !f.syn() && seg.src.port < seg.dst.port
        } else {
            true
        }
    }
}

impl Default for ServerPorts {
    fn default() -> Self {
        Self::zeek_default()
    }
}
