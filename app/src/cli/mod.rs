//! The command line of graph-format.md §3: the clap definition, dispatch to one file per
//! command, and the exit codes. Every problem is reported once, here, as lines on stderr.
//!
//! Exit codes: 0 success; 1 invalid input (each problem one line naming the file); 2 usage
//! error (clap); 3 a run whose conservation check failed (an engine fault, not the user's);
//! 4 a run stopped early by its memory ceiling or `--timeout`.

pub(crate) mod duration;
mod export;
mod import;
pub mod load;
pub(crate) mod replications;
pub(crate) mod run;
pub(crate) mod spill;
pub mod summary;
pub(crate) mod sweep;
mod validate;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit code of a run whose conservation check failed.
pub const EXIT_CONSERVATION_FAILED: u8 = 3;
/// Exit code of a run stopped early by a guard: the memory ceiling or `--timeout`.
pub const EXIT_STOPPED: u8 = 4;

#[derive(Debug, Parser)]
#[command(
    name = "flowbench",
    version,
    about = "Design and simulate message-flow architectures",
    long_about = "Design and simulate message-flow architectures. Without a command, opens the \
                  designer.\n\nExit codes: 0 success, 1 invalid input, 2 usage error, 3 a run \
                  whose conservation check failed, 4 a run stopped by its memory ceiling or \
                  --timeout."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Opens the designer on FILE.
    Open {
        /// The graph file.
        file: PathBuf,
        /// Start the live run as soon as the window opens.
        #[arg(long)]
        run: bool,
        /// Speed of that run: 1, 10, 100 (× the wall clock) or max.
        #[arg(long, default_value = "1", value_parser = parse_live_speed, requires = "run")]
        speed: crate::ui::live::Speed,
        /// Opens only the nodes whose `"process"` is NAME and the broker-backed channels they
        /// use (as `run --process`), as a new document: this process's share, watched live.
        #[arg(long, value_name = "NAME")]
        process: Option<String>,
        /// Opens only these nodes (ids, comma separated; `*` matches any characters) and the
        /// broker-backed channels they use.
        #[arg(long, value_name = "IDS", value_delimiter = ',')]
        node_filter: Vec<String>,
    },
    /// Runs a graph headless and prints a summary table (or the report as JSON).
    Run(run::RunArgs),
    /// Checks graph files; prints one line per problem and exits 1 if any file is invalid.
    Validate {
        /// The graph files.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// Also connects to every broker a channel is bound to and checks that it answers
        /// and that the queue or stream exists.
        #[arg(long)]
        connect: bool,
    },
    /// Prints a graph as Graphviz DOT, a Mermaid flowchart or normalised JSON.
    Export(export::ExportArgs),
    /// Turns a Mermaid flowchart (as in design docs) into a graph file, laid out.
    Import {
        /// The Mermaid file.
        file: PathBuf,
        /// Where to write the graph (default: standard output).
        #[arg(short = 'o', long = "output", value_name = "OUT.json")]
        output: Option<PathBuf>,
    },
}

/// Why a command did not succeed.
#[derive(Debug)]
pub enum Failure {
    /// Invalid input: each line is one problem, naming the file and the place.
    Invalid(Vec<String>),
    /// The run finished but its messages do not add up.
    ConservationFailed(String),
    /// The run was stopped early by a guard (memory ceiling, wall-clock timeout); the line
    /// says which and why.
    Stopped(String),
    /// Standard output could not be written (for a closed pipe: nothing more to say).
    Output(std::io::Error),
    /// Arguments that parse but do not go together.
    Usage(String),
}

impl From<Vec<String>> for Failure {
    fn from(lines: Vec<String>) -> Failure {
        Failure::Invalid(lines)
    }
}

/// Parses the command line, runs the command and returns its exit code. Never panics: a
/// panic anywhere below is reported as an internal error with exit code 1.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version print to stdout and exit 0; usage errors exit 2.
            let _ = e.print();
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    std::panic::set_hook(Box::new(|info| {
        let place = info
            .location()
            .map(|l| format!(" ({}:{})", l.file(), l.line()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".to_owned());
        let _ = writeln!(
            std::io::stderr(),
            "error: internal error{place}: {message}; please report this with the input"
        );
    }));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dispatch(cli)));
    match outcome {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(failure)) => report_failure(failure),
        // The hook above has printed the message.
        Err(_) => ExitCode::from(1),
    }
}

fn dispatch(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        None => open_designer(None),
        Some(Command::Open {
            file,
            run,
            speed,
            process,
            node_filter,
        }) => {
            let start_run = run.then_some(speed);
            let share = flowbench_engine::split::Share {
                process,
                nodes: node_filter,
            };
            let start = if share.is_whole() {
                crate::ui::StartWith::File(file)
            } else {
                crate::ui::StartWith::Document(Box::new(share_document(&file, &share)?))
            };
            crate::ui::run_designer_on(start, start_run)
                .map_err(|e| Failure::Invalid(vec![format!("error: {e:#}")]))
        }
        Some(Command::Run(args)) => run::run(&args),
        Some(Command::Validate { files, connect }) => validate::validate(&files, connect),
        Some(Command::Export(args)) => export::export(&args),
        Some(Command::Import { file, output }) => import::import(&file, output.as_deref()),
    }
}

/// A process's share of the graph in `file`, as a new document (it has no path, so saving it
/// never overwrites the whole graph).
fn share_document(
    file: &std::path::Path,
    share: &flowbench_engine::split::Share,
) -> Result<crate::ui::document::Document, Failure> {
    let mut graph = load_share(file, share)?;
    let which = match &share.process {
        Some(p) => format!("process {p}"),
        None => format!("nodes {}", share.nodes.join(", ")),
    };
    graph.name = format!("{} — {which}", graph.name);
    Ok(crate::ui::document::Document::new(graph, None))
}

/// Loads and checks `file` and takes `share` of it (the whole graph for an empty share),
/// printing the warnings of both steps.
fn load_share(
    file: &std::path::Path,
    share: &flowbench_engine::split::Share,
) -> Result<flowbench_engine::Graph, Failure> {
    let checked = load::check(file)?;
    print_stderr(&checked.warnings);
    let part = flowbench_engine::split::split(&checked.graph, share)
        .map_err(|e| Failure::Invalid(vec![format!("{}: {e}", file.display())]))?;
    print_stderr(
        &part
            .warnings
            .iter()
            .map(|w| format!("{}: warning: {w}", file.display()))
            .collect::<Vec<_>>(),
    );
    Ok(part.graph)
}

fn parse_live_speed(text: &str) -> Result<crate::ui::live::Speed, String> {
    use crate::ui::live::Speed;
    match text {
        "1" => Ok(Speed::X1),
        "10" => Ok(Speed::X10),
        "100" => Ok(Speed::X100),
        "max" => Ok(Speed::Max),
        other => Err(format!(
            "'{other}' is not a live speed: use 1, 10, 100 or max"
        )),
    }
}

fn open_designer(file: Option<PathBuf>) -> Result<(), Failure> {
    crate::ui::run_designer(file).map_err(|e| Failure::Invalid(vec![format!("error: {e:#}")]))
}

fn report_failure(failure: Failure) -> ExitCode {
    match failure {
        Failure::Invalid(lines) => {
            print_stderr(&lines);
            ExitCode::from(1)
        }
        Failure::ConservationFailed(detail) => {
            print_stderr(&[format!("error: conservation check failed: {detail}")]);
            ExitCode::from(EXIT_CONSERVATION_FAILED)
        }
        Failure::Stopped(line) => {
            print_stderr(&[line]);
            ExitCode::from(EXIT_STOPPED)
        }
        Failure::Usage(why) => {
            print_stderr(&[format!("error: {why}")]);
            ExitCode::from(2)
        }
        Failure::Output(e) => {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                print_stderr(&[format!("error: cannot write to standard output: {e}")]);
            }
            ExitCode::from(1)
        }
    }
}

/// Writes `text` to stdout, reporting a closed or failing stdout instead of panicking.
fn print_stdout(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(Failure::Output)
}

/// Prints lines on stderr (a failing stderr is ignored: there is nowhere left to complain).
fn print_stderr(lines: &[String]) {
    let mut stderr = std::io::stderr().lock();
    for line in lines {
        let _ = writeln!(stderr, "{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The clap definition is consistent (no clashing names or bad defaults).
    #[test]
    fn command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
