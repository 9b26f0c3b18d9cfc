//! The generated graphs of the engine benchmark (parallel chains of producer → queue or
//! keyed topic → service → service with retries → sink), shared with the `chains` example
//! that writes them as graph files.

use flowbench_engine::model::{
    Arrival, Dist, ProducerConfig, QueueConfig, ServiceConfig, SinkConfig, TopicConfig,
};
use flowbench_engine::{Edge, Graph, Node, NodeConfig};

pub fn exp(mean_ms: f64) -> Dist {
    Dist::Exp { mean_ms }
}

pub fn service(concurrency: u32, service_time: Dist) -> NodeConfig {
    NodeConfig::Service(ServiceConfig {
        concurrency,
        service_time,
        ..ServiceConfig::default()
    })
}

pub fn producer(rate_per_sec: f64, keys: Option<u64>) -> NodeConfig {
    NodeConfig::Producer(ProducerConfig {
        rate_per_sec,
        arrival: Arrival::Poisson,
        keys,
        ..ProducerConfig::default()
    })
}

pub fn sink() -> NodeConfig {
    NodeConfig::Sink(SinkConfig::default())
}

/// The work of a generated chain's two services.
#[derive(Debug, Clone, Copy)]
pub struct ChainLoad {
    pub parse_workers: u32,
    pub parse_mean_ms: f64,
    pub store_workers: u32,
    pub store_median_ms: f64,
    pub store_p99_ms: f64,
}

/// The 500-node graph's chains: short services, about 2.5 timers pending per chain.
pub const LIGHT: ChainLoad = ChainLoad {
    parse_workers: 2,
    parse_mean_ms: 4.0,
    store_workers: 4,
    store_median_ms: 2.0,
    store_p99_ms: 20.0,
};

/// The generated graphs' chains: a store with a pool of 32 connections and ~100 ms mean
/// latency, so about 23 timers are pending per chain. The 10,000-node graph's event heap
/// holds about 45,000 (1.4 MB, more than a core's L2 cache) and the whole simulation, with
/// 7,000 latency histograms, takes about 70 MB.
pub const DEEP: ChainLoad = ChainLoad {
    parse_workers: 8,
    parse_mean_ms: 10.0,
    store_workers: 32,
    store_median_ms: 80.0,
    store_p99_ms: 400.0,
};

/// `chains` parallel pipelines of five nodes each: producer (200/s, Poisson) → channel →
/// parse service → store service (1% failures, 2 retries after 5 ms) → sink. Even chains
/// use a queue (1,000 places, blocking; it never fills); odd chains a keyed topic (16
/// keys, 4 partitions), whose order-per-key rule makes the parse stage wait for the
/// previous message of a key. No positions: the designer lays the chains out.
pub fn chains(chains: usize, load: ChainLoad) -> Graph {
    let mut g = Graph {
        name: format!("{chains} parallel chains"),
        seed: 7,
        ..Graph::default()
    };
    for c in 0..chains {
        let id = |role: &str| format!("{role}{c}");
        let keyed = c % 2 == 1;
        g.nodes.push(Node::new(
            id("producer"),
            producer(200.0, keyed.then_some(16)),
        ));
        let channel = if keyed {
            NodeConfig::Topic(TopicConfig {
                partitions: 4,
                ..TopicConfig::default()
            })
        } else {
            NodeConfig::Queue(QueueConfig::default())
        };
        g.nodes.push(Node::new(id("channel"), channel));
        g.nodes.push(Node::new(
            id("parse"),
            service(load.parse_workers, exp(load.parse_mean_ms)),
        ));
        g.nodes.push(Node::new(
            id("store"),
            NodeConfig::Service(ServiceConfig {
                concurrency: load.store_workers,
                service_time: Dist::Lognormal {
                    median_ms: load.store_median_ms,
                    p99_ms: load.store_p99_ms,
                },
                failure_rate: 0.01,
                max_retries: 2,
                retry_backoff_ms: 5.0,
                ..ServiceConfig::default()
            }),
        ));
        g.nodes.push(Node::new(id("done"), sink()));
        g.edges.push(Edge::new(id("producer"), id("channel")));
        g.edges.push(Edge::new(id("channel"), id("parse")));
        g.edges.push(Edge::new(id("parse"), id("store")));
        g.edges.push(Edge::new(id("store"), id("done")));
    }
    g
}

/// A generated graph of `nodes` nodes (a multiple of 5) of [`DEEP`] chains.
pub fn generated(nodes: usize) -> Graph {
    assert_eq!(nodes % 5, 0, "chains have five nodes");
    let g = chains(nodes / 5, DEEP);
    assert_eq!(g.nodes.len(), nodes);
    g
}
