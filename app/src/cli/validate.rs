//! `flowbench validate FILE...`: every problem of every file, one line each; with
//! `--connect`, also whether the brokers the graph binds to answer and hold the names.

use std::path::PathBuf;
use std::time::Duration;

use super::{Failure, load, print_stderr, print_stdout};

/// How long `--connect` waits for one broker.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Checks each file; valid ones are confirmed on stdout (`FILE: ok`), warnings go to stderr
/// as they come, and the errors of all files are returned together.
pub fn validate(files: &[PathBuf], connect: bool) -> Result<(), Failure> {
    let mut errors = Vec::new();
    for file in files {
        match load::check(file) {
            Ok(checked) => {
                print_stderr(&checked.warnings);
                let mut ok = true;
                if connect {
                    for node in &checked.graph.nodes {
                        let Some(backend) = node.config.backend() else {
                            continue;
                        };
                        match flowbench_engine::broker::check(backend, CONNECT_TIMEOUT) {
                            Ok(found) => print_stdout(&format!(
                                "{}: node '{}': {} answers: {found}\n",
                                file.display(),
                                node.id,
                                backend.kind_name()
                            ))?,
                            Err(e) => {
                                ok = false;
                                errors.push(format!(
                                    "{}: node '{}', field backend: {e}",
                                    file.display(),
                                    node.id
                                ));
                            }
                        }
                    }
                }
                if ok {
                    print_stdout(&format!("{}: ok\n", file.display()))?;
                }
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
