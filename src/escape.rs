//! Text from the network or the system made safe to print: one place that turns control
//! characters into escapes, for the reports, the terminal UI and the one-line error messages.

/// Make a string from the network or the system safe for a terminal or a TSV field: control
/// characters, tabs and newlines become `\xNN` escapes, as Zeek does.
pub fn escape_field(s: &str) -> std::borrow::Cow<'_, str> {
    // Printable ASCII (uids, histories, addresses) is the rule: checked byte by byte.
    if s.bytes().all(|b| (0x20..0x7f).contains(&b)) || !s.chars().any(|c| c.is_control()) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}
