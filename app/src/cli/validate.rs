//! `flowbench validate FILE...`: every problem of every file, one line each.

use std::path::PathBuf;

use super::{Failure, load, print_stderr, print_stdout};

/// Checks each file; valid ones are confirmed on stdout (`FILE: ok`), warnings go to stderr
/// as they come, and the errors of all files are returned together.
pub fn validate(files: &[PathBuf]) -> Result<(), Failure> {
    let mut errors = Vec::new();
    for file in files {
        match load::check(file) {
            Ok(checked) => {
                print_stderr(&checked.warnings);
                print_stdout(&format!("{}: ok\n", file.display()))?;
            }
            Err(lines) => errors.extend(lines),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Failure::Invalid(errors))
    }
}
