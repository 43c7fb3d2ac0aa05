//! Conditional GETs for GitHub: remembered `ETag`s and the bodies they stand for, kept in a
//! JSON file beside the ledger database. A request for a remembered URL carries
//! `If-None-Match`; a `304 Not Modified` (which GitHub does not count against the primary
//! rate limit) is answered from the file, `Link` header included, so a list read through
//! 304s is as complete as one read in full.
//!
//! The file holds response bodies of the repository's API (never the token: it travels in
//! a header and is not part of any body or URL). A missing or unreadable file is an empty
//! cache; only the entries used by the last run are written back, so the file stays the
//! size of one tick's reads.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// One remembered answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Cached {
    pub etag: String,
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<String>,
}

#[derive(Serialize, Deserialize, Default)]
struct CacheFile {
    version: u32,
    entries: HashMap<String, Cached>,
}

struct State {
    entries: HashMap<String, Cached>,
    used: HashSet<String>,
    dirty: bool,
}

/// The cache of one client.
pub(crate) struct EtagCache {
    path: PathBuf,
    state: Mutex<State>,
}

/// A file larger than this is not read (the cache starts empty).
const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

impl EtagCache {
    /// Loads `path`; a missing, oversized or unreadable file gives an empty cache.
    pub(super) fn load(path: &Path) -> EtagCache {
        let entries = match std::fs::metadata(path) {
            Ok(m) if m.len() <= MAX_FILE_BYTES => std::fs::read(path)
                .ok()
                .and_then(|b| serde_json::from_slice::<CacheFile>(&b).ok())
                .filter(|f| f.version == 1)
                .map(|f| f.entries)
                .unwrap_or_else(|| {
                    tracing::warn!(path = %path.display(), "ETag cache unreadable; starting empty");
                    HashMap::new()
                }),
            _ => HashMap::new(),
        };
        EtagCache {
            path: path.to_path_buf(),
            state: Mutex::new(State {
                entries,
                used: HashSet::new(),
                dirty: false,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The remembered answer for `url`, if any.
    pub(super) fn get(&self, url: &str) -> Option<Cached> {
        let mut st = self.lock();
        let hit = st.entries.get(url).cloned();
        if hit.is_some() {
            st.used.insert(url.to_string());
        }
        hit
    }

    pub(super) fn put(&self, url: &str, entry: Cached) {
        let mut st = self.lock();
        st.used.insert(url.to_string());
        st.entries.insert(url.to_string(), entry);
        st.dirty = true;
    }

    /// Writes the entries used since loading (atomically: a temporary file, then a rename).
    pub(super) fn save(&self) -> Result<(), String> {
        let file = {
            let st = self.lock();
            if !st.dirty && st.used.len() == st.entries.len() {
                return Ok(());
            }
            CacheFile {
                version: 1,
                entries: st
                    .entries
                    .iter()
                    .filter(|(k, _)| st.used.contains(*k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            }
        };
        let err = |e: std::io::Error| format!("{}: {e}", self.path.display());
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        let json = serde_json::to_vec(&file).map_err(|e| e.to_string())?;
        // One temporary file per process: two runs saving at once never interleave.
        let mut tmp_name = self.path.as_os_str().to_os_string();
        tmp_name.push(format!(".{}.tmp", std::process::id()));
        let tmp = PathBuf::from(tmp_name);
        {
            use std::io::Write;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts.open(&tmp).map_err(err)?;
            f.write_all(&json).map_err(err)?;
        }
        std::fs::rename(&tmp, &self.path).map_err(err)?;
        let mut st = self.lock();
        st.dirty = false;
        let used = st.used.clone();
        st.entries.retain(|k, _| used.contains(k));
        Ok(())
    }
}

impl std::fmt::Debug for EtagCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtagCache")
            .field("path", &self.path)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_only_used_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("etags.json");
        let c = EtagCache::load(&path);
        let e = |t: &str| Cached {
            etag: t.into(),
            body: "[]".into(),
            link: None,
            total: None,
        };
        c.put("https://x/a", e("1"));
        c.put("https://x/b", e("2"));
        c.save().unwrap();
        let c = EtagCache::load(&path);
        assert_eq!(c.get("https://x/a").unwrap().etag, "1");
        c.save().unwrap();
        let c = EtagCache::load(&path);
        assert!(c.get("https://x/b").is_none(), "unused entries are dropped");
        assert!(c.get("https://x/a").is_some());
        std::fs::write(&path, b"not json").unwrap();
        assert!(EtagCache::load(&path).get("https://x/a").is_none());
    }
}
