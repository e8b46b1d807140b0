//! What the capturing host says about a row (live with process attribution): a small Copy tag
//! for the lists, the filter and the sort, and the detail view's "kernel says" lines. Copied
//! from the engine-level join ([`crate::engine::attribution`]) on the driver's side.

use crate::engine::attribution::{FlowHost, SideHost};
use crate::report::host::{kernel_words, process_words, stale_check};
use crate::tcp::{NativeSummary, Role};

/// A process name as the kernel keeps it (`comm`: at most 15 bytes).
const NAME: usize = 15;

/// The process and kernel state of a row's local end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HostTag {
    /// Neither end is on this host.
    pub remote: bool,
    pub pid: Option<u32>,
    pub uid: Option<u32>,
    name: [u8; NAME],
    name_len: u8,
    /// The kernel's state of that end ("CLOSE-WAIT", "CLOSED" once gone).
    pub kernel_state: Option<&'static str>,
    /// The kernel's state matches the wire's.
    pub agrees: bool,
}

impl HostTag {
    pub fn of(h: &FlowHost<'_>, s: &NativeSummary) -> HostTag {
        let mut t = HostTag {
            remote: h.remote,
            pid: None,
            uid: None,
            name: [0; NAME],
            name_len: 0,
            kernel_state: None,
            agrees: true,
        };
        if let Some((role, side)) = h.primary() {
            t.uid = Some(side.owner.as_ref().map_or(side.uid, |o| o.uid));
            if let Some(o) = &side.owner {
                t.pid = Some(o.pid);
                // Cut on a character boundary.
                let mut n = o.name.len().min(NAME);
                while !o.name.is_char_boundary(n) {
                    n -= 1;
                }
                if let (Some(dst), Some(src)) = (t.name.get_mut(..n), o.name.as_bytes().get(..n)) {
                    dst.copy_from_slice(src);
                    t.name_len = n as u8;
                }
            }
            t.kernel_state = Some(side.kernel_state());
            t.agrees = side.agrees(FlowHost::wire_state(s, role));
        }
        t
    }

    pub fn name(&self) -> &str {
        self.name
            .get(..self.name_len as usize)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    /// The connections list's cell: `name/pid`, `remote`, or `-`.
    pub fn cell(&self) -> String {
        match self.pid {
            Some(pid) => format!("{}/{pid}", crate::display::escape_field(self.name())),
            None if self.remote => "remote".into(),
            None => "-".into(),
        }
    }

    /// Sort key: the name's bytes in order (unknown last).
    pub fn sort_key(&self) -> u128 {
        if self.pid.is_none() {
            return u128::MAX;
        }
        let mut b = [0u8; 16];
        if let Some(dst) = b.get_mut(..NAME) {
            dst.copy_from_slice(&self.name);
        }
        u128::from_be_bytes(b)
    }
}

fn side_lines(
    out: &mut Vec<String>,
    label: &str,
    side: &SideHost,
    wire: crate::tcp::EndpointState,
    s: &NativeSummary,
) {
    out.push(format!("{label}: {}", process_words(side)));
    let mut k = format!("  kernel says: {}", kernel_words(&side.sock));
    if !side.agrees(wire) {
        k.push_str(&format!(
            "  — DISAGREES: wire {}, kernel {}",
            wire.as_str(),
            side.kernel_state()
        ));
    }
    out.push(k);
    if let Some(c) = stale_check(s, side) {
        out.push(format!("  stale check: {c}"));
    }
}

/// The detail view's "kernel says" lines for a flow.
pub fn kernel_says(h: &FlowHost<'_>, s: &NativeSummary) -> Vec<String> {
    let mut out = Vec::new();
    if h.remote {
        out.push("remote: neither end is on this host (no process, no kernel socket here)".into());
        return out;
    }
    for (role, side, label) in [
        (Role::Orig, h.orig, "originator"),
        (Role::Resp, h.resp, "responder"),
    ] {
        if let Some(side) = side {
            side_lines(&mut out, label, side, FlowHost::wire_state(s, role), s);
        }
    }
    if out.is_empty() {
        out.push("no socket of this host matched (closed before the kernel was asked)".into());
    }
    out
}
