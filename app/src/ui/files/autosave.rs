//! Autosave and crash recovery: while the document has unsaved changes it is written every
//! few seconds to `autosave-<pid>.json` in the app's data folder; the file goes away on a
//! clean save or exit, so one found at start-up, from a process no longer running, is work
//! a crash would otherwise have lost.

use std::io;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use flowbench_engine::Graph;
use serde_json::{Value, json};

use super::{AUTOSAVE_INTERVAL, DATA_DIR_ENV, Recovery};
use crate::file_io;
use crate::ui::Document;
use crate::ui::document::DocStamp;

const AUTOSAVE_FORMAT: &str = "flowbench.autosave";

/// The folder for autosaves: `$FLOWBENCH_DATA_DIR`, else the app's data folder
/// (`~/.local/share/flowbench` on Linux).
pub fn data_dir() -> Option<PathBuf> {
    data_dir_from(std::env::var_os(DATA_DIR_ENV))
}

pub(super) fn data_dir_from(env: Option<std::ffi::OsString>) -> Option<PathBuf> {
    env.filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| eframe::storage_dir("flowbench"))
}

/// This session's autosave: `autosave-<pid>.json` in the data folder, written every
/// [`AUTOSAVE_INTERVAL`] while the document has unsaved changes, removed on a clean save or
/// exit. Writing happens on a helper thread, so a big graph never stalls a frame.
pub struct Autosave {
    pub(super) dir: PathBuf,
    file: PathBuf,
    last_write: Instant,
    /// The document and revision in the file, if the file exists.
    written: Option<DocStamp>,
    writer: Option<JoinHandle<io::Result<()>>>,
}

impl Autosave {
    pub fn new(dir: PathBuf) -> Autosave {
        let file = dir.join(format!("autosave-{}.json", std::process::id()));
        Autosave {
            dir,
            file,
            last_write: Instant::now(),
            written: None,
            writer: None,
        }
    }

    /// The autosave file of this session.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Writes the document when it has changes not yet autosaved and the interval has passed;
    /// removes the autosave when the document has no unsaved changes. Returns how long until
    /// the next write is due, when one is.
    pub fn tick(&mut self, doc: &Document, now: Instant) -> Option<Duration> {
        if !doc.is_dirty() {
            if self.written.is_some() {
                self.clear();
            }
            return None;
        }
        if self.written == Some(doc.stamp()) {
            return None;
        }
        let due = self.last_write + AUTOSAVE_INTERVAL;
        if now < due {
            return Some(due - now);
        }
        if self.writer.as_ref().is_some_and(|w| !w.is_finished()) {
            return Some(Duration::from_millis(500));
        }
        self.finish_writer();
        let text = autosave_text(doc, SystemTime::now());
        let (dir, file) = (self.dir.clone(), self.file.clone());
        self.writer = Some(std::thread::spawn(move || {
            std::fs::create_dir_all(&dir)?;
            file_io::write_atomic(&file, text.as_bytes(), false)
        }));
        self.written = Some(doc.stamp());
        self.last_write = now;
        None
    }

    /// Writes the document now and waits for it (tests, and before risky operations).
    pub fn write_now(&mut self, doc: &Document) -> io::Result<()> {
        self.finish_writer();
        std::fs::create_dir_all(&self.dir)?;
        file_io::write_atomic(
            &self.file,
            autosave_text(doc, SystemTime::now()).as_bytes(),
            false,
        )?;
        self.written = Some(doc.stamp());
        self.last_write = Instant::now();
        Ok(())
    }

    /// Moves the last write `by` into the past, as if that much time had gone by since.
    #[cfg(test)]
    pub(super) fn backdate(&mut self, by: Duration) {
        self.last_write = self
            .last_write
            .checked_sub(by)
            .expect("the clock goes back that far");
    }

    /// Removes the autosave (after a clean save or exit, or when changes are discarded).
    pub fn clear(&mut self) {
        self.finish_writer();
        let _ = std::fs::remove_file(&self.file);
        self.written = None;
    }

    pub(super) fn finish_writer(&mut self) {
        if let Some(writer) = self.writer.take() {
            // A failed autosave is retried at the next change; there is no one to tell.
            let _ = writer.join();
        }
    }
}

/// The autosave record: the graph and the file it belongs to.
fn autosave_text(doc: &Document, now: SystemTime) -> String {
    let saved_at_ms = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let record = json!({
        "format": AUTOSAVE_FORMAT,
        "version": 1,
        "pid": std::process::id(),
        "saved_at_ms": saved_at_ms,
        "path": doc.path.as_ref().map(|p| p.to_string_lossy().into_owned()),
        "graph": serde_json::to_value(&doc.graph).unwrap_or(Value::Null),
    });
    let mut text = serde_json::to_string_pretty(&record).unwrap_or_default();
    text.push('\n');
    text
}

/// The newest autosave in `dir` left by a session that is no longer running.
pub fn find_recovery(dir: &Path) -> Option<Recovery> {
    let entries = std::fs::read_dir(dir).ok()?;
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("autosave-") && n.ends_with(".json"))
        })
        .filter_map(|file| read_autosave(&file))
        .filter(|(pid, _)| !process_running(*pid))
        .map(|(_, recovery)| recovery)
        .max_by_key(|r| r.saved_at)
}

fn read_autosave(file: &Path) -> Option<(u32, Recovery)> {
    let text = std::fs::read_to_string(file).ok()?;
    let record: Value = serde_json::from_str(&text).ok()?;
    if record.get("format")?.as_str()? != AUTOSAVE_FORMAT {
        return None;
    }
    let pid = u32::try_from(record.get("pid")?.as_u64()?).ok()?;
    let saved_at = UNIX_EPOCH + Duration::from_millis(record.get("saved_at_ms")?.as_u64()?);
    let path = record.get("path")?.as_str().map(PathBuf::from);
    let graph = Graph::from_json_str(&record.get("graph")?.to_string()).ok()?;
    Some((
        pid,
        Recovery {
            file: file.to_owned(),
            saved_at,
            path,
            graph,
        },
    ))
}

/// Whether a process with this id runs (this one included). Where that cannot be known
/// (outside Linux), other sessions count as ended.
fn process_running(pid: u32) -> bool {
    pid == std::process::id()
        || (cfg!(target_os = "linux") && Path::new(&format!("/proc/{pid}")).exists())
}
