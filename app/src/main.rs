//! The `flowbench` binary: the command line of graph-format.md §3.

fn main() -> std::process::ExitCode {
    flowbench::cli::main()
}
