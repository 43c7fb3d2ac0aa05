//! Running `git` for the staging builder: one isolated, non-interactive subprocess per
//! call, with a timeout.
//!
//! The token never reaches argv, a URL or a log: it travels as an `http.extraHeader`
//! configuration entry given through the environment (`GIT_CONFIG_COUNT`,
//! `GIT_CONFIG_KEY_n`, `GIT_CONFIG_VALUE_n`), and everything git prints is redacted before it
//! is kept. The environment is cleared: only `PATH`, the proxy and CA-bundle variables pass
//! through, `HOME` is the builder's temporary directory, system configuration is off, hooks
//! point at `/dev/null`, no prompt can open (`GIT_TERMINAL_PROMPT=0`, stdin is closed) and
//! redirects are not followed (so the header cannot be carried to another host).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;

use crate::forge::Secret;

/// How the token is put in the `Authorization` header of git's HTTPS requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GitAuth {
    /// `Authorization: Basic base64(x-access-token:TOKEN)`: what GitHub expects for git over
    /// HTTPS (installation and personal tokens); Gitea and Forgejo take a token given as the
    /// Basic password too.
    Basic,
    /// `Authorization: token TOKEN` (Gitea and Forgejo).
    Token,
    /// `Authorization: Bearer TOKEN`.
    Bearer,
}

/// The author and committer of the staging commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

/// How git is run. Every field is given by the caller (the key table will hold the
/// defaults once batch mode is selectable; the committer is meant to be
/// `mergeward <mergeward@localhost>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitSettings {
    /// The git program (`git`, found on `PATH`, or a path).
    pub program: PathBuf,
    /// The longest one git command may run before it is killed.
    pub timeout: Duration,
    /// Author and committer of the merge commits.
    pub identity: Identity,
    /// The `Authorization` scheme for the token.
    pub auth: GitAuth,
    /// Extra configuration for every command, given through the environment like the rest
    /// (tests: `protocol.file.allow=always` if a file remote needs it).
    pub extra_config: Vec<(String, String)>,
}

/// Environment variables passed through from mergeward's own environment: the program
/// search path, proxies and CA bundles. Everything else is cleared.
const PASS_THROUGH: &[&str] = &[
    "PATH",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "GIT_SSL_CAINFO",
    "GIT_SSL_CAPATH",
    "TMPDIR",
];

/// One git command, fully built but not run: the program, its arguments, the complete
/// environment (the process starts from an empty one) and the working directory. The
/// header with the token is the only entry of `secret_env`; `Debug` never shows it.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub secret_env: Vec<(String, Secret)>,
    pub dir: PathBuf,
}

impl Invocation {
    fn command(&self) -> Command {
        let mut c = Command::new(&self.program);
        c.args(&self.args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .envs(self.secret_env.iter().map(|(k, v)| (k, v.expose())))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }
}

/// What a finished git command printed (already redacted) and its exit code (`None`:
/// killed by a signal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// stderr, else stdout, trimmed and cut to a readable length: for error messages.
    pub fn detail(&self) -> String {
        let text = if self.stderr.trim().is_empty() {
            self.stdout.trim()
        } else {
            self.stderr.trim()
        };
        clip(text, 1500)
    }
}

/// Why a git command did not finish.
#[derive(Debug)]
pub enum RunError {
    /// The program does not exist.
    NotFound,
    /// It could not be started or waited for.
    Io(std::io::Error),
    /// It ran past the timeout and was killed.
    TimedOut(Duration),
}

/// Runs git for one staging build: settings, the token (as a header), and a private `HOME`.
pub struct Git<'a> {
    settings: &'a GitSettings,
    header: Option<Secret>,
    /// Every form of the secret that could show up in output: the token itself and the
    /// encoded Basic credentials.
    secrets: Vec<Secret>,
    home: PathBuf,
}

impl<'a> Git<'a> {
    pub fn new(settings: &'a GitSettings, token: Option<&Secret>, home: &Path) -> Git<'a> {
        let mut secrets = Vec::new();
        let header = token.map(|t| {
            secrets.push(t.clone());
            let value = match settings.auth {
                GitAuth::Basic => {
                    let creds = base64::engine::general_purpose::STANDARD
                        .encode(format!("x-access-token:{}", t.expose()));
                    secrets.push(Secret::new(creds.clone()));
                    format!("Basic {creds}")
                }
                GitAuth::Token => format!("token {}", t.expose()),
                GitAuth::Bearer => format!("Bearer {}", t.expose()),
            };
            Secret::new(format!("Authorization: {value}"))
        });
        Git {
            settings,
            header,
            secrets,
            home: home.to_path_buf(),
        }
    }

    /// The git program this runner starts.
    pub fn program(&self) -> &Path {
        &self.settings.program
    }

    /// The command `git <args>` in `dir`, as it would be run.
    pub fn invocation(&self, dir: &Path, args: &[&str]) -> Invocation {
        let home = self.home.display().to_string();
        let mut env: Vec<(String, String)> = PASS_THROUGH
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
            .collect();
        if !env.iter().any(|(k, _)| k == "PATH") {
            env.push(("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()));
        }
        let id = &self.settings.identity;
        for (k, v) in [
            ("HOME", home.as_str()),
            ("XDG_CONFIG_HOME", home.as_str()),
            ("GIT_CONFIG_NOSYSTEM", "1"),
            ("GIT_TERMINAL_PROMPT", "0"),
            ("GIT_TRACE_REDACT", "1"),
            ("LC_ALL", "C"),
            ("LANG", "C"),
            ("GIT_AUTHOR_NAME", id.name.as_str()),
            ("GIT_AUTHOR_EMAIL", id.email.as_str()),
            ("GIT_COMMITTER_NAME", id.name.as_str()),
            ("GIT_COMMITTER_EMAIL", id.email.as_str()),
        ] {
            env.push((k.into(), v.into()));
        }
        let mut config: Vec<(String, String)> = [
            ("core.hooksPath", "/dev/null"),
            ("credential.helper", ""),
            ("http.followRedirects", "false"),
            ("commit.gpgSign", "false"),
            ("gc.auto", "0"),
            ("maintenance.auto", "false"),
            ("fetch.recurseSubmodules", "false"),
            ("submodule.recurse", "false"),
            ("init.defaultBranch", "mergeward"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        config.extend(self.settings.extra_config.iter().cloned());
        for (i, (k, v)) in config.iter().enumerate() {
            env.push((format!("GIT_CONFIG_KEY_{i}"), k.clone()));
            env.push((format!("GIT_CONFIG_VALUE_{i}"), v.clone()));
        }
        let mut count = config.len();
        let mut secret_env = Vec::new();
        if let Some(h) = &self.header {
            env.push((format!("GIT_CONFIG_KEY_{count}"), "http.extraHeader".into()));
            secret_env.push((format!("GIT_CONFIG_VALUE_{count}"), h.clone()));
            count += 1;
        }
        env.push(("GIT_CONFIG_COUNT".into(), count.to_string()));
        Invocation {
            program: self.settings.program.clone(),
            args: args.iter().map(|a| a.to_string()).collect(),
            env,
            secret_env,
            dir: dir.to_path_buf(),
        }
    }

    /// Runs `git <args>` in `dir` to the end or the timeout. A non-zero exit is an `Output`,
    /// not an error: what it means depends on the command.
    pub fn run(&self, dir: &Path, args: &[&str]) -> Result<Output, RunError> {
        let inv = self.invocation(dir, args);
        tracing::debug!(args = ?inv.args, "git");
        let mut child = match inv.command().spawn() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(RunError::NotFound),
            Err(e) => return Err(RunError::Io(e)),
        };
        let out = child.stdout.take().map(reader);
        let err = child.stderr.take().map(reader);
        let deadline = Instant::now() + self.settings.timeout;
        let mut pause = Duration::from_millis(2);
        let status = loop {
            match child.try_wait() {
                Ok(Some(s)) => break s,
                Ok(None) if Instant::now() >= deadline => {
                    // The readers are left to end with the pipes; a helper git started may
                    // hold them a little longer.
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(RunError::TimedOut(self.settings.timeout));
                }
                Ok(None) => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(e) => {
                    let _ = child.kill();
                    return Err(RunError::Io(e));
                }
            }
        };
        let collect = |h: Option<std::thread::JoinHandle<Vec<u8>>>| {
            let bytes = h.and_then(|h| h.join().ok()).unwrap_or_default();
            self.redact(&String::from_utf8_lossy(&bytes))
        };
        Ok(Output {
            code: status.code(),
            stdout: collect(out),
            stderr: collect(err),
        })
    }

    /// `text` without the token (in any form this runner sends it) and without credentials
    /// in URLs.
    pub fn redact(&self, text: &str) -> String {
        let mut text = redact_url_credentials(text);
        for s in &self.secrets {
            text = s.redact(&text);
        }
        text
    }
}

fn reader(mut pipe: impl Read + Send + 'static) -> std::thread::JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = pipe.read_to_end(&mut buf);
        buf
    })
}

/// Replaces the user information of every `scheme://user:password@host` in `text` by
/// `***`.
pub fn redact_url_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace())
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(at) => {
                out.push_str("***");
                out.push_str(&tail[at..end]);
            }
            None => out.push_str(&tail[..end]),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// At most `max` bytes of `text` (cut on a character boundary), marked when cut.
pub fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{} …", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_credentials_are_redacted() {
        assert_eq!(
            redact_url_credentials("fatal: https://u:p@h.example/o/r.git and http://h/x"),
            "fatal: https://***@h.example/o/r.git and http://h/x"
        );
        assert_eq!(redact_url_credentials("no url"), "no url");
        assert_eq!(redact_url_credentials("x://tok@h"), "x://***@h");
    }

    #[test]
    fn clip_cuts_on_a_boundary() {
        assert_eq!(clip("héllo", 2), "h …");
        assert_eq!(clip("abc", 3), "abc");
    }
}
