//! Progress: JSON Lines events on `--progress-fd N`, and a progress bar on a terminal.
//!
//! Events: `run_started`, `subject_evaluated`, `effect_started`, `effect_completed`,
//! `run_completed`; each line is one JSON object with `ts` (RFC 3339 UTC) and `event`.
//! A reader that goes away disables further events; it never fails the run.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use serde_json::{Map, Value};

use crate::error::Result;

/// The progress channel of one invocation.
#[derive(Debug, Default)]
pub struct Progress {
    sink: Mutex<Option<File>>,
    /// Whether a terminal progress bar may be drawn (stderr is a terminal, not quiet).
    bars: bool,
}

impl Progress {
    /// `fd`: the `--progress-fd` value; `quiet`: `-q`.
    pub fn new(fd: Option<i32>, quiet: bool) -> Result<Progress> {
        let sink = match fd {
            Some(n) => Some(super::fd::take_fd(n, "--progress-fd")?),
            None => None,
        };
        Ok(Progress {
            sink: Mutex::new(sink),
            bars: !quiet && std::io::stderr().is_terminal(),
        })
    }

    /// No events, no bars.
    pub fn silent() -> Progress {
        Progress::default()
    }

    /// Emits one event. `fields` must be a JSON object (other values are wrapped).
    pub fn emit(&self, event: &str, fields: Value) {
        let mut guard = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        let Some(file) = guard.as_mut() else { return };
        let mut obj = Map::new();
        obj.insert(
            "ts".into(),
            Value::String(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        );
        obj.insert("event".into(), Value::String(event.into()));
        match fields {
            Value::Object(m) => obj.extend(m),
            Value::Null => {}
            other => {
                obj.insert("data".into(), other);
            }
        }
        let mut line = match serde_json::to_vec(&Value::Object(obj)) {
            Ok(l) => l,
            Err(_) => return,
        };
        line.push(b'\n');
        // One write per event: lines up to PIPE_BUF do not interleave.
        if file.write_all(&line).and_then(|_| file.flush()).is_err() {
            tracing::debug!("progress reader went away; further events disabled");
            *guard = None;
        }
    }

    /// A progress bar for `len` steps, hidden when not on a terminal or with `-q`.
    pub fn bar(&self, len: u64, message: &str) -> indicatif::ProgressBar {
        if !self.bars {
            return indicatif::ProgressBar::hidden();
        }
        let pb = indicatif::ProgressBar::new(len);
        if let Ok(style) =
            indicatif::ProgressStyle::with_template("{spinner} {msg} [{bar:30}] {pos}/{len}")
        {
            pb.set_style(style.progress_chars("=> "));
        }
        pb.set_message(message.to_string());
        pb
    }

    /// A spinner for work whose length is not known yet (the reads before the candidates
    /// are counted), shown from the first request; hidden when not on a terminal or with `-q`.
    pub fn spinner(&self, message: &str) -> indicatif::ProgressBar {
        if !self.bars {
            return indicatif::ProgressBar::hidden();
        }
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_message(message.to_string());
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
        pb
    }

    /// Closes the event stream.
    pub fn close(&self) {
        let mut guard = self.sink.lock().unwrap_or_else(|e| e.into_inner());
        *guard = None;
    }
}

/// A progress bar or spinner that is cleared however its scope ends (early returns, `?`).
pub struct ClearOnDrop(pub indicatif::ProgressBar);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
