//! Layered left-to-right auto layout: ranks by longest path from the sources (back edges of
//! cycles turned around), order within a rank by barycenters to reduce crossings, each
//! connected part below the previous one. Used for imported graphs, for graphs saved
//! without positions, and by View ▸ Auto layout.

use std::collections::{HashMap, HashSet};

use flowbench_engine::Graph;
use petgraph::unionfind::UnionFind;

/// Horizontal distance between ranks.
pub const RANK_SPACING: f64 = 220.0;
/// Vertical distance between rows within a rank.
pub const ROW_SPACING: f64 = 110.0;
/// Position of the top-left node, as in the sample graphs.
pub const ORIGIN: [f64; 2] = [80.0, 120.0];
/// Barycenter sweeps (down and up alternately); the best ordering seen is kept.
const SWEEPS: usize = 12;

/// Gives every node a position from the layered layout.
pub fn layout_all(graph: &mut Graph) {
    let positions = layout_positions(graph);
    for (node, pos) in graph.nodes.iter_mut().zip(positions) {
        node.pos = Some(pos);
    }
}

/// Gives positions to the nodes that have none. With no positions at all the whole graph is
/// laid out; otherwise the missing nodes are laid out among themselves below the placed ones.
/// Returns whether anything changed.
pub fn fill_missing_positions(graph: &mut Graph) -> bool {
    let missing: Vec<usize> = (0..graph.nodes.len())
        .filter(|&i| graph.nodes[i].pos.is_none())
        .collect();
    if missing.is_empty() {
        return false;
    }
    if missing.len() == graph.nodes.len() {
        layout_all(graph);
        return true;
    }
    let bottom = graph
        .nodes
        .iter()
        .filter_map(|n| n.pos.map(|p| p[1]))
        .fold(f64::MIN, f64::max);
    let left = graph
        .nodes
        .iter()
        .filter_map(|n| n.pos.map(|p| p[0]))
        .fold(f64::MAX, f64::min);
    let positions = layout_positions(graph);
    let top_of_missing = missing
        .iter()
        .map(|&i| positions[i][1])
        .fold(f64::MAX, f64::min);
    let dy = bottom + ROW_SPACING * 1.5 - top_of_missing;
    let dx = left - ORIGIN[0];
    for &i in &missing {
        let [x, y] = positions[i];
        graph.nodes[i].pos = Some([(x + dx).round(), (y + dy).round()]);
    }
    true
}

/// Positions for every node of `graph`, in node order.
pub fn layout_positions(graph: &Graph) -> Vec<[f64; 2]> {
    let n = graph.nodes.len();
    let index: HashMap<&str, usize> = graph
        .nodes
        .iter()
        .enumerate()
        .map(|(i, node)| (node.id.as_str(), i))
        .collect();
    let mut seen = HashSet::new();
    let edges: Vec<(usize, usize)> = graph
        .edges
        .iter()
        .filter_map(|e| Some((*index.get(e.from.as_str())?, *index.get(e.to.as_str())?)))
        .filter(|&(u, v)| u != v && seen.insert((u, v)))
        .collect();

    let mut parts = UnionFind::new(n);
    for &(u, v) in &edges {
        parts.union(u, v);
    }
    let labels = parts.into_labeling();
    // Components in the order of their first node.
    let mut components: Vec<Vec<usize>> = Vec::new();
    let mut component_of_label: HashMap<usize, usize> = HashMap::new();
    for (i, &label) in labels.iter().enumerate() {
        let c = *component_of_label.entry(label).or_insert_with(|| {
            components.push(Vec::new());
            components.len() - 1
        });
        components[c].push(i);
    }

    let mut positions = vec![ORIGIN; n];
    let mut top_row = 0.0;
    for members in components {
        let local: HashMap<usize, usize> =
            members.iter().enumerate().map(|(k, &i)| (i, k)).collect();
        let local_edges: Vec<(usize, usize)> = edges
            .iter()
            .filter_map(|&(u, v)| Some((*local.get(&u)?, *local.get(&v)?)))
            .collect();
        let (cells, height) = layout_component(members.len(), &local_edges);
        for (k, &i) in members.iter().enumerate() {
            let (rank, row) = cells[k];
            positions[i] = [
                (ORIGIN[0] + rank as f64 * RANK_SPACING).round(),
                (ORIGIN[1] + (top_row + row) * ROW_SPACING).round(),
            ];
        }
        top_row += height + 1.0;
    }
    positions
}

/// Lays out one connected part of `n` nodes: each node's (rank, row) and the part's height in
/// rows.
fn layout_component(n: usize, edges: &[(usize, usize)]) -> (Vec<(usize, f64)>, f64) {
    let edges = acyclic(n, edges);
    let rank = longest_path_ranks(n, &edges);

    // Long edges pass through one dummy vertex per rank they cross, so that ordering sees
    // them and leaves them room.
    let mut vertex_rank = rank.clone();
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); n];
    // Order key of each vertex before the first sweep: its node (or its edge's source).
    let mut first_key: Vec<f64> = (0..n).map(|i| i as f64).collect();
    for &(u, v) in &edges {
        let mut previous = u;
        for r in rank[u] + 1..rank[v] {
            let dummy = vertex_rank.len();
            vertex_rank.push(r);
            down.push(Vec::new());
            first_key.push(u as f64 + 0.5);
            down[previous].push(dummy);
            previous = dummy;
        }
        down[previous].push(v);
    }
    let vertices = vertex_rank.len();
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); vertices];
    for (a, targets) in down.iter().enumerate() {
        for &b in targets {
            up[b].push(a);
        }
    }
    let ranks = vertex_rank.iter().copied().max().map_or(0, |r| r + 1);
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); ranks];
    for v in 0..vertices {
        layers[vertex_rank[v]].push(v);
    }
    for layer in &mut layers {
        layer.sort_by(|a, b| first_key[*a].total_cmp(&first_key[*b]));
    }

    let mut best = layers.clone();
    let mut best_crossings = crossings(&layers, &down, vertices);
    for sweep in 0..SWEEPS {
        if best_crossings == 0 {
            break;
        }
        let downward = sweep % 2 == 0;
        let mut position = vec![0usize; vertices];
        let order: Vec<usize> = if downward {
            (1..ranks).collect()
        } else {
            (0..ranks.saturating_sub(1)).rev().collect()
        };
        for layer in &layers {
            for (p, &v) in layer.iter().enumerate() {
                position[v] = p;
            }
        }
        for r in order {
            let neighbours = if downward { &up } else { &down };
            let mut keyed: Vec<(f64, usize)> = layers[r]
                .iter()
                .enumerate()
                .map(|(p, &v)| {
                    let ns = &neighbours[v];
                    let key = if ns.is_empty() {
                        p as f64
                    } else {
                        ns.iter().map(|&w| position[w] as f64).sum::<f64>() / ns.len() as f64
                    };
                    (key, v)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
            layers[r] = keyed.into_iter().map(|(_, v)| v).collect();
            for (p, &v) in layers[r].iter().enumerate() {
                position[v] = p;
            }
        }
        let c = crossings(&layers, &down, vertices);
        if c < best_crossings {
            best_crossings = c;
            best = layers.clone();
        }
    }

    let height = best.iter().map(Vec::len).max().unwrap_or(1) as f64;
    let mut cells = vec![(0, 0.0); n];
    for (r, layer) in best.iter().enumerate() {
        // Each rank centred on the tallest one.
        let offset = (height - layer.len() as f64) / 2.0;
        for (p, &v) in layer.iter().enumerate() {
            if v < n {
                cells[v] = (r, offset + p as f64);
            }
        }
    }
    (cells, height)
}

/// The edges with those that close a cycle turned around (found by a depth-first search from
/// the sources, in node order).
fn acyclic(n: usize, edges: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut indegree = vec![0usize; n];
    for &(u, v) in edges {
        out[u].push(v);
        indegree[v] += 1;
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnStack,
        Done,
    }
    let mut mark = vec![Mark::New; n];
    let mut back: HashSet<(usize, usize)> = HashSet::new();
    let starts = (0..n).filter(|&i| indegree[i] == 0).chain(0..n);
    for start in starts {
        if mark[start] != Mark::New {
            continue;
        }
        // Iterative DFS: (node, next child index).
        let mut stack = vec![(start, 0usize)];
        mark[start] = Mark::OnStack;
        while let Some(top) = stack.last_mut() {
            let u = top.0;
            if let Some(&v) = out[u].get(top.1) {
                top.1 += 1;
                match mark[v] {
                    Mark::New => {
                        mark[v] = Mark::OnStack;
                        stack.push((v, 0));
                    }
                    Mark::OnStack => {
                        back.insert((u, v));
                    }
                    Mark::Done => {}
                }
            } else {
                mark[u] = Mark::Done;
                stack.pop();
            }
        }
    }
    let mut seen = HashSet::new();
    edges
        .iter()
        .map(|&(u, v)| {
            if back.contains(&(u, v)) {
                (v, u)
            } else {
                (u, v)
            }
        })
        .filter(|&e| seen.insert(e))
        .collect()
}

/// Rank of each node: the length of the longest path reaching it from a source.
fn longest_path_ranks(n: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut indegree = vec![0usize; n];
    for &(u, v) in edges {
        out[u].push(v);
        indegree[v] += 1;
    }
    let mut rank = vec![0usize; n];
    let mut ready: Vec<usize> = (0..n).rev().filter(|&i| indegree[i] == 0).collect();
    while let Some(u) = ready.pop() {
        for &v in &out[u] {
            rank[v] = rank[v].max(rank[u] + 1);
            indegree[v] -= 1;
            if indegree[v] == 0 {
                ready.push(v);
            }
        }
    }
    rank
}

/// Edge crossings between consecutive layers (inversions counted with a Fenwick tree).
fn crossings(layers: &[Vec<usize>], down: &[Vec<usize>], vertices: usize) -> usize {
    let mut position = vec![0usize; vertices];
    for layer in layers {
        for (p, &v) in layer.iter().enumerate() {
            position[v] = p;
        }
    }
    let mut total = 0;
    for pair in layers.windows(2) {
        let (upper, lower) = (&pair[0], &pair[1]);
        let mut ends: Vec<(usize, usize)> = upper
            .iter()
            .flat_map(|&u| down[u].iter().map(move |&v| (u, v)))
            .map(|(u, v)| (position[u], position[v]))
            .collect();
        ends.sort_unstable();
        let mut tree = vec![0usize; lower.len() + 1];
        for (seen, &(_, q)) in ends.iter().enumerate() {
            // Edges seen so far that end right of q cross this one.
            let mut not_greater = 0;
            let mut i = q + 1;
            while i > 0 {
                not_greater += tree[i];
                i -= i & i.wrapping_neg();
            }
            total += seen - not_greater;
            let mut i = q + 1;
            while i < tree.len() {
                tree[i] += 1;
                i += i & i.wrapping_neg();
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use flowbench_engine::{Edge, Node, NodeConfig, NodeKind};

    use super::*;

    fn graph(nodes: &[&str], edges: &[(&str, &str)]) -> Graph {
        Graph {
            nodes: nodes
                .iter()
                .map(|id| Node::new(*id, NodeConfig::default_for(NodeKind::Service)))
                .collect(),
            edges: edges.iter().map(|(a, b)| Edge::new(*a, *b)).collect(),
            ..Graph::default()
        }
    }

    fn pos(g: &Graph, id: &str) -> [f64; 2] {
        g.node(id).unwrap().pos.unwrap()
    }

    /// A chain runs left to right on one row, one rank spacing apart.
    #[test]
    fn chain_is_a_straight_line() {
        let mut g = graph(&["a", "b", "c"], &[("a", "b"), ("b", "c")]);
        layout_all(&mut g);
        assert_eq!(pos(&g, "a"), ORIGIN);
        assert_eq!(pos(&g, "b"), [ORIGIN[0] + RANK_SPACING, ORIGIN[1]]);
        assert_eq!(pos(&g, "c"), [ORIGIN[0] + 2.0 * RANK_SPACING, ORIGIN[1]]);
    }

    /// Ranks follow the longest path: a shortcut edge does not pull its target left.
    #[test]
    fn ranks_by_longest_path() {
        let mut g = graph(&["a", "b", "c"], &[("a", "c"), ("a", "b"), ("b", "c")]);
        layout_all(&mut g);
        assert_eq!(pos(&g, "c")[0], ORIGIN[0] + 2.0 * RANK_SPACING);
    }

    /// Cycles are laid out (their back edge turned around), not looped over forever.
    #[test]
    fn cycles_terminate() {
        let mut g = graph(
            &["a", "b", "c", "d"],
            &[("a", "b"), ("b", "c"), ("c", "b"), ("c", "d"), ("d", "a")],
        );
        layout_all(&mut g);
        let xs: Vec<f64> = g.nodes.iter().map(|n| n.pos.unwrap()[0]).collect();
        assert!(xs[0] < xs[1] && xs[1] < xs[2] && xs[2] < xs[3], "{xs:?}");
    }

    /// Barycenter ordering removes the crossings of a badly ordered two-layer graph.
    #[test]
    fn ordering_removes_crossings() {
        // Sources a, b; targets declared in the crossing order.
        let mut g = graph(&["a", "b", "y", "x"], &[("a", "x"), ("b", "y")]);
        layout_all(&mut g);
        let (a, b) = (pos(&g, "a"), pos(&g, "b"));
        let (x, y) = (pos(&g, "x"), pos(&g, "y"));
        assert_eq!((a[1] < b[1]), (x[1] < y[1]), "a→x and b→y cross");
    }

    /// Unconnected parts are stacked, so no two nodes share a place.
    #[test]
    fn parts_do_not_overlap() {
        let mut g = graph(&["a", "b", "c", "d", "e"], &[("a", "b"), ("c", "d")]);
        layout_all(&mut g);
        let mut places: Vec<[i64; 2]> = g
            .nodes
            .iter()
            .map(|n| n.pos.unwrap().map(|v| v as i64))
            .collect();
        places.sort_unstable();
        places.dedup();
        assert_eq!(places.len(), 5);
    }

    /// Only nodes without a position move; they go below the placed ones.
    #[test]
    fn fills_only_missing_positions() {
        let mut g = graph(&["a", "b", "c"], &[("a", "b"), ("b", "c")]);
        g.nodes[0].pos = Some([500.0, 300.0]);
        assert!(fill_missing_positions(&mut g));
        assert_eq!(pos(&g, "a"), [500.0, 300.0]);
        assert!(pos(&g, "b")[1] > 300.0 && pos(&g, "c")[1] > 300.0);
        assert!(!fill_missing_positions(&mut g));
    }

    /// A large graph is laid out quickly and completely.
    #[test]
    fn large_graph() {
        let ids: Vec<String> = (0..3000).map(|i| format!("n{i}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let edges: Vec<(&str, &str)> = (1..3000).map(|i| (refs[(i * 7919) % i], refs[i])).collect();
        let mut g = graph(&refs, &edges);
        let started = std::time::Instant::now();
        layout_all(&mut g);
        assert!(g.nodes.iter().all(|n| n.pos.is_some()));
        assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    }
}
