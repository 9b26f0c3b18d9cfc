//! Run reports kept on disk until the JSON of `--replications` or `--set` is written.
//!
//! A report of a big graph takes megabytes, and a study may make a thousand of them: held in
//! memory until the end they would take gigabytes. Each report is written to an unnamed
//! temporary file (compact JSON) as its run ends, and read back one at a time while the
//! document is written: the JSON is the same as if every report had stayed in memory.

use std::fmt;
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

use flowbench_engine::Report;
use serde::{Serialize, Serializer};

/// The temporary file the reports of one command go to; the system removes it when the
/// command ends, however it ends.
pub struct Spill {
    file: Mutex<File>,
}

impl Spill {
    /// A new, empty spill in the system's temporary directory (`TMPDIR` on Unix).
    pub fn new() -> io::Result<Arc<Spill>> {
        Ok(Arc::new(Spill {
            file: Mutex::new(tempfile::tempfile()?),
        }))
    }

    /// Writes `report` at the end of the file: where to read it back.
    pub fn put(self: &Arc<Self>, report: &Report) -> io::Result<SpilledReport> {
        let bytes = serde_json::to_vec(report).map_err(io::Error::other)?;
        let mut file = self.lock();
        let offset = file.seek(SeekFrom::End(0))?;
        // The whole report under the lock: the file is shared by the parallel runs.
        file.write_all(&bytes)?;
        Ok(SpilledReport {
            spill: Arc::clone(self),
            offset,
            len: bytes.len(),
        })
    }

    fn read(&self, offset: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut file = self.lock();
        file.seek(SeekFrom::Start(offset))?;
        let mut bytes = vec![0; len];
        file.read_exact(&mut bytes)?;
        Ok(bytes)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, File> {
        // A run that panicked while holding the lock left no partial record behind it
        // that anyone points to: the file stays usable.
        self.file.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A report in a [`Spill`]; serializes as the report itself.
#[derive(Clone)]
pub struct SpilledReport {
    spill: Arc<Spill>,
    offset: u64,
    len: usize,
}

#[cfg(test)]
impl SpilledReport {
    /// The report, read back.
    fn load(&self) -> io::Result<Report> {
        let bytes = self.spill.read(self.offset, self.len)?;
        serde_json::from_slice(&bytes).map_err(io::Error::other)
    }
}

impl fmt::Debug for SpilledReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpilledReport({} bytes at {})", self.len, self.offset)
    }
}

impl Serialize for SpilledReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let bytes = self
            .spill
            .read(self.offset, self.len)
            .map_err(|e| serde::ser::Error::custom(format!("a run's report: {e}")))?;
        // Read back as a JSON value (fields in their order), so that the document's
        // formatter lays it out as it would the report itself.
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| serde::ser::Error::custom(format!("a run's report: {e}")))?;
        value.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowbench_engine::{Graph, Simulation};

    fn mm1_report(seed: u64) -> Report {
        let path = format!("{}/sample-graphs/mm1.json", env!("CARGO_MANIFEST_DIR"));
        let graph = Graph::from_json_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let mut sim = Simulation::new(&graph, Some(seed)).unwrap();
        sim.run_until_ms(30_000.0);
        sim.report(1.5)
    }

    /// A spilled report reads back equal, and writes the same JSON as the report itself,
    /// laid out by the same formatter.
    #[test]
    fn spilled_reports_read_back_and_write_the_same_json() {
        let spill = Spill::new().unwrap();
        let reports = [mm1_report(1), mm1_report(2), mm1_report(3)];
        let spilled: Vec<SpilledReport> = reports.iter().map(|r| spill.put(r).unwrap()).collect();
        // Read back out of order: each record is where it was written.
        for k in [2, 0, 1] {
            assert_eq!(spilled[k].load().unwrap(), reports[k]);
        }
        assert_eq!(
            serde_json::to_string_pretty(&spilled).unwrap(),
            serde_json::to_string_pretty(&reports).unwrap()
        );
        assert_eq!(
            serde_json::to_string(&spilled[1]).unwrap(),
            serde_json::to_string(&reports[1]).unwrap()
        );
    }

    /// Runs on several threads write their reports into one spill without mixing them.
    #[test]
    fn parallel_writers_keep_their_reports_apart() {
        let spill = Spill::new().unwrap();
        let reports: Vec<Report> = (0..8).map(mm1_report).collect();
        let spilled: Vec<SpilledReport> = std::thread::scope(|scope| {
            let handles: Vec<_> = reports
                .iter()
                .map(|r| {
                    let spill = &spill;
                    scope.spawn(move || spill.put(r).unwrap())
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for (s, r) in spilled.iter().zip(&reports) {
            assert_eq!(&s.load().unwrap(), r);
        }
    }
}
