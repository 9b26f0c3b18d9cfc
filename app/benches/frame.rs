//! Time of one designer frame (canvas layout, painting and tessellation, as egui does it
//! every frame), on generated graphs of 1,000 and 10,000 nodes fitted into a 1600×1000
//! window, and on a 500-node graph whose live run goes at full speed on the engine thread
//! meanwhile (the frame reads the newest snapshot and draws the live overlays).
//!
//! `cargo bench -p flowbench --bench frame`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use egui::{Pos2, Rect, vec2};
use flowbench::ui::Document;
use flowbench::ui::canvas::CanvasState;
use flowbench::ui::live::{LiveSession, Speed};
use flowbench_engine::Graph;

/// `chains` parallel lines of producer → queue → service → service → sink, laid out in a
/// grid, each node 200 apart horizontally and 110 vertically.
fn chains(chains: usize) -> Graph {
    let mut nodes = Vec::new();
    let mut edges = Vec::new();
    for c in 0..chains {
        let y = c as f64 * 110.0;
        let ids = [
            format!("p{c}"),
            format!("q{c}"),
            format!("a{c}"),
            format!("b{c}"),
            format!("done{c}"),
        ];
        let configs = [
            r#""kind": "producer", "config": {"rate_per_sec": 200}"#,
            r#""kind": "queue", "config": {"capacity": 1000}"#,
            r#""kind": "service", "config": {"concurrency": 2, "service_time": {"dist": "exp", "mean_ms": 4}}"#,
            r#""kind": "service", "config": {"concurrency": 4, "service_time": {"dist": "exp", "mean_ms": 6}}"#,
            r#""kind": "sink""#,
        ];
        for (k, (id, config)) in ids.iter().zip(configs).enumerate() {
            nodes.push(format!(
                r#"{{"id": "{id}", {config}, "pos": [{}, {y}]}}"#,
                k as f64 * 200.0
            ));
        }
        for w in ids.windows(2) {
            edges.push(format!(r#"{{"from": "{}", "to": "{}"}}"#, w[0], w[1]));
        }
    }
    let text = format!(
        r#"{{"format": "flowbench.graph", "version": 1, "name": "chains", "nodes": [{}], "edges": [{}]}}"#,
        nodes.join(","),
        edges.join(",")
    );
    Graph::from_json_str(&text).expect("generated graph parses")
}

struct Scene {
    ctx: egui::Context,
    canvas: CanvasState,
    doc: Document,
    live: LiveSession,
    commands: Vec<flowbench::ui::AppCommand>,
    time: f64,
}

impl Scene {
    fn new(graph: Graph) -> Scene {
        let mut canvas = CanvasState::default();
        canvas.request_fit();
        let mut scene = Scene {
            ctx: egui::Context::default(),
            canvas,
            doc: Document::new(graph, None),
            live: LiveSession::default(),
            commands: Vec::new(),
            time: 0.0,
        };
        for _ in 0..5 {
            scene.frame();
        }
        scene
    }

    /// One frame: input, the live poll, the canvas, tessellation.
    fn frame(&mut self) -> usize {
        self.time += 0.016;
        let input = egui::RawInput {
            screen_rect: Some(Rect::from_min_size(Pos2::ZERO, vec2(1600.0, 1000.0))),
            time: Some(self.time),
            ..Default::default()
        };
        let Scene {
            ctx,
            canvas,
            doc,
            live,
            commands,
            ..
        } = self;
        let mut output = ctx.run_ui(input, |ui| {
            live.poll(ui.ctx(), doc);
            let live = live.is_active().then_some(&*live);
            canvas.ui(ui, doc, live, commands);
        });
        output.textures_delta.clear();
        ctx.tessellate(output.shapes, output.pixels_per_point).len()
    }
}

fn frames(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame");
    group.measurement_time(Duration::from_secs(5));
    for n in [200, 2000] {
        let mut scene = Scene::new(chains(n));
        group.bench_function(format!("{}_nodes_fitted", n * 5), |b| {
            b.iter(|| black_box(scene.frame()))
        });
    }
    // Zoomed in to 100 % on one node of the 10,000: full detail for what is in view, and
    // the minimap of the whole graph in the corner.
    let mut scene = Scene::new(chains(2000));
    scene.canvas.focus_node("a1000");
    for _ in 0..3 {
        scene.frame();
    }
    assert_eq!(scene.canvas.zoom(), 1.0);
    assert!(scene.canvas.minimap_rect().is_some(), "the minimap shows");
    group.bench_function("10000_nodes_at_100_percent_with_minimap", |b| {
        b.iter(|| black_box(scene.frame()))
    });
    let mut scene = Scene::new(chains(100));
    scene.live.set_speed(Speed::Max);
    scene.live.run(&scene.doc);
    std::thread::sleep(Duration::from_millis(200));
    group.bench_function("500_nodes_live_engine_at_max", |b| {
        b.iter(|| black_box(scene.frame()))
    });
    group.finish();
}

criterion_group!(benches, frames);
criterion_main!(benches);
