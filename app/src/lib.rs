//! Flowbench, the application: a designer for message-flow architectures and a headless
//! command line, both on top of `flowbench_engine`.
//!
//! # Layout
//! - [`cli`]: the command line (graph-format.md §3): one file per command, the graph loader
//!   shared with the designer, and the run summary table.
//! - [`convert`]: graphs to and from Graphviz DOT and Mermaid, and the auto layout; used by
//!   both the designer and the command line.
//! - [`file_io`]: atomic saves with a backup, and noticing files changed on disk.
//! - [`ui`]: the designer window (eframe/egui).

pub mod cli;
pub mod convert;
pub mod file_io;
#[cfg(test)]
mod test_support;
pub mod ui;

/// The app's programs (the designer, the command line, their tests and benchmarks)
/// allocate through mimalloc, which keeps freed memory for the next allocation. With the
/// system allocator every frame's meshes (megabytes for a big graph, grown from empty by
/// egui's tessellator) came from fresh pages: about 3 ms of page faults per frame of the
/// 10,000-node graph, most of the frame.
///
/// Built without transparent huge pages (`no_thp`, Cargo.toml): with them every process
/// cleared two 2-MiB pages before `main` (0.2–0.6 ms of a 2-ms start) and more as it
/// grew, and a short `flowbench run` took 2–5 ms longer and varied more; frames are the
/// same either way (docs/PERFORMANCE.md, "Processes without huge pages").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
