//! Layered configuration with provenance: flag > environment > `.mergeward.toml` > default.
//!
//! Every key is declared once in [`KEYS`] (`keys.rs`) with its flag, its environment names
//! (the `MERGEWARD_*` name first, then the original scripts' names), its type and default;
//! the key table is the only place a default lives. Resolution (`layers.rs`) records where
//! each value came from, so `config show` can print it and every error can name the source;
//! `secrets.rs` finds and checks the token; `settings.rs` builds every command's typed
//! settings (queue, reaper, gates, gate flips) from a resolved [`Config`].
//!
//! `config` sits above the domains: it imports their settings types to build them, and
//! `queue`, `reaper` and `gates` never import `config`.

pub mod keys;
mod layers;
mod secrets;
pub mod settings;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::Url;

use crate::error::{Result, Source};
use crate::forge::{
    ForgeKind, ForgeTarget, HttpSettings, RepoSlug, Secret, http::check_url_scheme,
};

pub use keys::{
    DEFAULT_CANCELLED, DEFAULT_PR_SHADOW, DEFAULT_PUSH_SUFFIX, KEYS, KeyDef, Kind,
    PER_FORGE_DEFAULTS,
};
pub use layers::{Env, FlagValues, ProcessEnv, Setting, Value};
pub use secrets::TokenSource;
pub use settings::{gate_defaults, queue_defaults, reap_defaults};

use layers::{config_err, split_list};

/// The effective configuration.
#[derive(Debug, Clone)]
pub struct Config {
    settings: BTreeMap<&'static str, Setting>,
    /// The configuration file that was read, if any.
    pub file: Option<PathBuf>,
    pub token: Option<(Secret, TokenSource)>,
}

impl Config {
    /// Resolves every key from flags, environment, file and defaults.
    pub fn resolve(flags: &FlagValues, env: &dyn Env, cwd: &Path) -> Result<Config> {
        let file = layers::config_file(flags, env, cwd);
        let settings = layers::resolve(flags, env, file.as_deref())?;
        let mut cfg = Config {
            settings,
            file,
            token: None,
        };
        cfg.token = secrets::load_token(&cfg, env)?;
        Ok(cfg)
    }

    /// The key table's defaults alone: no flags, no environment, no file, no token. What
    /// tests, benchmarks and the sandbox start from ([`queue_defaults`] and friends).
    pub fn defaults() -> Result<Config> {
        let settings = layers::resolve(&FlagValues::default(), &BTreeMap::new(), None)?;
        Ok(Config {
            settings,
            file: None,
            token: None,
        })
    }

    /// Every resolved setting, in key order, plus the token (masked).
    pub fn shown(&self) -> Vec<Setting> {
        let mut out: Vec<Setting> = KEYS
            .iter()
            .filter_map(|d| self.settings.get(d.key).cloned())
            .collect();
        out.extend(secrets::masked(self));
        out
    }

    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.settings.get(key)
    }

    pub fn str(&self, key: &str) -> Option<&str> {
        match self.settings.get(key).map(|s| &s.value) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    pub fn int(&self, key: &str) -> Option<u64> {
        match self.settings.get(key).map(|s| &s.value) {
            Some(Value::Int(n)) => Some(*n),
            _ => None,
        }
    }

    pub fn bool(&self, key: &str) -> Option<bool> {
        match self.settings.get(key).map(|s| &s.value) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    pub fn list(&self, key: &str) -> Vec<String> {
        match self.settings.get(key).map(|s| &s.value) {
            Some(Value::List(l)) => l.clone(),
            _ => Vec::new(),
        }
    }

    fn source(&self, key: &str) -> Source {
        self.settings
            .get(key)
            .map_or(Source::Default, |s| s.source.clone())
    }

    /// A string key that has a default (resolution always sets it; `settings::tests`
    /// checks every such key resolves from the defaults alone).
    fn defaulted_str(&self, key: &str) -> &str {
        self.str(key)
            .or_else(|| keys::default_of(key))
            .unwrap_or_default()
    }

    pub fn forge_kind(&self) -> ForgeKind {
        match self.defaulted_str("forge.kind") {
            "forgejo" => ForgeKind::Forgejo,
            "github" => ForgeKind::GitHub,
            _ => ForgeKind::Gitea,
        }
    }

    pub fn branch(&self) -> &str {
        self.defaulted_str("forge.branch")
    }

    pub fn ledger_url(&self) -> &str {
        self.defaulted_str("ledger.url")
    }

    /// The forge target; errors say which key is missing and how to set it.
    pub fn target(&self) -> Result<ForgeTarget> {
        let kind = self.forge_kind();
        let url_text = match (self.str("forge.url"), kind) {
            (Some(u), _) => u.to_string(),
            (None, ForgeKind::GitHub)
                if let Some(u) = keys::per_forge_default("forge.url", true) =>
            {
                u.to_string()
            }
            (None, _) => {
                return Err(config_err(
                    "forge.url",
                    Source::Default,
                    "is required for Gitea and Forgejo",
                    Some("pass --url https://git.example.com, or set MERGEWARD_URL (or GITEA_HOST), or forge.url in .mergeward.toml".into()),
                ));
            }
        };
        let url = Url::parse(&url_text).map_err(|e| {
            config_err(
                "forge.url",
                self.source("forge.url"),
                format!("{url_text:?} is not a URL: {e}"),
                None,
            )
        })?;
        check_url_scheme(&url)
            .map_err(|e| config_err("forge.url", self.source("forge.url"), e.to_string(), None))?;
        let repo_text = self.str("forge.repo").ok_or_else(|| {
            config_err(
                "forge.repo",
                Source::Default,
                "is required",
                Some("pass --repo OWNER/NAME, or set MERGEWARD_REPO (or REPO)".into()),
            )
        })?;
        let repo = RepoSlug::parse(repo_text).map_err(|m| {
            config_err(
                "forge.repo",
                self.source("forge.repo"),
                m,
                Some("use OWNER/NAME".into()),
            )
        })?;
        Ok(ForgeTarget { kind, url, repo })
    }

    /// HTTP client settings for a target.
    pub fn http_settings(&self, target: &ForgeTarget) -> HttpSettings {
        let mut s = HttpSettings::new(target.api_base(), target.dialect());
        s.token = self.token.as_ref().map(|(t, _)| t.clone());
        let int = |k: &str| self.int(k);
        if let Some(n) = int("forge.connect_timeout_secs") {
            s.connect_timeout = Duration::from_secs(n.max(1));
        }
        if let Some(n) = int("forge.request_timeout_secs") {
            s.request_timeout = Duration::from_secs(n.max(1));
        }
        if let Some(n) = int("forge.request_timeout_ms") {
            s.request_timeout = Duration::from_millis(n.max(1));
        }
        if let Some(n) = int("forge.max_retries") {
            s.max_retries = u32::try_from(n).unwrap_or(u32::MAX);
        }
        if let Some(n) = int("forge.retry_budget_secs") {
            s.retry_budget = Duration::from_secs(n);
        }
        // GitHub: conditional requests, with the ETags in a file beside a SQLite ledger
        // (`<ledger>.etags.json`); none beside PostgreSQL or an in-memory ledger.
        if target.kind == ForgeKind::GitHub
            && let Ok(crate::ledger::Locator::SqliteFile(db)) =
                crate::ledger::Locator::parse(self.ledger_url())
        {
            let mut name = db.as_os_str().to_os_string();
            name.push(".etags.json");
            s.etag_cache = Some(PathBuf::from(name));
        }
        // Rate limit and page size default by forge (keys::PER_FORGE_DEFAULTS).
        let github = target.kind == ForgeKind::GitHub;
        let per_forge = |k: &str| {
            int(k).or_else(|| keys::per_forge_default(k, github).and_then(|v| v.parse().ok()))
        };
        if let Some(rate) = per_forge("forge.rate_limit_per_second") {
            let rate = u32::try_from(rate.max(1)).unwrap_or(u32::MAX);
            s.rate_per_second = rate;
            s.rate_burst = rate;
        }
        if let Some(n) = per_forge("forge.page_size") {
            s.page_size = u32::try_from(n.max(1)).unwrap_or(u32::MAX);
        }
        if let Some(n) = int("forge.page_cap") {
            s.page_cap = u32::try_from(n.max(1)).unwrap_or(u32::MAX);
        }
        s
    }
}

/// The TOML spelling of a key's default (`None` when the key has no default).
fn toml_default(d: &KeyDef) -> Option<String> {
    let v = d.default?;
    Some(match d.kind {
        Kind::Bool | Kind::Int(_) => v.to_string(),
        Kind::List => {
            let items: Vec<String> = split_list(v)
                .into_iter()
                .map(|i| toml::Value::String(i).to_string())
                .collect();
            format!("[{}]", items.join(", "))
        }
        Kind::Str | Kind::Choice(_) => toml::Value::String(v.to_string()).to_string(),
    })
}

/// A commented `.mergeward.toml` with every key of [`KEYS`]: its meaning, where else it can
/// be set, and its default, commented out. `set` holds values written active instead
/// (key, TOML string value), e.g. `forge.kind` from `mergeward init`. Generated from the
/// key table, so the file never drifts from what mergeward reads.
pub fn config_template(set: &[(&str, &str)]) -> String {
    let mut out = String::from(
        "# mergeward configuration (written by `mergeward init`).\n\
         # Precedence: command-line flag > environment variable > this file > default.\n\
         # Every key is listed with its default, commented out; uncomment to change it.\n\
         # `mergeward config show` prints the effective value of each key and where it came from.\n",
    );
    let mut section = "";
    for d in KEYS {
        let Some((sec, name)) = d.key.split_once('.') else {
            continue;
        };
        if sec != section {
            out.push_str(&format!("\n[{sec}]\n"));
            section = sec;
        }
        out.push_str(&format!("\n# {}\n", d.help));
        let mut also: Vec<String> = Vec::new();
        if let Some(f) = d.flag {
            also.push(format!("flag {f}"));
        }
        if !d.envs.is_empty() {
            also.push(format!("env {}", d.envs.join(", ")));
        }
        if !also.is_empty() {
            out.push_str(&format!("# ({})\n", also.join("; ")));
        }
        if let Some((_, v)) = set.iter().find(|(k, _)| *k == d.key) {
            out.push_str(&format!(
                "{name} = {}\n",
                toml::Value::String((*v).to_string())
            ));
            continue;
        }
        match toml_default(d) {
            Some(v) => out.push_str(&format!("# {name} = {v}\n")),
            None => out.push_str(&format!("# {name} =   (no default: unset)\n")),
        }
    }
    out
}

/// Resolution against a temporary directory holding `file` as `.mergeward.toml`.
#[cfg(test)]
pub(crate) mod test_support {
    use std::collections::BTreeMap;

    use super::{Config, FlagValues};
    use crate::error::Result;

    pub(crate) fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    pub(crate) fn resolve(
        flags: FlagValues,
        e: &[(&str, &str)],
        file: Option<&str>,
    ) -> Result<Config> {
        let dir = tempfile::tempdir().expect("tempdir");
        if let Some(text) = file {
            std::fs::write(dir.path().join(".mergeward.toml"), text).expect("write");
        }
        Config::resolve(&flags, &env(e), dir.path())
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::resolve;
    use super::*;

    /// The generated `.mergeward.toml` lists every key; with every default uncommented it
    /// resolves to exactly the defaults.
    #[test]
    fn config_template_lists_every_key_with_its_default() {
        let text = config_template(&[("forge.kind", "github")]);
        for d in KEYS {
            let name = d.key.split_once('.').map_or(d.key, |p| p.1);
            assert!(
                text.lines().any(|l| l.starts_with(&format!("# {name} = "))
                    || l.starts_with(&format!("{name} = "))),
                "{} missing",
                d.key
            );
        }
        let defaults = resolve(FlagValues::default(), &[], None).unwrap();
        let written = resolve(FlagValues::default(), &[], Some(&text)).unwrap();
        assert_eq!(written.str("forge.kind"), Some("github"));
        let uncommented: String = text
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest)
                    if !rest.contains("(no default")
                        && rest.split_once(" = ").is_some_and(|(k, _)| {
                            k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                        }) =>
                {
                    rest
                }
                _ => l,
            })
            .map(|l| format!("{l}\n"))
            .collect();
        let all = resolve(FlagValues::default(), &[], Some(&uncommented)).unwrap();
        for d in KEYS {
            if d.key == "forge.kind" {
                continue;
            }
            assert_eq!(
                all.get(d.key).map(|s| &s.value),
                defaults.get(d.key).map(|s| &s.value),
                "{}",
                d.key
            );
        }
    }

    #[test]
    fn bare_host_means_https_and_plain_http_is_refused() {
        let c = resolve(
            FlagValues {
                repo: Some("a/b".into()),
                ..Default::default()
            },
            &[("GITEA_HOST", "git.example.com")],
            None,
        )
        .unwrap();
        assert_eq!(c.target().unwrap().url.as_str(), "https://git.example.com/");
        let c = resolve(
            FlagValues {
                repo: Some("a/b".into()),
                url: Some("http://git.example.com".into()),
                ..Default::default()
            },
            &[],
            None,
        )
        .unwrap();
        let err = c.target().unwrap_err();
        assert!(
            err.to_string().contains("--url") && err.to_string().contains("http://"),
            "{err}"
        );
    }
}
