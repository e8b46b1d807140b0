//! The one key table. [`KEYMAP`] drives [`super::App::handle_key`] (through [`lookup`]), the
//! help overlay ([`help_rows`]), the status-line hints ([`hints`]) and the README's key table
//! ([`markdown_table`]; a test checks the README holds exactly that table).

use crossterm::event::KeyCode;

/// What a key does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Help,
    Quit,
    /// Back to the previous view (at home: clear the filter, then quit).
    Back,
    Connections,
    Stale,
    Overview,
    NextView,
    PrevView,
    Filter,
    Sort,
    Reverse,
    Pause,
    Step,
    Open,
    Down,
    Up,
    PageDown,
    PageUp,
    HalfDown,
    HalfUp,
    Top,
    Bottom,
    NextEvent,
    PrevEvent,
    /// Detail view: switch between the ladder and the graphs.
    Graphs,
    ZoomIn,
    ZoomOut,
    PanLeft,
    PanRight,
    ZoomReset,
    /// Write the selected connection's packets to a pcap file.
    Save,
    /// Only described (the mouse is handled by [`super::App::handle_mouse`]).
    Mouse,
    /// Stale panel: group the rows by process (live attribution), or not.
    GroupByProcess,
}

/// Where a key works.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every view.
    All,
    /// The connections and stale lists.
    Lists,
    /// The connections list only.
    Connections,
    /// The stale panel only.
    Stale,
    /// The lists and the detail view's ladder.
    Rows,
    /// The detail view (ladder and graphs).
    Detail,
    /// Where a connection is selected or open (lists, ladder, graphs).
    Save,
    /// The detail view's ladder.
    Ladder,
    /// The detail view's graphs.
    Graphs,
}

/// Which screen the key arrives at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Place {
    Connections,
    Stale,
    Overview,
    Ladder,
    Graphs,
}

impl Scope {
    pub fn covers(self, p: Place) -> bool {
        match self {
            Scope::All => true,
            Scope::Lists => matches!(p, Place::Connections | Place::Stale),
            Scope::Connections => p == Place::Connections,
            Scope::Stale => p == Place::Stale,
            Scope::Rows => matches!(p, Place::Connections | Place::Stale | Place::Ladder),
            Scope::Detail => matches!(p, Place::Ladder | Place::Graphs),
            Scope::Save => p != Place::Overview,
            Scope::Ladder => p == Place::Ladder,
            Scope::Graphs => p == Place::Graphs,
        }
    }

    fn words(self) -> &'static str {
        match self {
            Scope::All => "everywhere",
            Scope::Lists => "lists",
            Scope::Connections => "connections",
            Scope::Stale => "stale panel",
            Scope::Rows => "lists, ladder",
            Scope::Detail => "detail",
            Scope::Save => "lists, detail",
            Scope::Ladder => "ladder",
            Scope::Graphs => "graphs",
        }
    }
}

/// A key: its code and whether Ctrl is held.
pub type Key = (KeyCode, bool);

const fn k(c: char) -> Key {
    (KeyCode::Char(c), false)
}

const fn ctrl(c: char) -> Key {
    (KeyCode::Char(c), true)
}

/// One row of the table.
#[derive(Clone, Copy, Debug)]
pub struct Binding {
    pub keys: &'static [Key],
    /// How the keys are written in the help and the README.
    pub label: &'static str,
    pub scope: Scope,
    pub command: Command,
    pub help: &'static str,
    /// Shown in the status line of the places it covers (a word or two).
    pub hint: Option<&'static str>,
}

const fn b(
    keys: &'static [Key],
    label: &'static str,
    scope: Scope,
    command: Command,
    help: &'static str,
    hint: Option<&'static str>,
) -> Binding {
    Binding {
        keys,
        label,
        scope,
        command,
        help,
        hint,
    }
}

/// Every key of the UI. The first binding whose scope covers the place wins.
#[rustfmt::skip]
pub const KEYMAP: &[Binding] = &[
    b(&[(KeyCode::Down, false), k('j')], "↓ j", Scope::Rows, Command::Down, "move down one row", None),
    b(&[(KeyCode::Up, false), k('k')], "↑ k", Scope::Rows, Command::Up, "move up one row", Some("↑↓ move")),
    b(&[(KeyCode::PageDown, false)], "PgDn", Scope::Rows, Command::PageDown, "move down one page", None),
    b(&[(KeyCode::PageUp, false)], "PgUp", Scope::Rows, Command::PageUp, "move up one page", None),
    b(&[ctrl('d')], "Ctrl-d", Scope::Rows, Command::HalfDown, "move down half a page", None),
    b(&[ctrl('u')], "Ctrl-u", Scope::Rows, Command::HalfUp, "move up half a page", None),
    b(&[(KeyCode::Home, false), k('g')], "g Home", Scope::Rows, Command::Top, "first row", None),
    b(&[(KeyCode::End, false), k('G')], "G End", Scope::Rows, Command::Bottom, "last row", Some("g/G ends")),
    b(&[], "mouse wheel", Scope::All, Command::Mouse, "scroll (graphs: zoom); click selects, click again opens", None),
    b(&[(KeyCode::Enter, false)], "Enter", Scope::Lists, Command::Open, "open the connection: summary, ladder, graphs", Some("Enter open")),
    b(&[k('/')], "/", Scope::Lists, Command::Filter, "filter: stale rst port 443 10.0.0.1 established …", Some("/ filter")),
    b(&[k('s')], "s", Scope::Connections, Command::Sort, "sort by the next column", Some("s sort")),
    b(&[k('S')], "S", Scope::Connections, Command::Reverse, "reverse the sort order", None),
    b(&[k('P')], "P", Scope::Stale, Command::GroupByProcess, "live: group the stale connections by process", Some("P by process")),
    b(&[k('n')], "n", Scope::Ladder, Command::NextEvent, "next segment with an event (retx, keepalive…)", Some("n/N next event")),
    b(&[k('N')], "N", Scope::Ladder, Command::PrevEvent, "previous segment with an event", None),
    b(&[k('v')], "v", Scope::Detail, Command::Graphs, "switch between the ladder and the graphs", Some("v graphs/ladder")),
    b(&[k('+'), k('=')], "+ =", Scope::Graphs, Command::ZoomIn, "zoom in (half the time range)", Some("+/- zoom")),
    b(&[k('-')], "-", Scope::Graphs, Command::ZoomOut, "zoom out (twice the time range)", None),
    b(&[(KeyCode::Left, false), k('h')], "← h", Scope::Graphs, Command::PanLeft, "pan to earlier times", Some("←→ pan")),
    b(&[(KeyCode::Right, false), k('l')], "→ l", Scope::Graphs, Command::PanRight, "pan to later times", None),
    b(&[k('0')], "0", Scope::Graphs, Command::ZoomReset, "the whole connection", Some("0 all")),
    b(&[k('w')], "w", Scope::Save, Command::Save, "write the connection's packets to a pcap file", Some("w save pcap")),
    b(&[k('1')], "1", Scope::All, Command::Connections, "connections", None),
    b(&[k('2')], "2", Scope::All, Command::Stale, "stale panel", None),
    b(&[k('3')], "3", Scope::All, Command::Overview, "overview over time", None),
    b(&[(KeyCode::Tab, false)], "Tab", Scope::All, Command::NextView, "next view", Some("Tab view")),
    b(&[(KeyCode::BackTab, false)], "Shift-Tab", Scope::All, Command::PrevView, "previous view", None),
    b(&[k('p'), k(' ')], "p Space", Scope::All, Command::Pause, "pause (live: the display; replay: the packets too)", None),
    b(&[k('.')], ".", Scope::All, Command::Step, "replay: pause and feed the next packet (step)", None),
    b(&[k('?')], "?", Scope::All, Command::Help, "this help", Some("? help")),
    b(&[(KeyCode::Esc, false)], "Esc", Scope::All, Command::Back, "back; at home clear the filter, then quit", Some("Esc back")),
    b(&[k('q')], "q", Scope::All, Command::Quit, "quit (in a sub-view: back)", Some("q quit")),
    b(&[ctrl('c')], "Ctrl-c", Scope::All, Command::Quit, "quit", None),
];

/// The command of `key` at `place`, if any.
pub fn lookup(code: KeyCode, ctrl_held: bool, place: Place) -> Option<Command> {
    KEYMAP
        .iter()
        .filter(|b| b.scope.covers(place))
        .find(|b| b.keys.iter().any(|&(c, cm)| c == code && cm == ctrl_held))
        .map(|b| b.command)
}

/// The help overlay's rows for `place`: the keys that work there, in table order.
pub fn help_rows(place: Place) -> Vec<(&'static str, &'static str)> {
    KEYMAP
        .iter()
        .filter(|b| b.scope.covers(place))
        .map(|b| (b.label, b.help))
        .collect()
}

/// The status line's hints for `place`.
pub fn hints(place: Place) -> String {
    KEYMAP
        .iter()
        .filter(|b| b.scope.covers(place))
        .filter_map(|b| b.hint)
        .collect::<Vec<_>>()
        .join("  ")
}

/// The README's key table (Markdown).
pub fn markdown_table() -> String {
    let mut s = String::from("| key | where | what |\n|---|---|---|\n");
    for b in KEYMAP {
        s.push_str(&format!(
            "| `{}` | {} | {} |\n",
            b.label,
            b.scope.words(),
            b.help
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_bound_twice_in_one_place() {
        for p in [
            Place::Connections,
            Place::Stale,
            Place::Overview,
            Place::Ladder,
            Place::Graphs,
        ] {
            let mut seen = Vec::new();
            for b in KEYMAP.iter().filter(|b| b.scope.covers(p)) {
                for key in b.keys {
                    assert!(!seen.contains(key), "{key:?} twice at {p:?}");
                    seen.push(*key);
                }
            }
        }
    }

    /// Every key of the table does what the table says wherever the table says it works:
    /// handle_key, the help and the hints are driven by the same rows.
    #[test]
    fn every_binding_reaches_its_command() {
        let places = [
            Place::Connections,
            Place::Stale,
            Place::Overview,
            Place::Ladder,
            Place::Graphs,
        ];
        for b in KEYMAP {
            for &p in places.iter().filter(|p| b.scope.covers(**p)) {
                for &(code, ctrl) in b.keys {
                    assert_eq!(
                        lookup(code, ctrl, p),
                        Some(b.command),
                        "{} at {p:?}",
                        b.label
                    );
                }
                assert!(help_rows(p).contains(&(b.label, b.help)));
                if let Some(h) = b.hint {
                    assert!(hints(p).contains(h));
                }
            }
        }
    }

    #[test]
    fn lookup_respects_the_place() {
        assert_eq!(
            lookup(KeyCode::Char('s'), false, Place::Connections),
            Some(Command::Sort)
        );
        assert_eq!(lookup(KeyCode::Char('s'), false, Place::Stale), None);
        assert_eq!(
            lookup(KeyCode::Char('c'), true, Place::Graphs),
            Some(Command::Quit)
        );
        assert_eq!(
            lookup(KeyCode::Char('+'), false, Place::Graphs),
            Some(Command::ZoomIn)
        );
        assert_eq!(lookup(KeyCode::Char('+'), false, Place::Ladder), None);
    }
}
