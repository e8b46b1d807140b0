//! Headless reports. They read engine state only; no TCP fact is derived here.

pub mod events;
pub mod json;
pub mod text;
pub mod zeek;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_field("a\tb\nc\x1b[2J"), "a\\x09b\\x0ac\\x1b[2J");
        assert_eq!(escape_field("plain"), "plain");
    }
}
