//! `flowbench import FILE.mmd [-o OUT.json]`: a Mermaid flowchart (as found in design docs)
//! to a graph file, laid out. See [`crate::convert::mermaid::from_mermaid`] for what is read.

use std::path::Path;

use crate::convert::mermaid;
use crate::file_io;

use super::{Failure, print_stderr, print_stdout};

/// Reads `file`, converts it, and writes the graph to `output` (atomically) or stdout. An
/// unreadable chart fails with `FILE:LINE: message`; what validation finds in the imported
/// graph is printed on stderr as notes, since the chart itself was fine.
pub fn import(file: &Path, output: Option<&Path>) -> Result<(), Failure> {
    let bytes = std::fs::read(file)
        .map_err(|e| Failure::Invalid(vec![format!("{}: cannot read: {e}", file.display())]))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        Failure::Invalid(vec![format!(
            "{}: the file is not UTF-8 text",
            file.display()
        )])
    })?;
    let mut graph = mermaid::from_mermaid(&text)
        .map_err(|e| Failure::Invalid(vec![format!("{}:{e}", file.display())]))?;
    if graph.name.is_empty() {
        graph.name = file.file_stem().map_or_else(
            || "Imported".to_owned(),
            |s| s.to_string_lossy().into_owned(),
        );
    }
    let notes: Vec<String> = flowbench_engine::validate(&graph)
        .iter()
        .map(|d| format!("{}: imported graph: {d}", file.display()))
        .collect();
    print_stderr(&notes);
    let json = graph.to_json_pretty();
    match output {
        Some(out) => file_io::write_atomic(out, json.as_bytes(), false)
            .map_err(|e| Failure::Invalid(vec![format!("{}: cannot write: {e}", out.display())])),
        None => print_stdout(&json),
    }
}
