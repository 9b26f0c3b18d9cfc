//! Helpers shared by the unit tests.

use flowbench_engine::Graph;

/// Every graph under sample-graphs/, folders (brokers/…) included, with its path there
/// (`brokers/nats-fan-out.json`), sorted by path.
pub fn sample_graphs() -> Vec<(String, Graph)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-graphs");
    let mut dirs = vec![root.clone()];
    let mut out = Vec::new();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let name = path.strip_prefix(&root).unwrap().display().to_string();
                let text = std::fs::read_to_string(&path).unwrap();
                let graph = Graph::from_json_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                out.push((name, graph));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
