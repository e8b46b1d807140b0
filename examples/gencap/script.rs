//! Connection scripts: the traffic mixes of `--shape`, and the planned packets of one
//! connection (handshake, exchanges, keepalives, close) with their seq/ack numbers.

use super::Rng;

/// The traffic mix of normal mode (`--shape`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Shape {
    /// Mostly small request/response exchanges, some idle connections and failed handshakes;
    /// 5 % with an 802.1Q tag (the shape `make bench` has always timed).
    Mixed,
    /// Payload-heavy: HTTP/TLS-sized requests and responses in full-sized segments, every
    /// frame QinQ-tagged (802.1ad service tag + 802.1Q customer tag).
    Payload,
    /// Many short connections: 56 % unanswered SYNs (some retransmitted), 40 % rejected with
    /// an RST, 4 % short exchanges that take the rest of the packet budget.
    Short,
}

impl Shape {
    pub(super) fn parse(v: &str) -> Option<Shape> {
        match v {
            "mixed" => Some(Shape::Mixed),
            "payload" => Some(Shape::Payload),
            "short" => Some(Shape::Short),
            _ => None,
        }
    }
}

/// What a connection's script does when its packet count alone does not decide it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// As the packet count plans it (a 2-packet connection is rejected or unanswered by chance).
    Planned,
    /// A SYN nobody answers (retransmitted when it has 2 or more packets).
    Unanswered,
    /// A SYN answered by RST+ACK.
    Rejected,
}

/// One planned packet of a connection.
#[derive(Clone, Copy)]
pub(super) struct Op {
    /// Seconds since the capture's epoch.
    pub(super) t: f64,
    pub(super) c2s: bool,
    pub(super) flags: &'static str,
    /// Relative sequence and acknowledgment numbers, as the ladder takes them.
    pub(super) seq: u32,
    pub(super) ack: u32,
    pub(super) len: u32,
    /// Raw window field (already scaled down after the handshake).
    pub(super) win: u16,
}

/// Builds one connection's script with exactly the planned number of packets.
struct Script<'r> {
    rng: &'r mut Rng,
    ops: Vec<Op>,
    t: f64,
    /// Next relative sequence number of each side (0 = the SYN).
    cseq: u32,
    sseq: u32,
    rtt: f64,
    mss: u32,
    shape: Shape,
}

impl Script<'_> {
    fn push(&mut self, c2s: bool, flags: &'static str, len: u32, dt: f64) {
        self.t += dt;
        let (seq, ack) = if c2s {
            (self.cseq, self.sseq)
        } else {
            (self.sseq, self.cseq)
        };
        let handshake = flags.contains('S');
        let win = if handshake { 64240 } else { 501 };
        self.ops.push(Op {
            t: self.t,
            c2s,
            flags,
            seq,
            ack,
            len,
            win,
        });
        let used = len + handshake as u32 + flags.contains('F') as u32;
        if c2s {
            self.cseq = self.cseq.wrapping_add(used);
        } else {
            self.sseq = self.sseq.wrapping_add(used);
        }
    }

    /// The same bytes again (retransmission), not advancing the sequence.
    fn again(&mut self, c2s: bool, flags: &'static str, seq: u32, len: u32, dt: f64) {
        self.t += dt;
        let ack = if c2s { self.sseq } else { self.cseq };
        self.ops.push(Op {
            t: self.t,
            c2s,
            flags,
            seq,
            ack,
            len,
            win: 501,
        });
    }

    fn half(&mut self) -> f64 {
        self.rtt * self.rng.range(0.45, 0.55)
    }
    fn back_to_back(&mut self) -> f64 {
        self.rng.range(5e-6, 60e-6)
    }

    fn handshake(&mut self) {
        self.push(true, "S", 0, 0.0);
        let d = self.half();
        self.push(false, "SA", 0, d);
        let d = self.half();
        self.push(true, "A", 0, d);
    }

    /// Request/response exchanges until the budget is spent.
    fn exchanges(&mut self, mut budget: u32) {
        while budget > 0 {
            let total = if self.shape == Shape::Payload {
                // HTTP/TLS-sized: a request of one segment with headers (a TLS record), a
                // response from an API answer to a large object, sent in full segments.
                let think = self.rng.exp(0.05);
                let rq = 200 + self.rng.below(600) as u32;
                self.push(true, "PA", rq, think);
                let u = self.rng.unit();
                let total = if u < 0.7 {
                    200 + self.rng.below(1_200)
                } else if u < 0.95 {
                    2_000 + self.rng.below(10_000)
                } else {
                    12_000 + self.rng.below(116_000)
                };
                total as u32
            } else {
                // Request.
                let think = self.rng.exp(0.15);
                let rq = 30 + self.rng.below(150) as u32;
                self.push(true, "PA", rq, think);
                // Response: mostly small, sometimes several full segments.
                if self.rng.chance(0.03) {
                    1_000 + self.rng.below(8_000) as u32
                } else {
                    20 + self.rng.below(180) as u32
                }
            };
            budget -= 1;
            let mut left = total;
            let mut unacked = 0;
            let mut first = true;
            while left > 0 && budget > 0 {
                let len = left.min(self.mss);
                left -= len;
                let dt = if first {
                    self.half()
                } else {
                    self.back_to_back()
                };
                first = false;
                let fl = if left == 0 { "PA" } else { "A" };
                let seq = self.sseq;
                self.push(false, fl, len, dt);
                budget -= 1;
                unacked += 1;
                if budget > 0 && self.rng.chance(0.02) {
                    // Lost beyond the capture point: the server retransmits after its RTO.
                    let rto = 0.2 + self.rtt;
                    self.again(false, fl, seq, len, rto);
                    budget -= 1;
                }
                if unacked == 2 && budget > 0 {
                    let d = self.half();
                    self.push(true, "A", 0, d);
                    budget -= 1;
                    unacked = 0;
                }
            }
            if unacked > 0 && budget > 0 {
                // Delayed ACK.
                let d = self.half() + 0.04;
                self.push(true, "A", 0, d);
                budget -= 1;
            }
        }
    }

    /// Keepalive probes (seq = next - 1, no data) every `interval`, ACKed unless the peer died.
    fn keepalives(&mut self, mut budget: u32) {
        let interval = self.rng.range(2.0, 10.0);
        let dead = self.rng.chance(0.2);
        while budget > 0 {
            let seq = self.cseq.wrapping_sub(1);
            self.again(true, "A", seq, 0, interval);
            budget -= 1;
            if budget > 0 && !dead {
                let d = self.half();
                self.push(false, "A", 0, d);
                budget -= 1;
            }
        }
    }

    fn close(&mut self, kind: u8) {
        match kind {
            4 => {
                // Client closes first, four segments; or the server does.
                let client_first = self.rng.chance(0.7);
                let think = self.rng.exp(0.05);
                self.push(client_first, "FA", 0, think);
                let d = self.half();
                self.push(!client_first, "A", 0, d);
                let d = self.back_to_back() + self.rng.exp(0.01);
                self.push(!client_first, "FA", 0, d);
                let d = self.half();
                self.push(client_first, "A", 0, d);
            }
            3 => {
                let think = self.rng.exp(0.05);
                self.push(true, "FA", 0, think);
                let d = self.half();
                self.push(false, "FA", 0, d);
                let d = self.half();
                self.push(true, "A", 0, d);
            }
            1 => {
                let think = self.rng.exp(0.05);
                if self.rng.chance(0.7) {
                    self.push(true, "RA", 0, think);
                } else {
                    self.push(false, "R", 0, think);
                }
            }
            _ => {}
        }
    }
}

/// The script of a connection with exactly `k` packets, starting at `t0`.
pub(super) fn script(
    rng: &mut Rng,
    k: u32,
    t0: f64,
    v6: bool,
    shape: Shape,
    kind: Kind,
) -> Vec<Op> {
    let rtt = if rng.chance(0.7) {
        rng.range(0.0005, 0.01)
    } else {
        rng.range(0.01, 0.12)
    };
    // Full-sized segments fill a 1500-byte MTU with the timestamps option (IPv6: 20 B less);
    // some paths have a smaller MTU.
    let mss = match (rng.chance(0.9), v6) {
        (true, false) => 1448,
        (true, true) => 1428,
        (false, _) => 1220,
    };
    let mut s = Script {
        rng,
        ops: Vec::with_capacity(k as usize),
        t: t0,
        cseq: 0,
        sseq: 0,
        rtt,
        mss,
        shape,
    };
    match (k, kind) {
        (0, _) => {}
        (1, _) => s.push(true, "S", 0, 0.0),
        (_, Kind::Unanswered) => {
            // The SYN and its retransmissions, the timeout doubling from 1 s (RFC 6298).
            let mut rto = 1.0;
            s.push(true, "S", 0, 0.0);
            for _ in 1..k {
                s.again(true, "S", 0, 0, rto);
                rto *= 2.0;
            }
        }
        (_, Kind::Rejected) => {
            s.push(true, "S", 0, 0.0);
            let d = s.half();
            s.push(false, "RA", 0, d);
            // Anything planned beyond the RST: the client tries again and is refused again.
            for _ in 2..k {
                let d = s.half();
                s.again(true, "S", 0, 0, 0.5);
                s.again(false, "RA", 0, 0, d);
            }
            s.ops.truncate(k as usize);
        }
        (2, _) => {
            s.push(true, "S", 0, 0.0);
            if s.rng.chance(0.5) {
                // Rejected.
                let d = s.half();
                s.push(false, "RA", 0, d);
            } else {
                // Unanswered: the SYN again after 1 s.
                s.again(true, "S", 0, 0, 1.0);
            }
        }
        (3, _) => s.handshake(),
        _ => {
            s.handshake();
            let r = s.rng.unit();
            let idle = s.rng.chance(0.1) && k >= 6;
            let mut close = if r < 0.62 {
                4
            } else if r < 0.8 {
                3
            } else if r < 0.92 {
                1
            } else {
                0
            };
            if idle && s.rng.chance(0.6) {
                close = 0;
            }
            while 3 + close > k {
                close = match close {
                    4 => 3,
                    3 => 1,
                    _ => 0,
                };
            }
            let middle = k - 3 - close;
            if idle {
                // A few keepalive rounds after the exchanges (the budget left over).
                let ka = middle.min(4 + s.rng.below(8) as u32);
                s.exchanges(middle - ka);
                s.keepalives(ka);
            } else {
                s.exchanges(middle);
            }
            s.close(close as u8);
        }
    }
    debug_assert_eq!(s.ops.len(), k as usize);
    s.ops
}
