//! `flowbench export FILE --format dot|mermaid|json`: the graph as Graphviz DOT, as a
//! Mermaid `flowchart LR`, or as normalised JSON (every config field written out). The
//! conversions live in [`crate::convert`], shared with the designer.

use std::path::PathBuf;

use crate::convert::{dot, mermaid};

use super::{Failure, load, print_stderr, print_stdout};

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The graph file.
    file: PathBuf,
    /// What to print.
    #[arg(long, value_enum)]
    format: ExportFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Graphviz DOT (`dot -Tsvg`).
    Dot,
    /// A Mermaid `flowchart LR`, as used in design docs.
    Mermaid,
    /// The graph file, normalised.
    Json,
}

/// Loads and checks the file (an invalid graph is not exported) and prints it.
pub fn export(args: &ExportArgs) -> Result<(), Failure> {
    let checked = load::check(&args.file)?;
    print_stderr(&checked.warnings);
    let text = match args.format {
        ExportFormat::Dot => dot::to_dot(&checked.graph),
        ExportFormat::Mermaid => mermaid::to_mermaid(&checked.graph),
        ExportFormat::Json => checked.graph.to_json_pretty(),
    };
    print_stdout(&text)
}
