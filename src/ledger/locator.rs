//! Where a ledger lives: [`Locator`] (a SQLite file, in-memory SQLite, or a PostgreSQL URL,
//! shown with its password redacted) and the [`Backend`] it selects.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{LedgerError, LedgerResult};

/// The database behind a ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the ledger lives: a SQLite file (the default), an in-memory SQLite database
/// (tests), or a PostgreSQL URL.
#[derive(Clone, PartialEq, Eq)]
pub enum Locator {
    SqliteFile(PathBuf),
    SqliteMemory,
    /// The full URL, possibly with a password: never printed (see [`Locator::redacted`]).
    Postgres(String),
}

impl Locator {
    /// The default ledger file, relative to the working directory.
    pub const DEFAULT_PATH: &'static str = ".mergeward/ledger.db";

    /// Parse a locator: `postgres://…` / `postgresql://…`, `sqlite::memory:`,
    /// `sqlite://PATH` / `sqlite:PATH`, or a plain file path.
    pub fn parse(s: &str) -> LedgerResult<Locator> {
        let bad = |message: &str| LedgerError::Locator {
            locator: redact_url(s),
            message: message.into(),
        };
        if s.trim().is_empty() {
            return Err(bad("empty"));
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            url::Url::parse(s).map_err(|e| bad(&format!("not a valid URL: {e}")))?;
            return Ok(Locator::Postgres(s.to_string()));
        }
        if s == "sqlite::memory:" || s == ":memory:" {
            return Ok(Locator::SqliteMemory);
        }
        if let Some(rest) = s.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.contains('?') {
                return Err(bad(
                    "query parameters are not supported; give the file path only",
                ));
            }
            if path.is_empty() {
                return Err(bad("no file path after sqlite:"));
            }
            return Ok(Locator::SqliteFile(PathBuf::from(path)));
        }
        if let Some((scheme, _)) = s.split_once("://") {
            return Err(bad(&format!(
                "unsupported scheme {scheme}:// (supported: sqlite, postgres, postgresql)"
            )));
        }
        Ok(Locator::SqliteFile(PathBuf::from(s)))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Locator::SqliteFile(_) | Locator::SqliteMemory => Backend::Sqlite,
            Locator::Postgres(_) => Backend::Postgres,
        }
    }

    /// The locator with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        match self {
            Locator::SqliteFile(p) => p.display().to_string(),
            Locator::SqliteMemory => "sqlite::memory:".into(),
            Locator::Postgres(u) => redact_url(u),
        }
    }
}

impl Default for Locator {
    fn default() -> Self {
        Locator::SqliteFile(PathBuf::from(Locator::DEFAULT_PATH))
    }
}

impl std::fmt::Display for Locator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl std::fmt::Debug for Locator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Locator({})", self.redacted())
    }
}

impl std::str::FromStr for Locator {
    type Err = LedgerError;
    fn from_str(s: &str) -> LedgerResult<Locator> {
        Locator::parse(s)
    }
}

fn redact_url(s: &str) -> String {
    match url::Url::parse(s) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            // A password may also hide in the query (`?password=`).
            let pairs: Vec<(String, String)> = u
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k.eq_ignore_ascii_case("password") {
                        "***".to_string()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            if !pairs.is_empty() {
                u.query_pairs_mut().clear().extend_pairs(pairs);
            }
            u.to_string()
        }
        // Not a URL: it is a path; paths carry no secrets.
        Err(_) => s.to_string(),
    }
}

/// Percent-encode a file path for a `sqlite://` URL (sqlx decodes it again).
pub(super) fn sqlite_url(path: &Path) -> String {
    let mut out = String::from("sqlite://");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out.push_str("?mode=rwc");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locators_parse() {
        assert_eq!(
            Locator::parse("x/ledger.db").ok(),
            Some(Locator::SqliteFile("x/ledger.db".into()))
        );
        assert_eq!(
            Locator::parse("sqlite:///abs/l.db").ok(),
            Some(Locator::SqliteFile("/abs/l.db".into()))
        );
        assert_eq!(
            Locator::parse("sqlite://rel.db").ok(),
            Some(Locator::SqliteFile("rel.db".into()))
        );
        assert_eq!(
            Locator::parse("sqlite::memory:").ok(),
            Some(Locator::SqliteMemory)
        );
        assert_eq!(
            Locator::parse("postgres://u@h/db")
                .map(|l| l.backend())
                .ok(),
            Some(Backend::Postgres)
        );
        assert!(Locator::parse("mysql://x").is_err());
        assert!(Locator::parse("sqlite://x.db?mode=ro").is_err());
        assert!(Locator::parse("").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        let l = Locator::parse("postgres://bot:s3cret@db.example/ledger?password=other").ok();
        let shown = format!(
            "{:?} {}",
            l,
            l.as_ref().map(|l| l.redacted()).unwrap_or_default()
        );
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(!shown.contains("other"), "{shown}");
    }

    #[test]
    fn sqlite_urls_are_encoded() {
        assert_eq!(
            sqlite_url(Path::new("/tmp/a b?.db")),
            "sqlite:///tmp/a%20b%3F.db?mode=rwc"
        );
    }
}
