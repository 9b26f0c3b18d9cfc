//! `flowbench import FILE.mmd [-o OUT.json]`: Mermaid flowchart to graph file.

use std::path::Path;

use super::Failure;

/// Not available in this version: says so and exits 1.
pub fn import(file: &Path, output: Option<&Path>) -> Result<(), Failure> {
    let _ = output;
    Err(Failure::Invalid(vec![format!(
        "{}: import from Mermaid is not yet supported in this version of flowbench",
        file.display()
    )]))
}
