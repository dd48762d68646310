//! Styles. The default theme uses only the 16 ANSI colours; the mono theme
//! (NO_COLOR, or `[ui] theme = "mono"`) sets no colour at all and marks
//! emphasis with REVERSED / BOLD / UNDERLINED only (with NO_COLOR crossterm's
//! colour reset would also drop REVERSED on a coloured cell).

use ratatui::style::{Color, Modifier, Style};

use crate::model::Status;

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub mono: bool,
}

impl Theme {
    pub fn colour() -> Theme {
        Theme { mono: false }
    }
    pub fn mono() -> Theme {
        Theme { mono: true }
    }
    /// From `[ui] theme` and the environment (`NO_COLOR` set and non-empty).
    pub fn from_settings(theme: &str, no_color: bool) -> Theme {
        if no_color || theme.eq_ignore_ascii_case("mono") {
            Theme::mono()
        } else {
            Theme::colour()
        }
    }
    /// Detect from the process environment.
    pub fn detect(theme: &str) -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme::from_settings(theme, no_color)
    }

    fn fg(&self, c: Color) -> Style {
        if self.mono {
            Style::default()
        } else {
            Style::default().fg(c)
        }
    }

    pub fn text(&self) -> Style {
        Style::default()
    }
    pub fn dim(&self) -> Style {
        if self.mono {
            Style::default()
        } else {
            Style::default().fg(Color::DarkGray)
        }
    }
    pub fn title(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }
    pub fn header(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn table_header(&self) -> Style {
        self.fg(Color::Yellow)
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }
    pub fn tab(&self) -> Style {
        Style::default()
    }
    pub fn tab_active(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }
    /// The selected row: REVERSED in both themes (never a background colour).
    pub fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }
    pub fn marked(&self) -> Style {
        self.fg(Color::Magenta).add_modifier(Modifier::BOLD)
    }
    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
    pub fn crit(&self) -> Style {
        if self.mono {
            Style::default().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
        } else {
            Style::default().fg(Color::Red).add_modifier(Modifier::BOLD)
        }
    }
    pub fn border(&self) -> Style {
        self.dim()
    }
    pub fn popup_border(&self) -> Style {
        self.fg(Color::Cyan)
    }
    /// A search match in a text view: readable without colour too.
    pub fn search(&self) -> Style {
        self.fg(Color::Yellow)
            .add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }
    pub fn input(&self) -> Style {
        Style::default().add_modifier(Modifier::UNDERLINED)
    }
    pub fn status(&self, s: Status) -> Style {
        match s {
            Status::Ok => self.ok(),
            Status::Warn => self.warn(),
            Status::Crit => self.crit(),
            Status::Unknown => self.dim(),
        }
    }
}
