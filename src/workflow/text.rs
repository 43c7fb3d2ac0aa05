//! Lines of a workflow's text: the line index behind [`Workflow::line`] and
//! [`Workflow::pos_at`], and YAML comments ([`comment_of`]).

use super::{Pos, Workflow};

/// The byte offset at which each line of a text starts, as [`str::lines`] splits it, and
/// the length of the text it was built for (a `text` changed afterwards to another length
/// is read the slow way). Derived data: it never makes two workflows unequal.
#[derive(Clone, Default)]
pub(super) struct LineIndex {
    pub(super) starts: Vec<usize>,
    pub(super) len: usize,
}

impl LineIndex {
    pub(super) fn new(text: &str) -> LineIndex {
        let mut starts = Vec::with_capacity(text.len() / 32 + 1);
        if !text.is_empty() {
            starts.push(0);
        }
        let bytes = text.as_bytes();
        let mut at = 0;
        while let Some(i) = bytes[at..].iter().position(|&b| b == b'\n') {
            let next = at + i + 1;
            if next < bytes.len() {
                starts.push(next);
            }
            at = next;
        }
        LineIndex {
            starts,
            len: text.len(),
        }
    }

    /// Line `idx` (0-based) of `text`, without its `\n` or `\r\n` ending, exactly as
    /// `text.lines().nth(idx)`.
    pub(super) fn line<'t>(&self, text: &'t str, idx: usize) -> Option<&'t str> {
        if self.len != text.len() {
            return text.lines().nth(idx);
        }
        let start = *self.starts.get(idx)?;
        let end = self.starts.get(idx + 1).copied().unwrap_or(text.len());
        let line = text.get(start..end)?;
        Some(match line.strip_suffix('\n') {
            Some(l) => l.strip_suffix('\r').unwrap_or(l),
            None => line,
        })
    }
}

impl PartialEq for LineIndex {
    fn eq(&self, _: &LineIndex) -> bool {
        true
    }
}

impl std::fmt::Debug for LineIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LineIndex({} lines)", self.starts.len())
    }
}

impl Workflow {
    /// The file's lines (1-based access through [`Workflow::line`]).
    pub fn line(&self, n: u32) -> Option<&str> {
        let idx = usize::try_from(n).ok()?.checked_sub(1)?;
        self.lines.line(&self.text, idx)
    }

    /// The 1-based line and column (in characters) of a byte offset into `text` (clamped to
    /// its length; an offset inside a character reads as 1:1).
    pub fn pos_at(&self, offset: usize) -> Pos {
        let text = self.text.as_str();
        let offset = offset.min(text.len());
        let (line, line_start) = if !text.is_char_boundary(offset) {
            (1, offset)
        } else if self.lines.len != text.len() {
            let before = &text[..offset];
            let newlines = before.bytes().filter(|&b| b == b'\n').count();
            (newlines + 1, before.rfind('\n').map_or(0, |i| i + 1))
        } else {
            // `starts` has every line start but one after a final `\n`.
            let starts = &self.lines.starts;
            if offset == text.len() && text.ends_with('\n') {
                (starts.len() + 1, offset)
            } else {
                let k = starts.partition_point(|&s| s <= offset);
                (
                    k.max(1),
                    starts.get(k.wrapping_sub(1)).copied().unwrap_or(0),
                )
            }
        };
        let col = text
            .get(line_start..offset)
            .map_or(0, |s| s.chars().count())
            + 1;
        Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(col).unwrap_or(u32::MAX),
        }
    }

    /// The comment on a line (text after a `#` that starts a comment), if any.
    pub fn comment_on(&self, n: u32) -> Option<&str> {
        comment_of(self.line(n)?)
    }
}

/// The comment part of a YAML line: from a `#` at the line start or after whitespace that
/// is not inside quotes.
pub fn comment_of(line: &str) -> Option<&str> {
    let mut quote: Option<char> = None;
    let mut prev_space = true;
    for (i, c) in line.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' if prev_space => quote = Some(c),
                '#' if prev_space => return line.get(i + 1..),
                _ => {}
            },
        }
        prev_space = c.is_whitespace();
    }
    None
}
