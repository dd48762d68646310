//! Sorting a pane's rows by one of its columns (`o` cycles). Problems come
//! first by default: critical, warning, unknown, never checked, ok, as
//! k9s and lazygit put what needs attention on top.

use std::cmp::Ordering;

use crate::model::Status;

/// Rank of a status for "problems first" (higher is worse); None: never
/// checked, between unknown and ok.
pub fn problem_rank(s: Option<Status>) -> u8 {
    match s {
        Some(Status::Crit) => 4,
        Some(Status::Warn) => 3,
        Some(Status::Unknown) => 2,
        None => 1,
        Some(Status::Ok) => 0,
    }
}

/// The row indices `0..n` ordered by `cmp`, ties by index (stable).
pub fn order_by(n: usize, mut cmp: impl FnMut(usize, usize) -> Ordering) -> Vec<usize> {
    let mut v: Vec<usize> = (0..n).collect();
    v.sort_by(|&a, &b| cmp(a, b).then(a.cmp(&b)));
    v
}

/// Compare optional numbers, highest first, unknown last.
pub fn desc_f64(a: Option<f64>, b: Option<f64>) -> Ordering {
    match (a, b) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// A pane's sort: which column, by the `o` key in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub index: usize,
    pub names: &'static [&'static str],
}

impl Sort {
    pub const fn new(names: &'static [&'static str]) -> Sort {
        Sort { index: 0, names }
    }
    pub fn name(&self) -> &'static str {
        self.names[self.index % self.names.len()]
    }
    /// The next column; the message for the status line.
    pub fn advance(&mut self) -> String {
        self.index = (self.index + 1) % self.names.len();
        format!("sorted by {} (o: next)", self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_first_then_stable() {
        let st = [
            Some(Status::Ok),
            None,
            Some(Status::Crit),
            Some(Status::Unknown),
            Some(Status::Warn),
            Some(Status::Crit),
        ];
        let o = order_by(st.len(), |a, b| {
            problem_rank(st[b]).cmp(&problem_rank(st[a]))
        });
        assert_eq!(o, vec![2, 5, 4, 3, 1, 0]);
        assert_eq!(desc_f64(Some(1.0), None), Ordering::Less);
        let mut s = Sort::new(&["status", "name"]);
        assert_eq!(s.advance(), "sorted by name (o: next)");
        assert_eq!(s.name(), "name");
        s.advance();
        assert_eq!(s.name(), "status");
    }
}
