//! Reading a graph file and checking it, with every problem as one line that names the file:
//! `FILE: cannot read: ...`, `FILE:LINE:COLUMN: ...` or `FILE: node 'id': ...`.
//! The designer uses the same loader, so both report a file's problems alike.

use std::path::Path;

use flowbench_engine::model::ParseError;
use flowbench_engine::{Diagnostic, Graph};

/// Why a file did not even give a graph.
#[derive(Debug)]
pub enum LoadError {
    Read(std::io::Error),
    Parse(ParseError),
}

impl LoadError {
    /// The one line that reports this error for `file`.
    pub fn line(&self, file: &Path) -> String {
        match self {
            LoadError::Read(e) => one_line(format!("{}: cannot read: {e}", file.display())),
            // ParseError displays as `LINE:COLUMN: message`.
            LoadError::Parse(e) => one_line(format!("{}:{e}", file.display())),
        }
    }
}

/// Reads and parses `file`, and validates the graph; the diagnostics are in the validator's
/// order, errors and warnings mixed.
pub fn load(file: &Path) -> Result<(Graph, Vec<Diagnostic>), LoadError> {
    let bytes = std::fs::read(file).map_err(LoadError::Read)?;
    let graph = Graph::from_json_slice(&bytes).map_err(LoadError::Parse)?;
    let diagnostics = flowbench_engine::validate(&graph);
    Ok((graph, diagnostics))
}

/// A graph that loaded without errors, and the warnings to show about it.
pub struct Checked {
    pub graph: Graph,
    /// `FILE: warning: ...` lines.
    pub warnings: Vec<String>,
}

/// Loads `file` for a command that needs a valid graph. On failure: every problem as one
/// line naming the file, warnings included, in the validator's order.
pub fn check(file: &Path) -> Result<Checked, Vec<String>> {
    let (graph, diagnostics) = load(file).map_err(|e| vec![e.line(file)])?;
    let lines = diagnostic_lines(file, &diagnostics);
    if diagnostics.iter().any(Diagnostic::is_error) {
        return Err(lines);
    }
    Ok(Checked {
        graph,
        warnings: lines,
    })
}

/// `FILE: <diagnostic>`, one line each (a warning reads `FILE: warning: ...`).
pub fn diagnostic_lines(file: &Path, diagnostics: &[Diagnostic]) -> Vec<String> {
    diagnostics
        .iter()
        .map(|d| one_line(format!("{}: {d}", file.display())))
        .collect()
}

/// Keeps a problem on one line even when a message spans several, so that each printed line
/// is exactly one problem.
fn one_line(text: String) -> String {
    // Two single-character searches: each is a fast memchr, also in a debug build, which
    // matters when a file has 100,000 problems.
    if text.contains('\n') || text.contains('\r') {
        text.split(['\n', '\r'])
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        text
    }
}
