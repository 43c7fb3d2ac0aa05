//! The token: where it comes from (`--token-file` / `forge.token_file`, else the variable
//! named by `forge.token_env`, else `MERGEWARD_TOKEN`, else `GITEA_TOKEN` or `GITHUB_TOKEN`),
//! what it must look like, and how it is shown (never: `***`).

use std::path::PathBuf;

use serde::Serialize;

use super::Config;
use super::layers::{Env, Setting, Value, config_err};
use crate::error::{Error, Result, Source};
use crate::forge::{ForgeKind, Secret};

/// Where the token came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum TokenSource {
    Env(String),
    File(PathBuf),
}

impl std::fmt::Display for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::Env(n) => write!(f, "environment variable {n}"),
            TokenSource::File(p) => write!(f, "file {}", p.display()),
        }
    }
}

/// What `config show` lists for the token: its source, the value masked.
pub(super) fn masked(cfg: &Config) -> Option<Setting> {
    let (_, src) = cfg.token.as_ref()?;
    Some(Setting {
        key: "forge.token",
        value: Value::Str("***".into()),
        source: match src {
            TokenSource::Env(n) => Source::Env(n.clone()),
            TokenSource::File(p) => Source::File(p.display().to_string()),
        },
    })
}

impl Config {
    /// Where the token came from, for messages ("no token" when none).
    pub fn token_source(&self) -> String {
        match &self.token {
            Some((_, src)) => src.to_string(),
            None => "no token (set MERGEWARD_TOKEN, GITEA_TOKEN/GITHUB_TOKEN, --token-env or --token-file)".into(),
        }
    }
}

/// Finds the token and checks it; a token variable and a token file both configured is a
/// usage error.
pub(super) fn load_token(cfg: &Config, env: &dyn Env) -> Result<Option<(Secret, TokenSource)>> {
    let named_env = cfg.get("forge.token_env");
    let file = cfg.get("forge.token_file");
    if let (Some(e), Some(f)) = (named_env, file)
        && e.source != Source::Default
        && f.source != Source::Default
    {
        return Err(Error::usage_hint(
            format!(
                "both a token variable ({}, from {}) and a token file ({}, from {}) are configured",
                e.value, e.source, f.value, f.source
            ),
            "configure one of forge.token_env / --token-env and forge.token_file / --token-file",
        ));
    }
    if let Some(f) = file {
        let path = PathBuf::from(f.value.to_string());
        let text = std::fs::read_to_string(&path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            message: format!(
                "cannot read the token file (forge.token_file from {}): {e}",
                f.source
            ),
        })?;
        let token = text.trim();
        check_token(token, &format!("token file {}", path.display()))?;
        return Ok(Some((Secret::new(token), TokenSource::File(path))));
    }
    let candidates: Vec<String> = match named_env {
        Some(s) => vec![s.value.to_string()],
        None => {
            let legacy = if cfg.forge_kind() == ForgeKind::GitHub {
                "GITHUB_TOKEN"
            } else {
                "GITEA_TOKEN"
            };
            vec!["MERGEWARD_TOKEN".into(), legacy.into()]
        }
    };
    for name in &candidates {
        if let Some(v) = env.var(name) {
            let token = v.trim();
            if token.is_empty() && named_env.is_none() {
                continue;
            }
            check_token(token, &format!("environment variable {name}"))?;
            return Ok(Some((Secret::new(token), TokenSource::Env(name.clone()))));
        }
    }
    if let Some(s) = named_env {
        return Err(config_err(
            "forge.token_env",
            s.source.clone(),
            format!("environment variable {} is not set", s.value),
            Some("export the token in that variable, or use --token-file".into()),
        ));
    }
    Ok(None)
}

fn check_token(token: &str, origin: &str) -> Result<()> {
    if token.len() < 4 || token.chars().any(|c| c.is_control() || c == ' ') {
        return Err(Error::usage_hint(
            format!(
                "the token in {origin} is empty, too short or contains spaces or control characters"
            ),
            "store only the token itself",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::FlagValues;
    use super::super::test_support::resolve;

    #[test]
    fn token_from_env_and_masked() {
        let c = resolve(
            FlagValues::default(),
            &[("GITEA_TOKEN", "s3cret-value")],
            None,
        )
        .unwrap();
        let shown = format!("{:?}", c.shown());
        assert!(!shown.contains("s3cret-value"));
        assert!(format!("{c:?}").contains("Secret(***)"));
        assert!(!format!("{c:?}").contains("s3cret-value"));
        assert_eq!(c.token_source(), "environment variable GITEA_TOKEN");
    }

    #[test]
    fn token_env_named_but_unset_is_an_error() {
        let flags = FlagValues {
            token_env: Some("MY_TOKEN".into()),
            ..Default::default()
        };
        let err = resolve(flags, &[], None).unwrap_err();
        assert!(err.to_string().contains("MY_TOKEN"), "{err}");
    }
}
