//! Writing files safely, shared by the designer and the command line. Every write goes to a
//! temporary file in the target's folder, is flushed to disk and then renamed over the
//! target, so a crash or a full disk leaves the old file or the new one, never half of one.
//! The temporary file of a write whose process was killed is removed when the same file is
//! written next. A [`DiskStamp`] remembers what a file looked like, to notice when someone
//! else changed it.

use std::fs::File;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use flowbench_engine::Graph;

/// A file's modification time and length when it was last read or written by us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskStamp {
    modified: Option<SystemTime>,
    len: u64,
}

impl DiskStamp {
    /// The stamp of `path` now, or `None` when it does not exist (or cannot be read).
    pub fn of(path: &Path) -> Option<DiskStamp> {
        let meta = std::fs::metadata(path).ok()?;
        Some(DiskStamp {
            modified: meta.modified().ok(),
            len: meta.len(),
        })
    }

    /// Whether `path` was changed (or replaced) since this stamp was taken. A file that is
    /// gone counts as unchanged: writing it again loses nothing.
    pub fn changed_on_disk(&self, path: &Path) -> bool {
        DiskStamp::of(path).is_some_and(|now| now != *self)
    }
}

/// Where the previous version of `path` is kept: `<name>.bak` beside it.
pub fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".bak");
    path.with_file_name(name)
}

/// Replaces `path` with `bytes` atomically; with `backup`, the previous version (if any) is
/// kept as `<name>.bak`.
pub fn write_atomic(path: &Path, bytes: &[u8], backup: bool) -> io::Result<()> {
    write_atomic_with(path, backup, |file| file.write_all(bytes))
}

/// Like [`write_atomic`], with the content written by `write` into the temporary file. If
/// `write` fails, the target is untouched and the temporary file removed.
pub fn write_atomic_with(
    path: &Path,
    backup: bool,
    write: impl FnOnce(&mut File) -> io::Result<()>,
) -> io::Result<()> {
    // Saving through a symbolic link replaces the file it points to, not the link.
    let target = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
        }
        _ => path.to_owned(),
    };
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    if let Some(name) = target.file_name().and_then(|n| n.to_str()) {
        remove_stale_temps(&dir, Some(name));
    }
    let (temp_path, mut file) = create_temp_beside(&target, &dir)?;
    let written = write(&mut file)
        .and_then(|()| file.flush())
        .and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp_path);
        return Err(e);
    }
    if let Ok(meta) = std::fs::metadata(&target) {
        // The new version keeps the old one's permissions.
        let _ = std::fs::set_permissions(&temp_path, meta.permissions());
        if backup {
            keep_backup(&target, &dir);
        }
    }
    if let Err(e) = std::fs::rename(&temp_path, &target) {
        let _ = std::fs::remove_file(&temp_path);
        return Err(e);
    }
    sync_dir(&dir);
    Ok(())
}

/// Removes the temporary files that writes into `dir` left when their process was killed
/// before it could finish (for the target named `name` and its backup, or for every target
/// with `None`). Temporary files of a process still running are left alone: it may be
/// writing them now.
pub fn remove_stale_temps(dir: &Path, name: Option<&str>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let file_name = entry.file_name();
        let Some((target, pid)) = file_name.to_str().and_then(parse_temp_name) else {
            continue;
        };
        let ours = name.is_none_or(|name| {
            target
                .strip_prefix(name)
                .is_some_and(|rest| rest.is_empty() || rest == ".bak")
        });
        if !ours || pid == std::process::id() {
            continue;
        }
        let stale = match writer_running(pid) {
            Some(running) => !running,
            // Where processes cannot be looked up, a day-old unfinished write is stale.
            None => entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > STALE_TEMP_AGE),
        };
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// How old a temporary file of a process that cannot be looked up must be to count as left
/// behind.
const STALE_TEMP_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// The target's name and the writing process of a temporary file name
/// (`.NAME.PID-N.tmp`, as [`create_temp_beside`] makes them).
fn parse_temp_name(file_name: &str) -> Option<(&str, u32)> {
    let inner = file_name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (target, id) = inner.rsplit_once('.')?;
    let (pid, n) = id.split_once('-')?;
    if target.is_empty() || n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((target, pid.parse().ok()?))
}

/// Whether the process `pid` runs, where that can be known (Linux).
fn writer_running(pid: u32) -> Option<bool> {
    cfg!(target_os = "linux").then(|| Path::new(&format!("/proc/{pid}")).exists())
}

/// A new, empty temporary file in `dir`, named after the target.
fn create_temp_beside(target: &Path, dir: &Path) -> io::Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = target
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{name}.{}-{n}.tmp", std::process::id()));
        match File::options().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((temp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
}

/// Keeps the current `target` as its backup: a hard link where the file system has them (the
/// old version stays intact when the target is renamed over), else a copy. It is made under a
/// temporary name and renamed over the previous backup, so a crash leaves the old backup or
/// the new one, never none. Best effort: a missing backup never stops a save.
fn keep_backup(target: &Path, dir: &Path) {
    let backup = backup_path(target);
    let Ok((temp, file)) = create_temp_beside(&backup, dir) else {
        return;
    };
    drop(file);
    // The link needs the name free; no one else takes it (it holds our process id).
    let _ = std::fs::remove_file(&temp);
    let made = std::fs::hard_link(target, &temp).is_ok() || std::fs::copy(target, &temp).is_ok();
    let renamed = made && std::fs::rename(&temp, &backup).is_ok();
    // Also after a successful rename: when the backup already is the file (a save killed
    // after its backup was made), both names are links to one file and POSIX `rename` leaves
    // both in place.
    if !renamed || temp.exists() {
        let _ = std::fs::remove_file(&temp);
    }
}

/// Makes the rename itself durable (where the platform allows opening a folder).
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Why a graph was not saved.
#[derive(Debug)]
pub enum SaveError {
    /// The file changed on disk since it was opened or last saved; overwriting needs a yes.
    ChangedOnDisk,
    Io(io::Error),
}

impl std::fmt::Display for SaveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SaveError::ChangedOnDisk => f.write_str("the file changed on disk since it was opened"),
            SaveError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SaveError {}

/// Saves `graph` as normalised JSON to `path`, atomically, keeping the previous version as
/// `<name>.bak`. With `expected`, refuses ([`SaveError::ChangedOnDisk`]) when the file is no
/// longer as stamped. Returns the new stamp. A graph with validation errors saves like any
/// other: it is the user's work.
pub fn save_graph(
    path: &Path,
    graph: &Graph,
    expected: Option<&DiskStamp>,
) -> Result<DiskStamp, SaveError> {
    if expected.is_some_and(|stamp| stamp.changed_on_disk(path)) {
        return Err(SaveError::ChangedOnDisk);
    }
    write_atomic(path, graph.to_json_pretty().as_bytes(), true).map_err(SaveError::Io)?;
    DiskStamp::of(path).ok_or_else(|| {
        SaveError::Io(io::Error::new(
            io::ErrorKind::NotFound,
            "the file is gone right after saving",
        ))
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::cli::load;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn sample_graphs() -> Vec<PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-graphs");
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
    }

    /// Every sample graph survives load → save → load unchanged.
    #[test]
    fn samples_round_trip_through_save() {
        let dir = tempfile::tempdir().unwrap();
        for file in sample_graphs() {
            let (graph, _) = load::load(&file).unwrap();
            let copy = dir.path().join(file.file_name().unwrap());
            save_graph(&copy, &graph, None).unwrap();
            let (again, _) = load::load(&copy).unwrap();
            assert_eq!(again, graph, "{}", file.display());
        }
    }

    /// A graph with validation errors and an unknown node kind still saves and loads as it
    /// was.
    #[test]
    fn invalid_graphs_save_and_load() {
        let text = r#"{"format": "flowbench.graph", "version": 1, "name": "bad",
            "nodes": [{"id": "x", "kind": "teleporter", "config": {"range": 3}},
                      {"id": "q", "kind": "queue", "config": {"capacity": 0}}],
            "edges": [{"from": "q", "to": "nowhere"}]}"#;
        let graph = Graph::from_json_str(text).unwrap();
        assert!(
            flowbench_engine::validate(&graph)
                .iter()
                .any(|d| d.is_error())
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.json");
        save_graph(&path, &graph, None).unwrap();
        let (again, _) = load::load(&path).unwrap();
        assert_eq!(again, graph);
    }

    /// A write that fails half-way leaves the target as it was and no temporary file behind;
    /// while writing, the target still holds the old content.
    #[test]
    fn failed_write_leaves_no_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.json");
        std::fs::write(&path, "old").unwrap();
        let err = write_atomic_with(&path, true, |file| {
            file.write_all(b"half of the new")?;
            assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
            Err(io::Error::other("disk full"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(entries(dir.path()), ["g.json"]);
    }

    /// A successful write replaces the file whole, keeps the old one as `.bak`, and leaves
    /// no temporary file.
    #[test]
    fn write_replaces_and_keeps_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.json");
        write_atomic(&path, b"first", true).unwrap();
        assert_eq!(entries(dir.path()), ["g.json"], "no backup of nothing");
        write_atomic(&path, b"second", true).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second");
        assert_eq!(
            std::fs::read_to_string(backup_path(&path)).unwrap(),
            "first"
        );
        write_atomic(&path, b"third", true).unwrap();
        assert_eq!(
            std::fs::read_to_string(backup_path(&path)).unwrap(),
            "second"
        );
        assert_eq!(entries(dir.path()), ["g.json", "g.json.bak"]);
        write_atomic(&path, b"fourth", false).unwrap();
        assert_eq!(
            std::fs::read_to_string(backup_path(&path)).unwrap(),
            "second"
        );
    }

    /// When the backup is already the file itself (a save killed after its backup was
    /// linked and before the new version replaced the file), the next save leaves no
    /// temporary link behind and still keeps the right backup.
    #[cfg(unix)]
    #[test]
    fn backup_that_is_the_file_leaves_no_temporary_link() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.json");
        write_atomic(&path, b"first", true).unwrap();
        std::fs::hard_link(&path, backup_path(&path)).unwrap();
        write_atomic(&path, b"second", true).unwrap();
        assert_eq!(entries(dir.path()), ["g.json", "g.json.bak"]);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "second");
        assert_eq!(
            std::fs::read_to_string(backup_path(&path)).unwrap(),
            "first"
        );
    }

    /// A write killed before it finished leaves its temporary file (or its backup's); the
    /// next write of the same file removes them, while temporary files of other files, of
    /// writers still running and of other programs stay.
    #[cfg(target_os = "linux")]
    #[test]
    fn next_write_removes_what_killed_writes_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.json");
        let gone = u32::MAX - 1;
        let running = std::os::unix::process::parent_id();
        let left = [
            format!(".g.json.{gone}-0.tmp"),
            format!(".g.json.{gone}-17.tmp"),
            format!(".g.json.bak.{gone}-2.tmp"),
        ];
        let kept = [
            format!(".g.json.{running}-3.tmp"),
            format!(".other.json.{gone}-0.tmp"),
            ".g.json.tmp".to_owned(),
            ".notes.tmp".to_owned(),
        ];
        for name in left.iter().chain(&kept) {
            std::fs::write(dir.path().join(name), "half").unwrap();
        }
        write_atomic(&path, b"new", true).unwrap();
        let mut expected: Vec<String> = kept.to_vec();
        expected.push("g.json".to_owned());
        expected.sort();
        assert_eq!(entries(dir.path()), expected);
        // For every file of a folder at once.
        remove_stale_temps(dir.path(), None);
        assert!(!dir.path().join(&kept[1]).exists());
        assert!(dir.path().join(&kept[0]).exists());
    }

    /// Saving through a symbolic link replaces the linked file and keeps the link.
    #[cfg(unix)]
    #[test]
    fn saving_through_a_link_keeps_the_link() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        let link = dir.path().join("link.json");
        std::fs::write(&real, "old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write_atomic(&link, b"new", false).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
    }

    /// A file changed by someone else since it was stamped is not overwritten without a yes.
    #[test]
    fn changed_on_disk_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.json");
        let graph = Graph::from_json_str(include_str!("../../sample-graphs/mm1.json")).unwrap();
        let stamp = save_graph(&path, &graph, None).unwrap();
        assert!(!stamp.changed_on_disk(&path));
        // Saving again over our own version is fine.
        let stamp = save_graph(&path, &graph, Some(&stamp)).unwrap();
        std::fs::write(&path, "{\"edited\": \"elsewhere\"}").unwrap();
        assert!(stamp.changed_on_disk(&path));
        assert!(matches!(
            save_graph(&path, &graph, Some(&stamp)),
            Err(SaveError::ChangedOnDisk)
        ));
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .contains("elsewhere")
        );
        // Without a stamp (the user said yes) it saves.
        save_graph(&path, &graph, None).unwrap();
        // A deleted file is simply written again.
        std::fs::remove_file(&path).unwrap();
        assert!(!stamp.changed_on_disk(&path));
    }
}
