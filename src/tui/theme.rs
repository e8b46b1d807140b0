//! Colours. The UI uses the terminal's own 16-colour palette (so the user's theme applies and
//! light and dark backgrounds both work) and never colour alone: every meaning is also in the
//! text (verdict names, event names) or a glyph (graph marks). With colour off (`--color
//! never`, or `NO_COLOR` set and non-empty without `--color always`) no colour is emitted at
//! all; bold, reverse and underline stay, they are not colours.

use ratatui::style::{Color, Modifier, Style};

use crate::tcp::Verdict;
use crate::vocab::events::EventKind;

/// The styles of every view, with or without colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Default for Theme {
    fn default() -> Self {
        Theme { color: true }
    }
}

impl Theme {
    pub fn new(color: bool) -> Theme {
        Theme { color }
    }

    /// Foreground colour `c` (nothing without colour).
    pub fn fg(self, c: Color) -> Style {
        if self.color {
            Style::default().fg(c)
        } else {
            Style::default()
        }
    }

    /// Less important text: dimmed, not grey (grey vanishes on some palettes).
    pub fn dim(self) -> Style {
        Style::default().add_modifier(Modifier::DIM)
    }

    pub fn bold(self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }

    pub fn header(self) -> Style {
        Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }

    pub fn selected(self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }

    /// Something wrong the user must see (drops, errors): red and bold.
    pub fn alarm(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn good(self) -> Style {
        self.fg(Color::Green)
    }

    pub fn note(self) -> Style {
        self.fg(Color::Yellow)
    }

    pub fn accent(self) -> Style {
        self.fg(Color::Blue)
    }

    pub fn info(self) -> Style {
        self.fg(Color::Cyan)
    }

    /// A verdict's colour (the verdict's name is always shown with it).
    pub fn verdict(self, v: Verdict) -> Style {
        match v {
            Verdict::Stale => self.alarm(),
            Verdict::Rejected => self.fg(Color::Magenta),
            Verdict::Unanswered => self.fg(Color::Yellow),
            Verdict::Reset => self.fg(Color::Red),
            Verdict::StuckClose => self.fg(Color::LightMagenta),
            Verdict::HalfClosed => self.fg(Color::Cyan),
            Verdict::Closed => self.dim(),
            Verdict::Healthy => self.fg(Color::Green),
        }
    }

    /// An event's colour in the ladder (the event's name is always shown with it).
    pub fn event(self, k: EventKind) -> Style {
        match k {
            EventKind::Retransmission
            | EventKind::FastRetransmission
            | EventKind::SpuriousRetransmission
            | EventKind::Rst
            | EventKind::LostSegment => self.fg(Color::Red),
            EventKind::Keepalive | EventKind::KeepaliveAck => self.fg(Color::Yellow),
            EventKind::ZeroWindow
            | EventKind::ZeroWindowProbe
            | EventKind::ZeroWindowProbeAck
            | EventKind::WindowFull => self.fg(Color::Magenta),
            EventKind::DupAck | EventKind::OutOfOrder | EventKind::AckedUnseen => {
                self.fg(Color::Yellow)
            }
            _ => self.dim(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_colour_means_no_colour() {
        assert_eq!(Theme::new(false).fg(Color::Red), Style::default());
        assert_eq!(
            Theme::new(false).verdict(Verdict::Healthy),
            Style::default()
        );
    }
}
