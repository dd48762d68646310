//! A form: labelled text fields, each with its own validation, errors shown
//! inline under the field. Tab/Down/Up move, Enter submits (every field is
//! validated; the first wrong one gets the focus), Esc cancels — after
//! asking, when something was typed ("Discard the changes? y/n").

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use crate::model::{toml_date, Date};
use crate::ui::msg::Request;
use crate::ui::theme::Theme;

pub type Validator = fn(&str) -> Result<(), String>;

#[derive(Debug, Clone)]
pub struct Field {
    pub key: String,
    pub label: String,
    pub value: String,
    /// Shown dimmed when the field is empty ("YYYY-MM-DD", "comma separated").
    pub hint: String,
    pub required: bool,
    pub validate: Option<Validator>,
    pub error: Option<String>,
    /// Shown only while the field `.0` holds one of `.1` (a backup's
    /// kind-specific fields); hidden fields are not validated nor submitted.
    pub when: Option<(String, Vec<&'static str>)>,
    /// Cursor position in chars.
    cursor: usize,
}

impl Field {
    pub fn new(key: &str, label: &str, value: impl Into<String>) -> Field {
        let value = value.into();
        Field {
            key: key.into(),
            label: label.into(),
            cursor: value.chars().count(),
            value,
            hint: String::new(),
            required: false,
            validate: None,
            error: None,
            when: None,
        }
    }
    /// Only while field `key` holds one of `values` (case-insensitive).
    pub fn when(mut self, key: &str, values: &[&'static str]) -> Field {
        self.when = Some((key.to_string(), values.to_vec()));
        self
    }
    pub fn required(mut self) -> Field {
        self.required = true;
        self
    }
    pub fn hint(mut self, h: &str) -> Field {
        self.hint = h.into();
        self
    }
    pub fn check(mut self, v: Validator) -> Field {
        self.validate = Some(v);
        self
    }
    fn run_validation(&mut self) -> bool {
        let v = self.value.trim();
        self.error = if self.required && v.is_empty() {
            Some(format!("{} is required", self.label))
        } else if v.is_empty() {
            None
        } else {
            self.validate.and_then(|f| f(v).err())
        };
        self.error.is_none()
    }
}

/// The values of a submitted form, by field key (trimmed).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FormValues(pub BTreeMap<String, String>);

impl FormValues {
    pub fn get(&self, key: &str) -> &str {
        self.0.get(key).map(|s| s.as_str()).unwrap_or("")
    }
    /// None when empty.
    pub fn opt(&self, key: &str) -> Option<String> {
        let v = self.get(key);
        (!v.is_empty()).then(|| v.to_string())
    }
    /// Comma-separated list, empty items dropped.
    pub fn list(&self, key: &str) -> Vec<String> {
        self.get(key)
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
    /// A date (already validated by [`date`]); None when empty or wrong.
    pub fn date(&self, key: &str) -> Option<Date> {
        self.opt(key).and_then(|s| toml_date::parse(&s).ok())
    }
    pub fn port(&self, key: &str) -> Option<u16> {
        self.opt(key).and_then(|s| s.parse().ok())
    }
}

#[derive(Debug, Clone)]
pub struct Form {
    /// What it is for: given back with `PaneEvent::FormSubmitted`.
    pub req: Request,
    pub title: String,
    pub fields: Vec<Field>,
    pub focus: usize,
    /// An error about the whole form (from the pane after submit).
    pub error: Option<String>,
    /// The values it was opened with (Esc asks before it drops changes).
    initial: Vec<String>,
    /// "Discard the changes?" is asked.
    asking_discard: bool,
}

pub enum FormOutcome {
    /// Still editing.
    Editing,
    Cancelled,
    Submitted(FormValues),
}

impl Form {
    pub fn new(req: Request, title: impl Into<String>, fields: Vec<Field>) -> Form {
        Form {
            req,
            title: title.into(),
            initial: fields.iter().map(|f| f.value.clone()).collect(),
            fields,
            focus: 0,
            error: None,
            asking_discard: false,
        }
    }

    /// Field `i` is shown (its `when` holds).
    pub fn visible(&self, i: usize) -> bool {
        let Some((key, values)) = &self.fields[i].when else {
            return true;
        };
        let v = self.value(key).unwrap_or("").trim().to_lowercase();
        values.iter().any(|x| *x == v)
    }

    /// The next shown field after (or before) `from`.
    fn step(&self, from: usize, forward: bool) -> usize {
        let n = self.fields.len();
        let mut i = from;
        for _ in 0..n {
            i = if forward {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            };
            if self.visible(i) {
                return i;
            }
        }
        from
    }

    /// Something was typed since it opened.
    pub fn changed(&self) -> bool {
        self.fields
            .iter()
            .zip(&self.initial)
            .any(|(f, v)| f.value.trim() != v.trim())
    }

    pub fn value(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|f| f.key == key)
            .map(|f| f.value.as_str())
    }

    /// Put errors (field key, message) from the pane on the fields; unknown
    /// keys become the form's error.
    pub fn set_errors(&mut self, errors: Vec<(String, String)>) {
        let mut first = None;
        for (k, m) in errors {
            match self.fields.iter().position(|f| f.key == k) {
                Some(i) => {
                    self.fields[i].error = Some(m);
                    first.get_or_insert(i);
                }
                None => self.error = Some(m),
            }
        }
        if let Some(i) = first {
            self.focus = i;
        }
    }

    pub fn handle_key(&mut self, key: KeyEvent) -> FormOutcome {
        let n = self.fields.len();
        if n == 0 {
            return FormOutcome::Cancelled;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if self.asking_discard {
            // y drops what was typed; any other key goes back to it
            self.asking_discard = false;
            if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                return FormOutcome::Cancelled;
            }
            return FormOutcome::Editing;
        }
        if key.code == KeyCode::Esc && self.changed() {
            self.asking_discard = true;
            return FormOutcome::Editing;
        }
        let f = &mut self.fields[self.focus];
        match key.code {
            KeyCode::Esc => return FormOutcome::Cancelled,
            KeyCode::Enter => {
                let mut first_bad = None;
                let shown: Vec<bool> = (0..n).map(|i| self.visible(i)).collect();
                for (i, field) in self.fields.iter_mut().enumerate() {
                    if !shown[i] {
                        field.error = None;
                        continue;
                    }
                    if !field.run_validation() && first_bad.is_none() {
                        first_bad = Some(i);
                    }
                }
                if let Some(i) = first_bad {
                    self.focus = i;
                    return FormOutcome::Editing;
                }
                self.error = None;
                let values = self
                    .fields
                    .iter()
                    .zip(shown)
                    .filter(|(_, on)| *on)
                    .map(|(f, _)| (f.key.clone(), f.value.trim().to_string()))
                    .collect();
                return FormOutcome::Submitted(FormValues(values));
            }
            KeyCode::Tab | KeyCode::Down => {
                f.run_validation();
                self.focus = self.step(self.focus, true);
            }
            KeyCode::BackTab | KeyCode::Up => {
                f.run_validation();
                self.focus = self.step(self.focus, false);
            }
            KeyCode::Left => f.cursor = f.cursor.saturating_sub(1),
            KeyCode::Right => f.cursor = (f.cursor + 1).min(f.value.chars().count()),
            KeyCode::Home => f.cursor = 0,
            KeyCode::End => f.cursor = f.value.chars().count(),
            KeyCode::Char('a') if ctrl => f.cursor = 0,
            KeyCode::Char('e') if ctrl => f.cursor = f.value.chars().count(),
            KeyCode::Char('u') if ctrl => {
                f.value.clear();
                f.cursor = 0;
                f.error = None;
            }
            KeyCode::Backspace => {
                if f.cursor > 0 {
                    let at = byte_at(&f.value, f.cursor - 1);
                    f.value.remove(at);
                    f.cursor -= 1;
                }
                f.error = None;
            }
            KeyCode::Delete => {
                if f.cursor < f.value.chars().count() {
                    let at = byte_at(&f.value, f.cursor);
                    f.value.remove(at);
                }
                f.error = None;
            }
            KeyCode::Char(c) if !ctrl && !c.is_control() => {
                let at = byte_at(&f.value, f.cursor);
                f.value.insert(at, c);
                f.cursor += 1;
                f.error = None;
            }
            _ => {}
        }
        FormOutcome::Editing
    }

    /// Draw centred in `area`.
    pub fn draw(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let label_w = self
            .fields
            .iter()
            .map(|f| f.label.chars().count() + usize::from(f.required))
            .max()
            .unwrap_or(0)
            + 2;
        let w = area.width.saturating_sub(4).clamp(20, 76).min(area.width);
        let inner_w = w.saturating_sub(2) as usize;
        let mut lines: Vec<Line> = Vec::new();
        for (i, f) in self.fields.iter().enumerate() {
            if !self.visible(i) {
                continue;
            }
            let focused = i == self.focus;
            let label = format!(
                "{:>w$}: ",
                format!("{}{}", f.label, if f.required { "*" } else { "" }),
                w = label_w - 2
            );
            let mut spans = vec![Span::styled(
                label,
                if focused { theme.key() } else { theme.text() },
            )];
            if f.value.is_empty() && !focused {
                spans.push(Span::styled(f.hint.clone(), theme.dim()));
            } else if focused {
                let at = byte_at(&f.value, f.cursor);
                let (a, b) = f.value.split_at(at);
                let mut rest = b.chars();
                let cur = rest.next().map(|c| c.to_string()).unwrap_or(" ".into());
                spans.push(Span::styled(a.to_string(), theme.input()));
                spans.push(Span::styled(cur, theme.selected()));
                spans.push(Span::styled(rest.as_str().to_string(), theme.input()));
                if f.value.is_empty() && !f.hint.is_empty() {
                    spans.push(Span::styled(format!(" {}", f.hint), theme.dim()));
                }
            } else {
                spans.push(Span::raw(f.value.clone()));
            }
            lines.push(Line::from(spans));
            if let Some(e) = &f.error {
                for row in error_rows(e, label_w, inner_w) {
                    lines.push(Line::from(vec![
                        Span::raw(" ".repeat(label_w)),
                        Span::styled(row, theme.error()),
                    ]));
                }
            }
        }
        if let Some(e) = &self.error {
            lines.push(Line::from(Span::styled(format!("! {e}"), theme.error())));
        }
        if self.asking_discard {
            lines.push(Line::from(vec![
                Span::styled("Discard the changes? ", theme.warn()),
                Span::styled("y", theme.key()),
                Span::raw(" discard  "),
                Span::styled("any other key", theme.key()),
                Span::raw(" back to the form"),
            ]));
        } else {
            lines.push(Line::from(vec![
                Span::styled("Enter", theme.key()),
                Span::raw(" save  "),
                Span::styled("Tab/↑↓", theme.key()),
                Span::raw(" field  "),
                Span::styled("Esc", theme.key()),
                Span::raw(" cancel  (* required)"),
            ]));
        }
        let h = (lines.len() as u16 + 2).min(area.height);
        let rect = super::popup::centered(area, w, h);
        frame.render_widget(Clear, rect);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.popup_border())
            .title(Span::styled(format!(" {} ", self.title), theme.title()));
        // keep the focused field in view on a short terminal
        let inner_h = h.saturating_sub(2) as usize;
        let focus_line: usize = self.fields[..self.focus.min(self.fields.len())]
            .iter()
            .enumerate()
            .filter(|(i, _)| self.visible(*i))
            .map(|(_, f)| {
                1 + f
                    .error
                    .as_ref()
                    .map_or(0, |e| error_rows(e, label_w, inner_w).len())
            })
            .sum();
        let scroll = focus_line.saturating_sub(inner_h.saturating_sub(2)) as u16;
        frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), rect);
    }
}

/// An error under a field ("! ..."), wrapped to the room right of the labels.
fn error_rows(e: &str, label_w: usize, inner_w: usize) -> Vec<String> {
    let room = inner_w.saturating_sub(label_w).max(12);
    crate::ui::widgets::scroll::wrap(&Line::raw(format!("! {e}")), room)
        .iter()
        .map(crate::ui::widgets::scroll::line_text)
        .collect()
}

fn byte_at(s: &str, char_idx: usize) -> usize {
    s.char_indices()
        .nth(char_idx)
        .map(|(i, _)| i)
        .unwrap_or(s.len())
}

// ------------------------------------------------------------ validators

pub fn date(s: &str) -> Result<(), String> {
    toml_date::parse(s).map(|_| ())
}

pub fn port(s: &str) -> Result<(), String> {
    match s.parse::<u16>() {
        Ok(p) if p > 0 => Ok(()),
        _ => Err("a port is a number from 1 to 65535".into()),
    }
}

pub fn email(s: &str) -> Result<(), String> {
    let ok = s.split_once('@').is_some_and(|(a, b)| {
        !a.is_empty() && b.contains('.') && !b.starts_with('.') && !b.ends_with('.')
    }) && !s.contains(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err("not an e-mail address (name@example.org)".into())
    }
}

pub fn duration(s: &str) -> Result<(), String> {
    crate::util::parse_duration(s).map(|_| ())
}

/// A name: no spaces, no control characters, not starting with '-' or '@'.
pub fn name(s: &str) -> Result<(), String> {
    if s.starts_with('-') || s.starts_with('@') {
        return Err("a name cannot start with '-' or '@'".into());
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a name cannot contain spaces".into());
    }
    Ok(())
}

/// Free text on one line.
pub fn line(s: &str) -> Result<(), String> {
    if s.chars().any(|c| c.is_control()) {
        return Err("control characters are not allowed".into());
    }
    Ok(())
}

/// Comma-separated words (tags, holds).
pub fn words(s: &str) -> Result<(), String> {
    for w in s.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        if w.contains(char::is_whitespace) {
            return Err(format!(
                "`{w}`: separate items with commas, no spaces inside"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn typing_validation_and_submit() {
        let mut f = Form::new(
            Request::AddHost,
            "Test",
            vec![
                Field::new("name", "Name", "").required().check(name),
                Field::new("date", "Date", "").check(date),
            ],
        );
        assert!(matches!(
            f.handle_key(k(KeyCode::Enter)),
            FormOutcome::Editing
        ));
        assert_eq!(f.fields[0].error.as_deref(), Some("Name is required"));
        for c in "ab c".chars() {
            f.handle_key(k(KeyCode::Char(c)));
        }
        f.handle_key(k(KeyCode::Tab));
        assert!(f.fields[0].error.as_deref().unwrap().contains("spaces"));
        for c in "2024-13-01".chars() {
            f.handle_key(k(KeyCode::Char(c)));
        }
        assert!(matches!(
            f.handle_key(k(KeyCode::Enter)),
            FormOutcome::Editing
        ));
        assert_eq!(f.focus, 0);
        f.handle_key(k(KeyCode::Left));
        f.handle_key(k(KeyCode::Backspace));
        assert_eq!(f.fields[0].value, "abc");
        f.handle_key(k(KeyCode::Tab));
        for _ in 0..4 {
            f.handle_key(k(KeyCode::Backspace));
        }
        for c in "2-01".chars() {
            f.handle_key(k(KeyCode::Char(c)));
        }
        match f.handle_key(k(KeyCode::Enter)) {
            FormOutcome::Submitted(v) => {
                assert_eq!(v.get("name"), "abc");
                assert_eq!(v.date("date").unwrap().to_string(), "2024-12-01");
            }
            _ => panic!("not submitted"),
        }
        // what was typed is not dropped without asking
        assert!(matches!(
            f.handle_key(k(KeyCode::Esc)),
            FormOutcome::Editing
        ));
        assert!(matches!(
            f.handle_key(k(KeyCode::Char('n'))),
            FormOutcome::Editing
        ));
        assert_eq!(f.fields[0].value, "abc");
        f.handle_key(k(KeyCode::Esc));
        assert!(matches!(
            f.handle_key(k(KeyCode::Char('y'))),
            FormOutcome::Cancelled
        ));
        // nothing typed: Esc closes at once
        let mut g = Form::new(Request::AddHost, "T", vec![Field::new("a", "A", "x")]);
        assert!(matches!(
            g.handle_key(k(KeyCode::Esc)),
            FormOutcome::Cancelled
        ));
    }

    #[test]
    fn validators() {
        assert!(email("a@b.org").is_ok());
        assert!(email("a@b").is_err());
        assert!(port("0").is_err());
        assert!(port("22").is_ok());
        assert!(words("a, b,c").is_ok());
        assert!(words("a b").is_err());
        assert!(duration("26h").is_ok());
    }

    #[test]
    fn pane_errors_land_on_fields() {
        let mut f = Form::new(
            Request::AddHost,
            "T",
            vec![Field::new("a", "A", ""), Field::new("b", "B", "")],
        );
        f.set_errors(vec![
            ("b".into(), "taken".into()),
            ("zz".into(), "other".into()),
        ]);
        assert_eq!(f.focus, 1);
        assert_eq!(f.fields[1].error.as_deref(), Some("taken"));
        assert_eq!(f.error.as_deref(), Some("other"));
    }
}
