//! The `/` filter of the list views: words that match a row's endpoints, states, classes and
//! verdict. Words are ANDed; `or` separates alternatives; `not` / `!` negates the next word.
//!
//! ```text
//! stale                 verdict stale
//! rst                   a RST was seen (or the verdict is reset)
//! port 443   :443  443  either endpoint's port
//! 10.0.0.1   host 10.0.0.1   10.0.0.0/24   10.0.0.1:443   [::1]:22
//! established  time-wait  syn_sent        either endpoint's state
//! complete  midstream  graceful  abortive_orig  open ...   handshake / close classes
//! keepalive  retx                          keepalive probes / retransmissions seen
//! stale or reset      not healthy      port 22 !established
//! tunnel   tunnel gtp   tunnel vxlan   !tunnel  found in a tunnel (of a kind, by name prefix)
//! proc nginx  pid 812  user www-data       live: the local end's process (name prefix), pid, user
//! disagree                                 live: the kernel's state differs from the wire's
//! ```

use std::net::IpAddr;

use crate::decode::Endpoint;
use crate::decode::tunnels::TunnelKind;
use crate::tcp::{EndpointState, Verdict};

use super::snapshot::FlowRow;
use crate::display::{CLOSES, HANDSHAKES};

#[derive(Clone, Debug, PartialEq)]
enum Atom {
    Port(u16),
    Addr(IpAddr),
    Net(IpAddr, u8),
    Endpoint(Endpoint),
    State(EndpointState),
    Handshake(usize),
    Close(usize),
    Verdict(Verdict),
    Rst,
    Keepalive,
    Retx,
    /// Found in a tunnel of one of these kinds (a set of `TunnelKind::bit`s).
    Tunnel(u16),
    /// The local end's process name starts with this (lower case).
    Proc(String),
    Pid(u32),
    Uid(u32),
    /// The kernel's state of the local end differs from the wire's.
    Disagree,
}

/// A word: it matches when any of its readings matches (e.g. `closed` is both the verdict and
/// the state CLOSED).
#[derive(Clone, Debug, PartialEq)]
struct Term {
    negated: bool,
    any: Vec<Atom>,
}

/// A parsed filter: alternatives (`or`) of conjunctions of words.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Filter {
    alternatives: Vec<Vec<Term>>,
}

/// Lower case, `-` and `_` the same.
fn norm(s: &str) -> String {
    s.to_ascii_lowercase().replace('-', "_")
}

fn word_atoms(w: &str) -> Vec<Atom> {
    let n = norm(w);
    let mut v = Vec::new();
    for s in EndpointState::ALL {
        if norm(s.as_str()) == n {
            v.push(Atom::State(s));
        }
    }
    for (i, h) in HANDSHAKES.iter().enumerate() {
        if h.as_str() == n {
            v.push(Atom::Handshake(i));
        }
    }
    for (i, c) in CLOSES.iter().enumerate() {
        if c.as_str() == n {
            v.push(Atom::Close(i));
        }
    }
    for verdict in Verdict::ALL {
        if verdict.as_str() == n {
            v.push(Atom::Verdict(verdict));
        }
    }
    match n.as_str() {
        "rst" => {
            v.push(Atom::Rst);
            v.push(Atom::Verdict(Verdict::Reset));
        }
        "keepalive" | "ka" => v.push(Atom::Keepalive),
        "retx" | "retransmission" | "retransmissions" => v.push(Atom::Retx),
        "estab" => v.push(Atom::State(EndpointState::Established)),
        "disagree" | "disagrees" => v.push(Atom::Disagree),
        _ => {}
    }
    if !v.is_empty() {
        return v;
    }
    if let Some(a) = address_atom(w) {
        v.push(a);
    }
    v
}

/// The tunnel kinds whose name starts with `w` (`gtp` → `gtp-u`), as a set of bits.
fn tunnel_kinds(w: &str) -> u16 {
    let n = norm(w);
    TunnelKind::ALL
        .iter()
        .filter(|k| norm(k.as_str()).starts_with(&n))
        .fold(0, |m, k| m | k.bit())
}

fn address_atom(w: &str) -> Option<Atom> {
    if let Ok(a) = w.parse::<IpAddr>() {
        return Some(Atom::Addr(a));
    }
    if let Some(p) = w.strip_prefix(':') {
        return p.parse().ok().map(Atom::Port);
    }
    if let Ok(p) = w.parse::<u16>() {
        return Some(Atom::Port(p));
    }
    if let Ok(sa) = w.parse::<std::net::SocketAddr>() {
        return Some(Atom::Endpoint(Endpoint {
            addr: sa.ip(),
            port: sa.port(),
        }));
    }
    if let Some((a, bits)) = w.split_once('/') {
        let a: IpAddr = a.parse().ok()?;
        let bits: u8 = bits.parse().ok()?;
        let max = if a.is_ipv4() { 32 } else { 128 };
        if bits <= max {
            return Some(Atom::Net(a, bits));
        }
    }
    None
}

fn in_net(a: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (a, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits as u32)
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits as u32)
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

impl Atom {
    fn matches(&self, r: &FlowRow) -> bool {
        match self {
            Atom::Port(p) => r.orig.port == *p || r.resp.port == *p,
            Atom::Addr(a) => r.orig.addr == *a || r.resp.addr == *a,
            Atom::Net(n, b) => in_net(r.orig.addr, *n, *b) || in_net(r.resp.addr, *n, *b),
            Atom::Endpoint(e) => r.orig == *e || r.resp == *e,
            Atom::State(s) => r.orig_state == *s || r.resp_state == *s,
            Atom::Handshake(i) => HANDSHAKES.get(*i) == Some(&r.handshake),
            Atom::Close(i) => CLOSES.get(*i) == Some(&r.close),
            Atom::Verdict(v) => r.verdict == *v,
            Atom::Rst => r.rst_seen,
            Atom::Keepalive => r.keepalive.is_some_and(|k| k.probes > 0),
            Atom::Retx => r.retransmissions > 0,
            Atom::Tunnel(kinds) => r.tunnels & kinds != 0,
            Atom::Proc(p) => r
                .host
                .is_some_and(|h| h.pid.is_some() && h.name().to_ascii_lowercase().starts_with(p)),
            Atom::Pid(p) => r.host.is_some_and(|h| h.pid == Some(*p)),
            Atom::Uid(u) => r.host.is_some_and(|h| h.uid == Some(*u)),
            Atom::Disagree => r.host.is_some_and(|h| !h.agrees),
        }
    }
}

impl Filter {
    /// Parse the filter line. An empty line is the empty filter (matches everything).
    pub fn parse(text: &str) -> Result<Filter, String> {
        let mut alternatives = vec![Vec::new()];
        let mut words = text.split_whitespace().peekable();
        let mut negate = false;
        while let Some(w) = words.next() {
            let lw = w.to_ascii_lowercase();
            match lw.as_str() {
                "and" | "&&" => continue,
                "or" | "||" => {
                    if negate {
                        return Err("'not' before 'or'".into());
                    }
                    alternatives.push(Vec::new());
                    continue;
                }
                "not" | "!" => {
                    negate = !negate;
                    continue;
                }
                _ => {}
            }
            let (neg_prefix, w) = match w.strip_prefix('!') {
                Some(rest) if !rest.is_empty() => (true, rest),
                _ => (false, w),
            };
            let any = match w.to_ascii_lowercase().as_str() {
                "port" => {
                    let p = words.next().ok_or("'port' needs a number")?;
                    vec![Atom::Port(
                        p.parse()
                            .map_err(|_| format!("'{p}' is not a port number"))?,
                    )]
                }
                "tunnel" | "tunnelled" | "tunneled" => {
                    // `tunnel` alone: any tunnel; `tunnel gtp`: a kind whose name starts so.
                    let kinds = words.peek().map(|k| tunnel_kinds(k)).unwrap_or(0);
                    if kinds != 0 {
                        words.next();
                        vec![Atom::Tunnel(kinds)]
                    } else {
                        vec![Atom::Tunnel(u16::MAX)]
                    }
                }
                "proc" | "process" => {
                    let p = words.next().ok_or("'proc' needs a process name")?;
                    vec![Atom::Proc(p.to_ascii_lowercase())]
                }
                "pid" => {
                    let p = words.next().ok_or("'pid' needs a number")?;
                    vec![Atom::Pid(
                        p.parse()
                            .map_err(|_| format!("'{p}' is not a process id"))?,
                    )]
                }
                "user" | "uid" => {
                    let u = words.next().ok_or("'user' needs a user name or uid")?;
                    let uid = match u.parse::<u32>() {
                        Ok(n) => n,
                        Err(_) => crate::host::procfs::uid_of(u)
                            .ok_or_else(|| format!("no user named '{u}'"))?,
                    };
                    vec![Atom::Uid(uid)]
                }
                "host" | "addr" | "net" => {
                    let a = words.next().ok_or("'host' needs an address")?;
                    match address_atom(a) {
                        Some(x @ (Atom::Addr(_) | Atom::Net(..) | Atom::Endpoint(_))) => vec![x],
                        _ => return Err(format!("'{a}' is not an address")),
                    }
                }
                _ => {
                    let v = word_atoms(w);
                    if v.is_empty() {
                        return Err(format!("unknown word '{w}'"));
                    }
                    v
                }
            };
            if let Some(last) = alternatives.last_mut() {
                last.push(Term {
                    negated: negate ^ neg_prefix,
                    any,
                });
            }
            negate = false;
        }
        if negate {
            return Err("'not' needs a word after it".into());
        }
        if alternatives.len() > 1 && alternatives.iter().any(|a| a.is_empty()) {
            return Err("'or' needs words on both sides".into());
        }
        Ok(Filter { alternatives })
    }

    pub fn is_empty(&self) -> bool {
        self.alternatives.iter().all(|a| a.is_empty())
    }

    pub fn matches(&self, r: &FlowRow) -> bool {
        self.alternatives.iter().any(|terms| {
            terms
                .iter()
                .all(|t| t.any.iter().any(|a| a.matches(r)) != t.negated)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::{CloseClass, HandshakeClass};
    use crate::time::Ts;
    use std::net::Ipv4Addr;

    fn row(port: u16, verdict: Verdict) -> FlowRow {
        FlowRow {
            id: 0,
            orig: Endpoint {
                addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                port: 40000,
            },
            resp: Endpoint {
                addr: IpAddr::V4(Ipv4Addr::new(192, 168, 1, 9)),
                port,
            },
            orig_state: EndpointState::Established,
            resp_state: EndpointState::Closed,
            handshake: HandshakeClass::Complete,
            close: CloseClass::Open,
            close_detail: None,
            verdict,
            pkts: 3,
            bytes: 0,
            retransmissions: 0,
            keepalive: None,
            rst_seen: false,
            first_ts: Ts(0),
            last_ts: Ts(0),
            quiet_since: Ts(0),
            stale: None,
            tunnels: 0,
            host: None,
        }
    }

    #[test]
    fn words_ports_addresses_and_negation() {
        let r = row(443, Verdict::Stale);
        let ok = |s: &str| Filter::parse(s).unwrap().matches(&r);
        assert!(ok(""));
        assert!(ok("stale"));
        assert!(ok("port 443"));
        assert!(ok(":443"));
        assert!(ok("443"));
        assert!(!ok("port 80"));
        assert!(ok("192.168.1.9"));
        assert!(ok("host 10.0.0.1"));
        assert!(ok("192.168.0.0/16"));
        assert!(!ok("192.168.2.0/24"));
        assert!(ok("192.168.1.9:443"));
        assert!(!ok("::1")); // an IPv6 address, not port 1
        assert!(ok("not ::1"));
        assert!(ok("ESTABLISHED"));
        assert!(ok("closed")); // the state CLOSED, although the verdict is not "closed"
        assert!(ok("complete open"));
        assert!(!ok("not stale"));
        assert!(ok("!healthy"));
        assert!(ok("healthy or port 443"));
        assert!(!ok("healthy or port 80"));
        assert!(!ok("rst"));
        assert!(ok("time-wait or stale"));
    }

    #[test]
    fn tunnel_words_match_the_kinds_a_flow_was_found_in() {
        let mut r = row(80, Verdict::Closed);
        let ok = |r: &FlowRow, s: &str| Filter::parse(s).unwrap().matches(r);
        assert!(!ok(&r, "tunnel"));
        assert!(ok(&r, "!tunnel"));
        r.tunnels = TunnelKind::GtpU.bit() | TunnelKind::Vxlan.bit();
        assert!(ok(&r, "tunnel"));
        assert!(ok(&r, "tunnel gtp"));
        assert!(ok(&r, "tunnel vxlan port 80"));
        assert!(!ok(&r, "tunnel teredo"));
        assert!(!ok(&r, "tunnel gre"));
        // A word after `tunnel` that names no kind is a word of its own.
        assert!(ok(&r, "tunnel closed"));
    }

    #[test]
    fn process_pid_and_user_words_match_the_local_end() {
        use crate::engine::attribution::{FlowHost, SideHost};
        use crate::host::{HostSocket, KernelSocket, KernelTimer, Owner};
        use std::sync::Arc;
        let mut r = row(443, Verdict::Stale);
        let ok = |r: &FlowRow, s: &str| Filter::parse(s).unwrap().matches(r);
        assert!(!ok(&r, "proc nginx"), "no host information offline");
        let sock = Arc::new(HostSocket {
            kernel: KernelSocket {
                local: "10.0.0.1:40000".parse().unwrap(),
                remote: "192.168.1.9:443".parse().unwrap(),
                state: 8,
                timer: KernelTimer::None,
                expires_ms: 0,
                uid: 33,
                inode: 7,
                info: None,
            },
            owner: None,
            user: None,
            first_seen: Ts(0),
            last_seen: Ts(0),
            present: true,
        });
        let side = SideHost {
            sock: sock.clone(),
            owner: Some(Arc::new(Owner {
                pid: 812,
                name: "nginx".into(),
                cmdline: "nginx: worker".into(),
                uid: 33,
                user: Some("www-data".into()),
                container: None,
            })),
            uid: 33,
            user: None,
        };
        let h = FlowHost {
            orig: Some(&side),
            resp: None,
            remote: false,
        };
        let mut l = crate::testkit::Ladder::new();
        let mut e = crate::Engine::new(crate::Config::default());
        for seg in [
            l.c2s("S", 0, 0, 0),
            l.s2c("SA", 0, 1, 0),
            l.c2s("A", 1, 1, 0),
        ] {
            e.on_segment(&seg);
        }
        let f = e.flows().next().unwrap();
        let s = f.summary(e.now(), &e.cfg.native);
        assert_eq!(s.orig_state, EndpointState::Established);
        r.host = Some(super::super::host::HostTag::of(&h, &s));
        assert!(ok(&r, "proc nginx"));
        assert!(ok(&r, "proc NGI"));
        assert!(!ok(&r, "proc curl"));
        assert!(ok(&r, "pid 812"));
        assert!(!ok(&r, "pid 813"));
        assert!(ok(&r, "user 33"));
        assert!(ok(&r, "disagree"), "wire ESTABLISHED, kernel CLOSE-WAIT");
        assert!(Filter::parse("pid x").is_err());
        assert!(Filter::parse("user no-such-user-here").is_err());
    }

    #[test]
    fn bad_words_are_errors() {
        assert!(Filter::parse("port").is_err());
        assert!(Filter::parse("port http").is_err());
        assert!(Filter::parse("bogus").is_err());
        assert!(Filter::parse("stale or").is_err());
        assert!(Filter::parse("not").is_err());
    }
}
