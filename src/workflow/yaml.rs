//! A bounded YAML tree with a 1-based line and column on every key and value.
//!
//! Built from `saphyr-parser` events (YAML 1.2 syntax) rather than a ready-made document
//! type, so that the tree can be bounded while it is built (nesting depth, nodes created
//! by alias expansion — the "billion laughs" defence), duplicate mapping keys are reported
//! with both positions, and scalars keep their style so that YAML 1.1 readings (`on:` as
//! the boolean `true`, `yes`/`no`/`on`/`off` booleans) can be applied where they change
//! an outcome. Nothing here panics on any input.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

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

enum Frame {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Node>,
    },
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<Entry>,
        pending_key: Option<Node>,
    },
}

struct Builder {
    limits: Limits,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    aliases: usize,
    root: Option<Node>,
    duplicates: Vec<Duplicate>,
    documents: usize,
}

fn limit(pos: Pos, message: String) -> YamlError {
    YamlError {
        kind: YamlErrorKind::Limit,
        pos,
        message,
    }
}

/// The key as a YAML 1.1 loader compares it: `on`, `yes` and `true` are one key; a plain
/// and a quoted `x` are one key; a complex key equals only a structurally equal one.
#[derive(Clone, Copy)]
enum KeyId<'a> {
    Bool(bool),
    Str(&'a str),
    Complex(&'a Kind),
}

impl<'a> KeyId<'a> {
    fn of(key: &'a Node) -> KeyId<'a> {
        match &key.kind {
            Kind::Scalar(s, Style::Plain) => match yaml11_bool(s) {
                Some(b) => KeyId::Bool(b),
                None => KeyId::Str(s),
            },
            Kind::Scalar(s, _) => KeyId::Str(s),
            other => KeyId::Complex(other),
        }
    }
}

impl PartialEq for KeyId<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (KeyId::Bool(a), KeyId::Bool(b)) => a == b,
            (KeyId::Str(a), KeyId::Str(b)) => a == b,
            (KeyId::Complex(a), KeyId::Complex(b)) => a == b,
            _ => false,
        }
    }
}

// Equality on `Kind` is structural over strings, styles and positions: reflexive.
impl Eq for KeyId<'_> {}

impl std::hash::Hash for KeyId<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            KeyId::Bool(b) => (0u8, b).hash(state),
            KeyId::Str(s) => (1u8, s).hash(state),
            // Rare: every complex key shares one bucket and is compared structurally.
            KeyId::Complex(_) => 2u8.hash(state),
        }
    }
}

/// For each entry, the position of the first earlier key with the same identity.
fn first_of_same_key(entries: &[Entry]) -> Vec<Option<Pos>> {
    // Small mappings (nearly all of them) are scanned; large ones are hashed.
    const SCAN_UP_TO: usize = 16;
    let mut out = Vec::with_capacity(entries.len());
    if entries.len() <= SCAN_UP_TO {
        for (i, e) in entries.iter().enumerate() {
            let id = KeyId::of(&e.key);
            out.push(
                entries[..i]
                    .iter()
                    .find(|x| KeyId::of(&x.key) == id)
                    .map(|x| x.key.pos),
            );
        }
    } else {
        let mut seen: HashMap<KeyId<'_>, Pos> = HashMap::with_capacity(entries.len());
        for e in entries {
            match seen.entry(KeyId::of(&e.key)) {
                std::collections::hash_map::Entry::Occupied(o) => out.push(Some(*o.get())),
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(e.key.pos);
                    out.push(None);
                }
            }
        }
    }
    out
}

fn key_label(key: &Node) -> String {
    key.str()
        .map_or_else(|| "<complex key>".into(), str::to_string)
}

impl Builder {
    fn add_nodes(&mut self, n: usize, pos: Pos) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > self.limits.max_nodes {
            return Err(limit(
                pos,
                format!(
                    "the document expands to more than {} nodes (aliases multiply nodes; a YAML bomb?)",
                    self.limits.max_nodes
                ),
            ));
        }
        Ok(())
    }

    fn push_node(&mut self, node: Node, anchor: usize) -> Result<(), YamlError> {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => *pending_key = Some(node),
                Some(key) => entries.push(Entry { key, value: node }),
            },
        }
        Ok(())
    }

    fn open(&mut self, frame: Frame, pos: Pos) -> Result<(), YamlError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(limit(
                pos,
                format!(
                    "nesting deeper than {} levels is refused",
                    self.limits.max_depth
                ),
            ));
        }
        self.add_nodes(1, pos)?;
        self.stack.push(frame);
        Ok(())
    }

    fn close_map(&mut self, pos: Pos) -> Result<(), YamlError> {
        match self.stack.pop() {
            Some(Frame::Map {
                pos: start,
                anchor,
                entries,
                pending_key,
            }) => {
                let mut entries = entries;
                if let Some(key) = pending_key {
                    // A key with no value event cannot happen in valid event streams; keep it.
                    let vpos = key.pos;
                    entries.push(Entry {
                        key,
                        value: Node {
                            pos: vpos,
                            kind: Kind::Scalar(String::new(), Style::Plain),
                        },
                    });
                }
                for (e, first) in entries.iter().zip(first_of_same_key(&entries)) {
                    if let Some(first) = first {
                        let d = Duplicate {
                            key: key_label(&e.key),
                            first,
                            second: e.key.pos,
                        };
                        if !self.duplicates.contains(&d) {
                            self.duplicates.push(d);
                        }
                    }
                }
                self.push_node(
                    Node {
                        pos: start,
                        kind: Kind::Map(entries),
                    },
                    anchor,
                )
            }
            _ => Err(YamlError {
                kind: YamlErrorKind::Syntax,
                pos,
                message: "unbalanced mapping end".into(),
            }),
        }
    }

    fn close_seq(&mut self, pos: Pos) -> Result<(), YamlError> {
        match self.stack.pop() {
            Some(Frame::Seq {
                pos: start,
                anchor,
                items,
            }) => self.push_node(
                Node {
                    pos: start,
                    kind: Kind::Seq(items),
                },
                anchor,
            ),
            _ => Err(YamlError {
                kind: YamlErrorKind::Syntax,
                pos,
                message: "unbalanced sequence end".into(),
            }),
        }
    }

    fn event(&mut self, ev: Event<'_>, span: &Span) -> Result<(), YamlError> {
        let pos = Pos::from_span(span);
        match ev {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(YamlError {
                        kind: YamlErrorKind::Syntax,
                        pos,
                        message: "more than one YAML document in a workflow file".into(),
                    });
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.add_nodes(1, pos)?;
                // A tag other than the core !!bool/!!int/!!float/!!null makes a plain scalar
                // a string (`on: !!str push`, `x: !!str yes`), as PyYAML reads it.
                let string_tag = tag.as_ref().is_some_and(|t| {
                    !matches!(t.suffix.as_str(), "bool" | "int" | "float" | "null")
                });
                let style = match style {
                    ScalarStyle::Plain if !string_tag => Style::Plain,
                    ScalarStyle::Plain | ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => {
                        Style::Quoted
                    }
                    _ => Style::Block,
                };
                self.push_node(
                    Node {
                        pos,
                        kind: Kind::Scalar(text.into_owned(), style),
                    },
                    anchor,
                )?;
            }
            Event::SequenceStart(anchor, _) => self.open(
                Frame::Seq {
                    pos,
                    anchor,
                    items: Vec::new(),
                },
                pos,
            )?,
            Event::SequenceEnd => self.close_seq(pos)?,
            Event::MappingStart(anchor, _) => self.open(
                Frame::Map {
                    pos,
                    anchor,
                    entries: Vec::new(),
                    pending_key: None,
                },
                pos,
            )?,
            Event::MappingEnd => self.close_map(pos)?,
            Event::Alias(id) => {
                self.aliases += 1;
                if self.aliases > self.limits.max_aliases {
                    return Err(limit(
                        pos,
                        format!("more than {} aliases", self.limits.max_aliases),
                    ));
                }
                let Some(target) = self.anchors.get(&id) else {
                    return Err(YamlError {
                        kind: YamlErrorKind::Syntax,
                        pos,
                        message: "alias to an unknown anchor".into(),
                    });
                };
                let (n, d) = (target.count(), depth(target));
                // Check the budget before cloning, so a bomb never allocates.
                self.add_nodes(n, pos)?;
                if self.stack.len() + d > self.limits.max_depth {
                    return Err(limit(
                        pos,
                        format!(
                            "an alias expands to nesting deeper than {} levels",
                            self.limits.max_depth
                        ),
                    ));
                }
                let Some(mut copy) = self.anchors.get(&id).cloned() else {
                    return Ok(());
                };
                copy.pos = pos;
                self.push_node(copy, 0)?;
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
        Ok(())
    }
}

fn depth(n: &Node) -> usize {
    match &n.kind {
        Kind::Scalar(..) => 0,
        Kind::Seq(v) => 1 + v.iter().map(depth).max().unwrap_or(0),
        Kind::Map(e) => {
            1 + e
                .iter()
                .map(|x| depth(&x.key).max(depth(&x.value)))
                .max()
                .unwrap_or(0)
        }
    }
}

/// Parses one YAML document within `limits`. Never panics (fuzzed: `tests/workflow_fuzz.rs`).
pub fn parse(text: &str, limits: Limits) -> Result<Document, YamlError> {
    if text.len() > limits.max_bytes {
        return Err(limit(
            Pos { line: 1, col: 1 },
            format!(
                "the file is {} bytes; more than {} is refused",
                text.len(),
                limits.max_bytes
            ),
        ));
    }
    let mut b = Builder {
        limits,
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        aliases: 0,
        root: None,
        duplicates: Vec::new(),
        documents: 0,
    };
    for item in Parser::new_from_str(text) {
        match item {
            Ok((ev, span)) => b.event(ev, &span)?,
            Err(e) => {
                let m = e.marker();
                return Err(YamlError {
                    kind: YamlErrorKind::Syntax,
                    pos: Pos {
                        line: u32::try_from(m.line()).unwrap_or(u32::MAX).max(1),
                        col: u32::try_from(m.col())
                            .unwrap_or(u32::MAX - 1)
                            .saturating_add(1),
                    },
                    message: e.info().to_string(),
                });
            }
        }
    }
    Ok(Document {
        root: b.root,
        duplicates: b.duplicates,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(text: &str) -> Document {
        match parse(text, Limits::default()) {
            Ok(d) => d,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn positions_are_one_based() {
        let d = p("a: 1\nb:\n  c: x\n");
        let root = d.root.unwrap();
        let b = root.entry("b").unwrap();
        assert_eq!(b.key.pos, Pos { line: 2, col: 1 });
        let c = b.value.entry("c").unwrap();
        assert_eq!(c.key.pos, Pos { line: 3, col: 3 });
        assert_eq!(c.value.pos, Pos { line: 3, col: 6 });
    }

    #[test]
    fn duplicates_keep_both_positions_and_yaml11_key_identity() {
        let d = p("on: push\ntrue: pull_request\nx: 1\nx: 2\n");
        assert_eq!(d.duplicates.len(), 2, "{:?}", d.duplicates);
        assert_eq!(d.duplicates[0].first, Pos { line: 1, col: 1 });
        assert_eq!(d.duplicates[0].second, Pos { line: 2, col: 1 });
        assert_eq!(d.duplicates[1].key, "x");
    }

    /// The duplicates of one mapping by the original string identity of a key.
    fn duplicates_by_string_identity(entries: &[Entry]) -> Vec<Option<Pos>> {
        let identity = |key: &Node| match &key.kind {
            Kind::Scalar(s, Style::Plain) => match yaml11_bool(s) {
                Some(b) => format!("bool:{b}"),
                None => format!("str:{s}"),
            },
            Kind::Scalar(s, _) => format!("str:{s}"),
            other => format!("node:{other:?}"),
        };
        let mut seen: HashMap<String, Pos> = HashMap::new();
        entries
            .iter()
            .map(|e| {
                let id = identity(&e.key);
                let first = seen.get(&id).copied();
                seen.entry(id).or_insert(e.key.pos);
                first
            })
            .collect()
    }

    #[test]
    fn key_identity_in_small_and_large_mappings() {
        let small = "on: 1\ntrue: 2\n'true': 3\n\"x\": 4\nx: 5\nYes: 6\n? [a, b]\n: 7\n? [a, b]\n: 8\n? {k: v}\n: 9\nnull: 10\n~: 11\nx: 12\n";
        let mut large = String::from(small);
        for i in 0..40 {
            large.push_str(&format!("k{}: {i}\n", i % 25));
        }
        large.push_str("? [a, b]\n: 99\nOFF: 1\nno: 2\n");
        for text in [small.to_string(), large] {
            let root = p(&text).root.unwrap();
            let entries = root.entries();
            assert_eq!(
                first_of_same_key(entries),
                duplicates_by_string_identity(entries),
                "{text}"
            );
        }
    }

    #[test]
    fn alias_expansion_is_bounded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = i - 1;
            text.push_str(&format!(
                "a{i}: &a{i} [*a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}, *a{prev}]\n"
            ));
        }
        let e = parse(&text, Limits::default()).unwrap_err();
        assert_eq!(e.kind, YamlErrorKind::Limit);
        assert!(e.message.contains("YAML bomb"), "{e}");
    }
}
