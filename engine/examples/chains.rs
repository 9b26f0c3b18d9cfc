//! Writes a generated graph of the engine benchmark as a graph file: `NODES` nodes (a
//! multiple of 5, 10,000 by default) of parallel chains, the very graph `gen10000` times,
//! for the designer or `flowbench run`.
//!
//!     cargo run --release -p flowbench-engine --example chains -- 10000 > chains-10000.json
//!     flowbench open chains-10000.json

#[allow(dead_code)] // the benchmark's lighter chains and helpers, not written here
#[path = "../benches/common/chains.rs"]
mod chains;

fn main() {
    let nodes = match std::env::args().nth(1) {
        None => 10_000,
        Some(arg) => match arg.parse::<usize>() {
            Ok(n) if n > 0 && n % 5 == 0 => n,
            _ => {
                eprintln!(
                    "chains: {arg:?} is not a positive multiple of 5\n\
                     usage: chains [NODES]   (10000 when absent)"
                );
                std::process::exit(2);
            }
        },
    };
    println!("{}", chains::generated(nodes).to_json_pretty());
}
