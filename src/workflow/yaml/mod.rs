//! A bounded YAML tree with a 1-based line and column on every key and value.
//!
//! Built from `saphyr-parser` events (YAML 1.2 syntax) rather than a ready-made document
//! type, so that the tree can be bounded while it is built (nesting depth, nodes created
//! by alias expansion — the "billion laughs" defence), duplicate mapping keys are reported
//! with both positions, and scalars keep their style so that YAML 1.1 readings (`on:` as
//! the boolean `true`, `yes`/`no`/`on`/`off` booleans) can be applied where they change
//! an outcome. Nothing here panics on any input.

use saphyr_parser::Span;

mod parse;
#[cfg(test)]
mod tests;

pub use parse::parse;

/// A position in a file: line and column, both 1-based (columns count characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl Pos {
    fn from_span(span: &Span) -> Pos {
        Pos {
            line: u32::try_from(span.start.line()).unwrap_or(u32::MAX).max(1),
            col: u32::try_from(span.start.col())
                .unwrap_or(u32::MAX - 1)
                .saturating_add(1),
        }
    }
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// How a scalar was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    /// Single- or double-quoted, or a plain scalar tagged as a string (`!!str yes`): either
    /// way a string, never a YAML 1.1 boolean, null or number.
    Quoted,
    /// `|` or `>` block scalar.
    Block,
}

/// A node's content.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Scalar(String, Style),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
}

/// A mapping entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key: Node,
    pub value: Node,
}

/// A node with its position (the start of the node's text).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub pos: Pos,
    pub kind: Kind,
}

/// YAML 1.1 booleans as PyYAML reads them (plain scalars only).
pub fn yaml11_bool(text: &str) -> Option<bool> {
    match text {
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(true),
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

impl Node {
    /// The scalar's text (any style).
    pub fn str(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(s, _) => Some(s),
            _ => None,
        }
    }

    /// A plain scalar's text.
    pub fn plain(&self) -> Option<&str> {
        match &self.kind {
            Kind::Scalar(s, Style::Plain) => Some(s),
            _ => None,
        }
    }

    /// `null`, `~` or nothing at all (plain).
    pub fn is_null(&self) -> bool {
        matches!(self.plain(), Some("" | "~" | "null" | "Null" | "NULL"))
    }

    /// The YAML 1.1 boolean reading of a plain scalar.
    pub fn bool11(&self) -> Option<bool> {
        self.plain().and_then(yaml11_bool)
    }

    pub fn entries(&self) -> &[Entry] {
        match &self.kind {
            Kind::Map(e) => e,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[Node] {
        match &self.kind {
            Kind::Seq(v) => v,
            _ => &[],
        }
    }

    pub fn is_map(&self) -> bool {
        matches!(self.kind, Kind::Map(_))
    }

    /// The entry for a string key. When a key repeats, the last one wins (what a YAML 1.1
    /// loader does; the repeat itself is reported separately).
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.entries()
            .iter()
            .rev()
            .find(|e| e.key.str() == Some(key))
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    /// Strings of a scalar or of a sequence of scalars.
    pub fn strings(&self) -> Vec<(String, Pos)> {
        match &self.kind {
            Kind::Scalar(s, _) if !self.is_null() => vec![(s.clone(), self.pos)],
            Kind::Seq(items) => items
                .iter()
                .filter_map(|n| n.str().map(|s| (s.to_string(), n.pos)))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Number of nodes in this subtree (itself included).
    pub fn count(&self) -> usize {
        match &self.kind {
            Kind::Scalar(..) => 1,
            Kind::Seq(v) => 1 + v.iter().map(Node::count).sum::<usize>(),
            Kind::Map(e) => {
                1 + e
                    .iter()
                    .map(|x| x.key.count() + x.value.count())
                    .sum::<usize>()
            }
        }
    }
}

/// Bounds on what one document may cost.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes of input.
    pub max_bytes: usize,
    /// Nesting depth of collections.
    pub max_depth: usize,
    /// Nodes in the tree, counting every node an alias expands to.
    pub max_nodes: usize,
    /// Alias uses.
    pub max_aliases: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 1 << 20,
            max_depth: 64,
            max_nodes: 200_000,
            max_aliases: 10_000,
        }
    }
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum YamlErrorKind {
    /// The text is not valid YAML.
    Syntax,
    /// A bound was exceeded (size, depth, alias expansion).
    Limit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub kind: YamlErrorKind,
    pub pos: Pos,
    pub message: String,
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at {})", self.message, self.pos)
    }
}

/// A key that appears twice in one mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    pub key: String,
    pub first: Pos,
    pub second: Pos,
}

/// A parsed document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// `None` for an empty file.
    pub root: Option<Node>,
    pub duplicates: Vec<Duplicate>,
}
