//! Token redaction: [`Secret`] (never shown by `Debug`, no `Display`) and the client's
//! `redact`, applied to error details and to job logs before they are grepped.

use std::fmt;

use super::HttpClient;

/// A secret (API token). Its `Debug` never shows the value and it has no `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Replaces every occurrence of the secret in `text` by `***`.
    pub fn redact(&self, text: &str) -> String {
        if self.0.len() < 4 {
            // Too short to search for without mangling ordinary text; such a token is
            // rejected by the config layer anyway.
            return text.to_string();
        }
        text.replace(&self.0, "***")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl HttpClient {
    /// Replaces the token in `text` by `***` (also used on job logs before they are grepped).
    pub(crate) fn redact(&self, text: &str) -> String {
        match &self.inner.settings.token {
            Some(t) => t.redact(text),
            None => text.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_debug_and_redaction() {
        let s = Secret::new("tok-12345");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(s.redact("a tok-12345 b"), "a *** b");
    }
}
