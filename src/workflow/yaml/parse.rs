//! Building the bounded tree from `saphyr-parser` events: nesting depth and alias
//! expansion are counted while it is built, duplicate keys are found (by their YAML 1.1
//! identity), and [`parse`] returns the [`Document`].

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::{
    Document, Duplicate, Entry, Kind, Limits, Node, Pos, Style, YamlError, YamlErrorKind,
    yaml11_bool,
};

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
pub(super) fn first_of_same_key(entries: &[Entry]) -> Vec<Option<Pos>> {
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

/// Parses one YAML document within `limits`. Never panics (fuzzed: `tests/workflow/fuzz.rs`).
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
