//! Resolution: flag > environment > `.mergeward.toml` > the key table's default, each value
//! typed against its key and recorded with where it came from; the TOML file reader.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::keys::{KEYS, KeyDef, Kind, def};
use crate::error::{Error, Result, Source, did_you_mean};

/// A value as written in a source, before typing.
#[derive(Debug, Clone, PartialEq)]
enum Raw {
    Str(String),
    Bool(bool),
    Int(i64),
    List(Vec<String>),
}

/// A typed value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Str(String),
    Bool(bool),
    Int(u64),
    List(Vec<String>),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Str(s) => f.write_str(s),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(n) => write!(f, "{n}"),
            Value::List(l) => write!(f, "[{}]", l.join(", ")),
        }
    }
}

/// A resolved value with its provenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    pub key: &'static str,
    pub value: Value,
    pub source: Source,
}

/// Values given on the command line (global flags).
#[derive(Debug, Default, Clone)]
pub struct FlagValues {
    pub forge: Option<String>,
    pub url: Option<String>,
    pub repo: Option<String>,
    pub branch: Option<String>,
    pub config: Option<PathBuf>,
    pub token_env: Option<String>,
    pub token_file: Option<PathBuf>,
    pub ledger: Option<String>,
}

/// Reads the environment (injectable for tests).
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
    }
}

impl Env for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

pub(super) fn config_err(
    key: &str,
    origin: Source,
    message: impl Into<String>,
    hint: Option<String>,
) -> Error {
    Error::Config {
        key: key.to_string(),
        origin,
        message: message.into(),
        hint,
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

pub(super) fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// Types a raw value for a key; errors name the key, the source and the fix.
fn typed(d: &KeyDef, raw: Raw, source: &Source) -> Result<Value> {
    let err = |msg: String, hint: Option<String>| config_err(d.key, source.clone(), msg, hint);
    if let Raw::Str(s) = &raw
        && s.trim().is_empty()
        && d.kind != Kind::List
    {
        let dflt = d
            .default
            .map_or("no default".to_string(), |v| format!("default {v:?}"));
        return Err(err(
            "is set but empty".into(),
            Some(format!(
                "unset it to use the {dflt}, or give a value ({})",
                d.help
            )),
        ));
    }
    match (d.kind, raw) {
        (Kind::Str, Raw::Str(s)) => Ok(Value::Str(s.trim().to_string())),
        (Kind::Bool, Raw::Bool(b)) => Ok(Value::Bool(b)),
        (Kind::Bool, Raw::Str(s)) => parse_bool(&s).map(Value::Bool).ok_or_else(|| {
            err(
                format!("{s:?} is not a boolean"),
                Some("use true/false (also 1/0, yes/no, on/off)".into()),
            )
        }),
        (Kind::Int(max), Raw::Int(n)) => u64::try_from(n)
            .ok()
            .filter(|n| *n <= max)
            .map(Value::Int)
            .ok_or_else(|| {
                err(
                    format!("{n} is out of range"),
                    Some(format!("use a whole number from 0 to {max}")),
                )
            }),
        (Kind::Int(max), Raw::Str(s)) => s
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|n| *n <= max)
            .map(Value::Int)
            .ok_or_else(|| err(format!("{s:?} is not a whole number from 0 to {max}"), None)),
        (Kind::List, Raw::List(l)) => Ok(Value::List(
            l.into_iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
        )),
        (Kind::List, Raw::Str(s)) => Ok(Value::List(split_list(&s))),
        (Kind::Choice(words), Raw::Str(s)) => {
            let v = s.trim().to_ascii_lowercase();
            if words.contains(&v.as_str()) {
                Ok(Value::Str(v))
            } else {
                let hint = match did_you_mean(&v, words.iter().copied()) {
                    Some(m) => format!("did you mean {m:?}? (one of: {})", words.join(", ")),
                    None => format!("use one of: {}", words.join(", ")),
                };
                Err(err(format!("{s:?} is not allowed"), Some(hint)))
            }
        }
        (_, raw) => Err(err(
            format!("has the wrong type ({raw:?})"),
            Some(d.help.to_string()),
        )),
    }
}

fn toml_to_raw(v: &toml::Value) -> Option<Raw> {
    Some(match v {
        toml::Value::String(s) => Raw::Str(s.clone()),
        toml::Value::Boolean(b) => Raw::Bool(*b),
        toml::Value::Integer(n) => Raw::Int(*n),
        toml::Value::Array(a) => Raw::List(
            a.iter()
                .map(|x| x.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()?,
        ),
        _ => return None,
    })
}

/// Reads `.mergeward.toml` into raw key → value, rejecting unknown keys with a suggestion.
fn read_file(path: &Path) -> Result<BTreeMap<&'static str, Raw>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.display().to_string(),
        message: format!("cannot read the configuration file: {e}"),
    })?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        Error::usage_hint(
            format!("{}: not valid TOML: {}", path.display(), e.message()),
            match e.span() {
                Some(span) => {
                    let line = text[..span.start.min(text.len())].lines().count().max(1);
                    format!("see line {line}")
                }
                None => "check the file's syntax".into(),
            },
        )
    })?;
    let fname = path.display().to_string();
    let mut out = BTreeMap::new();
    let sections: Vec<&str> = {
        let mut s: Vec<&str> = KEYS
            .iter()
            .filter_map(|d| d.key.split_once('.').map(|p| p.0))
            .collect();
        s.dedup();
        s
    };
    for (section, body) in &table {
        let Some(body) = body.as_table() else {
            return Err(config_err(
                section,
                Source::File(fname.clone()),
                "is not a [section]",
                Some(format!("known sections: {}", sections.join(", "))),
            ));
        };
        if !sections.contains(&section.as_str()) {
            let hint = match did_you_mean(section, sections.iter().copied()) {
                Some(m) => format!("did you mean [{m}]?"),
                None => format!("known sections: {}", sections.join(", ")),
            };
            return Err(config_err(
                section,
                Source::File(fname.clone()),
                "unknown section",
                Some(hint),
            ));
        }
        for (name, value) in body {
            let full = format!("{section}.{name}");
            let origin = Source::File(format!("{fname}: {full}"));
            let Some(d) = def(&full) else {
                let candidates: Vec<&str> = KEYS
                    .iter()
                    .filter(|d| d.key.starts_with(&format!("{section}.")))
                    .map(|d| &d.key[section.len() + 1..])
                    .collect();
                let hint = match did_you_mean(name, candidates.iter().copied()) {
                    Some(m) => format!("did you mean {section}.{m}?"),
                    None => format!("known keys in [{section}]: {}", candidates.join(", ")),
                };
                return Err(config_err(&full, origin, "unknown key", Some(hint)));
            };
            let raw = toml_to_raw(value).ok_or_else(|| {
                config_err(
                    &full,
                    origin.clone(),
                    "has an unsupported value type",
                    Some(d.help.to_string()),
                )
            })?;
            out.insert(d.key, raw);
        }
    }
    Ok(out)
}

/// A bare host (`git.example.com`) means `https://git.example.com`.
fn normalize_url(s: &str) -> String {
    if s.contains("://") {
        s.to_string()
    } else {
        format!("https://{}", s.trim_end_matches('/'))
    }
}

/// The configuration file: `--config`, `MERGEWARD_CONFIG`, else `./.mergeward.toml` when it
/// exists.
pub(super) fn config_file(flags: &FlagValues, env: &dyn Env, cwd: &Path) -> Option<PathBuf> {
    match (&flags.config, env.var("MERGEWARD_CONFIG")) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(p)) if !p.trim().is_empty() => Some(PathBuf::from(p)),
        _ => {
            let p = cwd.join(".mergeward.toml");
            p.is_file().then_some(p)
        }
    }
}

/// Resolves every key of the table from flags, environment, `file` and defaults. A key
/// with no value anywhere and no default is absent.
pub(super) fn resolve(
    flags: &FlagValues,
    env: &dyn Env,
    file: Option<&Path>,
) -> Result<BTreeMap<&'static str, Setting>> {
    let from_file = match file {
        Some(p) => read_file(p)?,
        None => BTreeMap::new(),
    };
    let fname = file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let flag_value = |key: &str| -> Option<String> {
        match key {
            "forge.kind" => flags.forge.clone(),
            "forge.url" => flags.url.clone(),
            "forge.repo" => flags.repo.clone(),
            "forge.branch" => flags.branch.clone(),
            "forge.token_env" => flags.token_env.clone(),
            "forge.token_file" => flags.token_file.as_ref().map(|p| p.display().to_string()),
            "ledger.url" => flags.ledger.clone(),
            _ => None,
        }
    };
    let mut settings = BTreeMap::new();
    for d in KEYS {
        // Set but empty (what `${{ vars.X }}` gives when X is unset) means unset for every
        // string, list, number and choice key: the next source decides. A boolean set but
        // empty stays a usage error (the original scripts read `AUTO_DISCOVER=""` as off;
        // mergeward does not guess).
        let present = |v: &String| !v.trim().is_empty() || d.kind == Kind::Bool;
        let found: Option<(Raw, Source)> = if let Some(v) = flag_value(d.key).filter(present) {
            Some((
                Raw::Str(v),
                Source::Flag(d.flag.unwrap_or(d.key).to_string()),
            ))
        } else if let Some((name, v)) = d
            .envs
            .iter()
            .find_map(|n| env.var(n).filter(present).map(|v| (*n, v)))
        {
            Some((Raw::Str(v), Source::Env(name.to_string())))
        } else if let Some(raw) = from_file.get(d.key) {
            Some((raw.clone(), Source::File(format!("{fname}: {}", d.key))))
        } else {
            d.default
                .map(|v| (Raw::Str(v.to_string()), Source::Default))
        };
        if let Some((raw, source)) = found {
            let mut value = typed(d, raw, &source)?;
            if d.key == "forge.url"
                && let Value::Str(s) = &value
            {
                // The original scripts' GITEA_HOST is a bare host by design; anywhere
                // else a URL without a scheme is a mistake worth naming.
                if !s.contains("://") && source != Source::Env("GITEA_HOST".into()) {
                    return Err(Error::Config {
                        key: d.key.to_string(),
                        origin: source.clone(),
                        message: format!("{s:?} has no scheme"),
                        hint: Some(format!(
                            "write the URL with its scheme: {} (http:// only for a server on this machine)",
                            normalize_url(s)
                        )),
                    });
                }
                value = Value::Str(normalize_url(s));
            }
            settings.insert(
                d.key,
                Setting {
                    key: d.key,
                    value,
                    source,
                },
            );
        }
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use super::super::Config;
    use super::super::test_support::resolve;
    use super::*;

    #[test]
    fn precedence_flag_env_file_default() {
        let file = "[forge]\nrepo = \"file/repo\"\nbranch = \"file-branch\"\n[queue]\nhold_label = \"file-hold\"\n";
        let flags = FlagValues {
            repo: Some("flag/repo".into()),
            ..Default::default()
        };
        let c = resolve(
            flags,
            &[("WATCH_BRANCH", "env-branch"), ("REPO", "env/repo")],
            Some(file),
        )
        .unwrap();
        assert_eq!(c.str("forge.repo"), Some("flag/repo"));
        assert_eq!(
            c.get("forge.repo").unwrap().source,
            Source::Flag("--repo".into())
        );
        assert_eq!(c.str("forge.branch"), Some("env-branch"));
        assert_eq!(
            c.get("forge.branch").unwrap().source,
            Source::Env("WATCH_BRANCH".into())
        );
        assert_eq!(c.str("queue.hold_label"), Some("file-hold"));
        assert!(matches!(
            c.get("queue.hold_label").unwrap().source,
            Source::File(_)
        ));
        assert_eq!(c.str("queue.queue_label"), Some("merge-queue"));
        assert_eq!(c.get("queue.queue_label").unwrap().source, Source::Default);
    }

    #[test]
    fn mergeward_names_beat_legacy_names() {
        let c = resolve(
            FlagValues::default(),
            &[("MERGEWARD_BRANCH", "a"), ("WATCH_BRANCH", "b")],
            None,
        )
        .unwrap();
        assert_eq!(c.branch(), "a");
    }

    #[test]
    fn explicitly_empty_auto_discover_is_an_error() {
        let err = resolve(FlagValues::default(), &[("AUTO_DISCOVER", "")], None).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("queue.auto_discover")
                && msg.contains("AUTO_DISCOVER")
                && msg.contains("empty"),
            "{msg}"
        );
        let c = resolve(FlagValues::default(), &[("AUTO_DISCOVER", "off")], None).unwrap();
        assert_eq!(c.bool("queue.auto_discover"), Some(false));
    }

    /// Set but empty (`${{ vars.X }}` of an unset X) is unset for every key but booleans:
    /// the next environment name, the file or the default decides, as if it were absent.
    #[test]
    fn empty_env_and_flag_values_mean_unset_for_every_non_boolean_key() {
        let file = "[forge]\nrepo = \"file/repo\"\n";
        let unset = resolve(FlagValues::default(), &[], Some(file)).unwrap();
        for d in KEYS {
            for name in d.envs {
                for empty in ["", "  "] {
                    let got = resolve(FlagValues::default(), &[(name, empty)], Some(file));
                    if d.kind == Kind::Bool {
                        let err = got.expect_err(name).to_string();
                        assert!(err.contains(name) && err.contains("empty"), "{err}");
                        continue;
                    }
                    let got = got.unwrap_or_else(|e| panic!("{name}={empty:?}: {e}"));
                    let key_of = |c: &Config| {
                        c.get(d.key)
                            .map(|s| (s.value.clone(), std::mem::discriminant(&s.source)))
                    };
                    assert_eq!(key_of(&got), key_of(&unset), "{name}={empty:?}");
                }
            }
        }
        // The next name decides: MERGEWARD_BRANCH="" does not hide WATCH_BRANCH.
        let c = resolve(
            FlagValues::default(),
            &[("MERGEWARD_BRANCH", ""), ("WATCH_BRANCH", "trunk")],
            None,
        )
        .unwrap();
        assert_eq!(c.branch(), "trunk");
        // An empty list variable is the default, not an explicit empty list.
        let c = resolve(FlagValues::default(), &[("OPT_OUT_LABELS", "")], None).unwrap();
        assert_eq!(
            c.list("queue.opt_out_labels"),
            ["do-not-auto-merge", "wip", "draft"]
        );
        let c = resolve(
            FlagValues::default(),
            &[("MERGEWARD_GATES_REQUIRED_CONTEXTS", "")],
            None,
        )
        .unwrap();
        assert!(c.get("gates.required_contexts").is_none());
        // An empty flag value is unset too.
        let c = resolve(
            FlagValues {
                repo: Some(String::new()),
                ..Default::default()
            },
            &[("REPO", "env/repo")],
            None,
        )
        .unwrap();
        assert_eq!(c.str("forge.repo"), Some("env/repo"));
    }

    #[test]
    fn unknown_file_key_suggests() {
        let err = resolve(
            FlagValues::default(),
            &[],
            Some("[queue]\nhold_lable = \"x\"\n"),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("did you mean queue.hold_label?"), "{msg}");
        assert_eq!(err.exit_code(), crate::error::ExitCode::Usage);
        let err = resolve(
            FlagValues::default(),
            &[],
            Some("[queu]\nhold_label = \"x\"\n"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("did you mean [queue]?"), "{err}");
    }

    #[test]
    fn lists_from_env_and_file() {
        let c = resolve(
            FlagValues::default(),
            &[("OPT_OUT_LABELS", " a, ,b ")],
            None,
        )
        .unwrap();
        assert_eq!(c.list("queue.opt_out_labels"), vec!["a", "b"]);
        let c = resolve(
            FlagValues::default(),
            &[],
            Some("[queue]\nreviewers = [\"alice\", \"bob\"]\n"),
        )
        .unwrap();
        assert_eq!(c.list("queue.reviewers"), vec!["alice", "bob"]);
    }

    #[test]
    fn bad_choice_suggests() {
        let err = resolve(
            FlagValues {
                forge: Some("gitae".into()),
                ..Default::default()
            },
            &[],
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("did you mean \"gitea\""), "{err}");
        let err = resolve(FlagValues::default(), &[("UPDATE_STYLE", "squash")], None).unwrap_err();
        assert!(err.to_string().contains("UPDATE_STYLE"), "{err}");
    }
}
