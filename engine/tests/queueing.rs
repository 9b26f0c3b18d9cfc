//! The engine against queueing theory. Each check runs independent replications (different
//! seeds, each far longer than the system's relaxation time so the empty start does not bias
//! it) and compares the mean over replications with the closed form. The tolerance is four
//! standard errors measured from the replications themselves, and each test also requires
//! that standard error to be small, so a pass says "agrees within 4σ at ~1 % precision"
//! rather than "agrees within a loose bound".

use flowbench_engine::report::Report;
use flowbench_engine::{Graph, sim};

/// Replications per check; enough for a usable standard error of the mean.
const REPLICATIONS: u64 = 8;

fn graph(json: &str) -> Graph {
    let g = Graph::from_json_str(json).expect("test graph parses");
    let errors: Vec<_> = flowbench_engine::validate(&g)
        .into_iter()
        .filter(|d| d.is_error())
        .collect();
    assert!(errors.is_empty(), "test graph is invalid: {errors:?}");
    g
}

fn run(g: &Graph, seed: u64, duration_ms: f64) -> Report {
    let options = sim::RunOptions {
        duration_ms: Some(duration_ms),
        seed: Some(seed),
    };
    let report = sim::run(g, &options).expect("graph runs");
    assert!(report.conservation.ok, "{:?}", report.conservation);
    report
}

/// Mean and standard error of `metric` over independent replications.
fn replicate(g: &Graph, duration_ms: f64, metric: impl Fn(&Report) -> f64) -> (f64, f64) {
    let values: Vec<f64> = (1..=REPLICATIONS)
        .map(|seed| metric(&run(g, seed * 7919, duration_ms)))
        .collect();
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

/// Asserts `measured` agrees with `theory` within four standard errors, and that the
/// standard error is under `max_rel_se` of the theoretical value.
fn assert_agrees(what: &str, (measured, se): (f64, f64), theory: f64, max_rel_se: f64) {
    eprintln!("{what}: measured {measured:.5} ± {se:.5} (1σ), theory {theory:.5}");
    assert!(
        se <= max_rel_se * theory.abs(),
        "{what}: standard error {se:.5} too large for a meaningful check (theory {theory:.5})"
    );
    assert!(
        (measured - theory).abs() <= 4.0 * se,
        "{what}: measured {measured:.5} ± {se:.5}, theory {theory:.5}: off by {:.1}σ",
        (measured - theory).abs() / se
    );
}

fn queue(r: &Report, id: &str) -> (f64, f64) {
    let n = &r.nodes[id];
    (n.depth.unwrap().mean, n.wait_ms.unwrap().mean)
}

fn busy(r: &Report, id: &str) -> f64 {
    let n = &r.nodes[id];
    n.utilization.unwrap() * f64::from(n.workers.unwrap())
}

fn sink_latency(r: &Report, id: &str) -> f64 {
    r.nodes[id].latency_ms.unwrap().mean
}

/// A producer → queue → service → sink line with the given service time and workers.
fn line(
    rate_per_sec: f64,
    service_time: &str,
    workers: u32,
    capacity: &str,
    when_full: &str,
) -> Graph {
    graph(&format!(
        r#"{{"format": "flowbench.graph", "version": 1, "name": "line",
        "nodes": [
          {{"id": "p", "kind": "producer", "config": {{"rate_per_sec": {rate_per_sec}}}}},
          {{"id": "q", "kind": "queue", "config": {{"capacity": {capacity}, "when_full": "{when_full}"}}}},
          {{"id": "s", "kind": "service", "config": {{"concurrency": {workers}, "service_time": {service_time}}}}},
          {{"id": "done", "kind": "sink"}}
        ],
        "edges": [{{"from": "p", "to": "q"}}, {{"from": "q", "to": "s"}}, {{"from": "s", "to": "done"}}]}}"#
    ))
}

/// M/M/1 at ρ = 0.7 (service 1 ms): L = ρ/(1-ρ), Lq = ρ²/(1-ρ), W = 1/(μ-λ), Wq = ρ/(μ-λ).
#[test]
fn mm1_matches_closed_forms() {
    let (lambda, mu) = (0.7, 1.0); // per ms
    let rho: f64 = lambda / mu;
    let g = line(
        lambda * 1000.0,
        r#"{"dist": "exp", "mean_ms": 1}"#,
        1,
        "null",
        "block",
    );
    let duration = 250_000.0;
    let l = replicate(&g, duration, |r| queue(r, "q").0 + busy(r, "s"));
    let lq = replicate(&g, duration, |r| queue(r, "q").0);
    let w = replicate(&g, duration, |r| sink_latency(r, "done"));
    let wq = replicate(&g, duration, |r| queue(r, "q").1);
    assert_agrees("M/M/1 L", l, rho / (1.0 - rho), 0.01);
    assert_agrees("M/M/1 Lq", lq, rho * rho / (1.0 - rho), 0.015);
    assert_agrees("M/M/1 W (ms)", w, 1.0 / (mu - lambda), 0.01);
    assert_agrees("M/M/1 Wq (ms)", wq, rho / (mu - lambda), 0.015);
}

/// Erlang C: the probability that an arrival waits in M/M/c with offered load `a` = λ/μ.
fn erlang_c(c: u32, a: f64) -> f64 {
    let mut term = 1.0; // a^k / k!
    let mut sum = 0.0;
    for k in 0..c {
        if k > 0 {
            term *= a / f64::from(k);
        }
        sum += term;
    }
    let last = term * a / f64::from(c); // a^c / c!
    let rho = a / f64::from(c);
    let top = last / (1.0 - rho);
    top / (sum + top)
}

/// M/M/3 at ρ = 0.8: waiting probability (Erlang C), Wq = C / (cμ - λ), Lq = λ Wq.
#[test]
fn mmc_matches_erlang_c() {
    let (c, lambda, mu) = (3, 2.4, 1.0); // per ms
    let p_wait = erlang_c(c, lambda / mu);
    let wq_theory = p_wait / (f64::from(c) * mu - lambda);
    let g = line(
        lambda * 1000.0,
        r#"{"dist": "exp", "mean_ms": 1}"#,
        c,
        "null",
        "block",
    );
    let duration = 100_000.0;
    let wq = replicate(&g, duration, |r| queue(r, "q").1);
    let lq = replicate(&g, duration, |r| queue(r, "q").0);
    let util = replicate(&g, duration, |r| r.nodes["s"].utilization.unwrap());
    assert_agrees("M/M/3 Wq (ms)", wq, wq_theory, 0.02);
    assert_agrees("M/M/3 Lq", lq, lambda * wq_theory, 0.02);
    assert_agrees(
        "M/M/3 utilisation",
        util,
        lambda / (f64::from(c) * mu),
        0.005,
    );
}

/// M/D/1 at ρ = 0.7: Pollaczek-Khinchine, Lq = ρ²/(2(1-ρ)), Wq = Lq/λ, W = Wq + D.
#[test]
fn md1_matches_pollaczek_khinchine() {
    let (lambda, d) = (0.7, 1.0);
    let rho: f64 = lambda * d;
    let lq_theory = rho * rho / (2.0 * (1.0 - rho));
    let g = line(
        lambda * 1000.0,
        r#"{"dist": "const", "ms": 1}"#,
        1,
        "null",
        "block",
    );
    let duration = 200_000.0;
    let lq = replicate(&g, duration, |r| queue(r, "q").0);
    let w = replicate(&g, duration, |r| sink_latency(r, "done"));
    assert_agrees("M/D/1 Lq", lq, lq_theory, 0.015);
    assert_agrees("M/D/1 W (ms)", w, lq_theory / lambda + d, 0.01);
}

/// M/M/1/K with `drop_newest`, K = 5 (4 waiting + 1 in service), ρ = 0.9: the share of
/// arrivals dropped is P_K = (1-ρ)ρ^K / (1-ρ^(K+1)) (arrivals see time averages).
#[test]
fn mm1k_drop_share_matches_blocking_probability() {
    let (rho, k) = (0.9_f64, 5);
    let p_k = (1.0 - rho) * rho.powi(k) / (1.0 - rho.powi(k + 1));
    let g = line(
        900.0,
        r#"{"dist": "exp", "mean_ms": 1}"#,
        1,
        "4",
        "drop_newest",
    );
    let share = replicate(&g, 100_000.0, |r| {
        r.totals.dropped as f64 / r.nodes["q"].in_ as f64
    });
    assert_agrees("M/M/1/5 share dropped", share, p_k, 0.01);
}

/// Two M/M/1 stations in tandem (a Jackson network): each behaves as an independent M/M/1
/// fed at λ, so the mean time through both is 1/(μ1-λ) + 1/(μ2-λ).
#[test]
fn tandem_matches_jackson() {
    let lambda = 0.5;
    let (mu1, mu2) = (1.0, 0.8);
    let g = graph(
        r#"{"format": "flowbench.graph", "version": 1, "name": "tandem",
        "nodes": [
          {"id": "p", "kind": "producer", "config": {"rate_per_sec": 500}},
          {"id": "q1", "kind": "queue", "config": {"capacity": null}},
          {"id": "s1", "kind": "service", "config": {"service_time": {"dist": "exp", "mean_ms": 1}}},
          {"id": "q2", "kind": "queue", "config": {"capacity": null}},
          {"id": "s2", "kind": "service", "config": {"service_time": {"dist": "exp", "mean_ms": 1.25}}},
          {"id": "done", "kind": "sink"}
        ],
        "edges": [{"from": "p", "to": "q1"}, {"from": "q1", "to": "s1"}, {"from": "s1", "to": "q2"},
                  {"from": "q2", "to": "s2"}, {"from": "s2", "to": "done"}]}"#,
    );
    let duration = 200_000.0;
    let w = replicate(&g, duration, |r| sink_latency(r, "done"));
    let l2 = replicate(&g, duration, |r| queue(r, "q2").0 + busy(r, "s2"));
    let rho2: f64 = lambda / mu2;
    assert_agrees(
        "tandem W (ms)",
        w,
        1.0 / (mu1 - lambda) + 1.0 / (mu2 - lambda),
        0.01,
    );
    assert_agrees("tandem L at station 2", l2, rho2 / (1.0 - rho2), 0.015);
}

/// A small deterministic generator for the random graph below.
struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Little's law, L = λW, on a randomly generated graph: several producers feed chains of
/// queues and services with every kind of service-time distribution and several workers.
/// It must hold for every queue (waiting messages = throughput × wait) and for the whole
/// graph (messages inside = throughput × end-to-end latency). Only the run's edges (messages
/// still inside at the end) separate the two sides, so the tolerance is 1 %.
#[test]
fn littles_law_on_a_random_graph() {
    let mut rng = SplitMix(2026);
    let dists = [
        |m: f64| format!(r#"{{"dist": "exp", "mean_ms": {m}}}"#),
        |m: f64| format!(r#"{{"dist": "const", "ms": {m}}}"#),
        |m: f64| {
            format!(
                r#"{{"dist": "uniform", "min_ms": {}, "max_ms": {}}}"#,
                m / 2.0,
                m * 1.5
            )
        },
        |m: f64| {
            format!(
                r#"{{"dist": "lognormal", "median_ms": {}, "p99_ms": {}}}"#,
                m * 0.8,
                m * 4.0
            )
        },
    ];
    let mut nodes = vec![r#"{"id": "done", "kind": "sink"}"#.to_owned()];
    let mut edges = Vec::new();
    let mut queues = Vec::new();
    let mut services = Vec::new();
    for chain in 0..4 {
        let rate = rng.uniform(100.0, 400.0); // per second
        nodes.push(format!(
            r#"{{"id": "p{chain}", "kind": "producer", "config": {{"rate_per_sec": {rate}}}}}"#
        ));
        let mut prev = format!("p{chain}");
        for stage in 0..(1 + rng.next() % 3) {
            let workers = 1 + rng.next() % 3;
            let load = rng.uniform(0.3, 0.8);
            let mean_ms = load * workers as f64 * 1000.0 / rate;
            let dist = dists[(rng.next() % 4) as usize](mean_ms);
            let (q, s) = (format!("q{chain}_{stage}"), format!("s{chain}_{stage}"));
            nodes.push(format!(
                r#"{{"id": "{q}", "kind": "queue", "config": {{"capacity": null}}}}"#
            ));
            nodes.push(format!(
                r#"{{"id": "{s}", "kind": "service", "config": {{"concurrency": {workers}, "service_time": {dist}}}}}"#
            ));
            edges.push(format!(r#"{{"from": "{prev}", "to": "{q}"}}"#));
            edges.push(format!(r#"{{"from": "{q}", "to": "{s}"}}"#));
            queues.push(q);
            services.push(s.clone());
            prev = s;
        }
        edges.push(format!(r#"{{"from": "{prev}", "to": "done"}}"#));
    }
    let g = graph(&format!(
        r#"{{"format": "flowbench.graph", "version": 1, "name": "random", "seed": 5,
        "nodes": [{}], "edges": [{}]}}"#,
        nodes.join(","),
        edges.join(",")
    ));
    let duration_ms = 400_000.0;
    let r = run(&g, 5, duration_ms);
    for q in &queues {
        let n = &r.nodes[q];
        let (l, w) = queue(&r, q);
        let throughput = n.out as f64 / duration_ms;
        let rel = (l - throughput * w).abs() / l.max(1e-9);
        eprintln!("{q}: L {l:.4}, λW {:.4}", throughput * w);
        assert!(
            l < 1e-3 || rel < 0.01,
            "{q}: L = {l}, λW = {}",
            throughput * w
        );
    }
    let inside: f64 = queues.iter().map(|q| queue(&r, q).0).sum::<f64>()
        + services.iter().map(|s| busy(&r, s)).sum::<f64>();
    let done = &r.nodes["done"];
    let lambda_w = done.in_ as f64 / duration_ms * sink_latency(&r, "done");
    eprintln!("graph: L {inside:.4}, λW {lambda_w:.4}");
    assert!(
        (inside - lambda_w).abs() / inside < 0.01,
        "L = {inside}, λW = {lambda_w}"
    );
}

/// An hour of M/M/1 at 1,000 messages/s runs to the end with every message accounted for.
#[test]
fn an_hour_of_traffic_is_conserved() {
    let g = line(
        1000.0,
        r#"{"dist": "exp", "mean_ms": 0.9}"#,
        1,
        "null",
        "block",
    );
    let r = run(&g, 1, 3_600_000.0);
    assert_eq!(r.sim_time_ms, 3_600_000.0);
    let created = r.totals.created as f64;
    assert!(
        (created - 3.6e6).abs() < 5.0 * 3.6e6_f64.sqrt(),
        "created {created}"
    );
}
