//! Gate regexes, compiled once through one type. A pattern that does not compile would
//! silently switch its rule off, so every pattern is registered in
//! [`super::rules::patterns`] and a test compiles them all (and checks that none is
//! missing from the registry).

use std::sync::OnceLock;

use regex::Regex;

/// A regex compiled on first use.
pub struct Pattern {
    source: &'static str,
    compiled: OnceLock<Option<Regex>>,
}

impl Pattern {
    pub const fn new(source: &'static str) -> Pattern {
        Pattern {
            source,
            compiled: OnceLock::new(),
        }
    }

    /// The compiled regex (`None` only for a pattern that does not compile, which the
    /// registry test rules out).
    pub fn as_ref(&self) -> Option<&Regex> {
        self.compiled
            .get_or_init(|| Regex::new(self.source).ok())
            .as_ref()
    }

    /// Whether `text` matches.
    pub fn is_match(&self, text: &str) -> bool {
        self.as_ref().is_some_and(|r| r.is_match(text))
    }

    /// The source, and why it does not compile.
    pub fn check(&self) -> Result<(), String> {
        Regex::new(self.source)
            .map(|_| ())
            .map_err(|e| format!("{}: {e}", self.source))
    }
}

#[cfg(test)]
mod tests {
    use super::super::rules::patterns;

    #[test]
    fn every_gate_pattern_compiles() {
        let all = patterns();
        let bad: Vec<String> = all
            .iter()
            .filter_map(|(name, p)| p.check().err().map(|e| format!("{name}: {e}")))
            .collect();
        assert!(
            bad.is_empty(),
            "gate patterns that do not compile:\n{}",
            bad.join("\n")
        );
    }

    #[test]
    fn every_pattern_is_registered() {
        // Count the `static X: Pattern =` declarations under src/gates/ (this file excluded).
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/gates");
        let mut declared = 0;
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") && !p.ends_with("pattern.rs") {
                    let text = std::fs::read_to_string(&p).unwrap_or_default();
                    declared += text.matches(": Pattern =").count();
                }
            }
        }
        assert!(declared > 0);
        assert_eq!(
            declared,
            patterns().len(),
            "a gate Pattern is missing from gates::rules::patterns()"
        );
    }
}
