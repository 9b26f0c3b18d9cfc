//! The monitor tab of the bottom panel: time series plots of the selected node (and of the
//! pinned ones, as extra lines), its report fields with units, its active faults (and a
//! menu to start one now), and the graph's fault schedule on the simulated time axis.

use egui::{Color32, RichText, Sense, Stroke, pos2, vec2};
use egui_plot::{
    Corner, GridInput, GridMark, HoverPosition, Legend, Line, LineStyle, Plot, PlotPoints, Span,
    uniform_grid_spacer,
};
use flowbench_engine::model::FaultKind;
use flowbench_engine::report::{BreakerState, BrokerReport, NodeReport};
use flowbench_engine::runtime::RunState;
use flowbench_engine::{Graph, NodeKind};
use serde_json::Value;

use super::overlay::{LiveColors, breaker_word, fault_word};
use super::series::{NodeSeries, Sample, breaker_level};
use super::{LiveSession, format};
use crate::ui::canvas::summary::broker_title;
use crate::ui::{AppCommand, Document};

/// Width of the numbers table on the right.
const TABLE_WIDTH: f32 = 330.0;
/// Accessible name of the numbers table: rows of a field's name followed by its value.
pub const TABLE_NAME: &str = "Numbers";
/// Fault rows the timeline shows before it says how many more there are.
const TIMELINE_ROWS: usize = 5;

/// How much simulated time the plots show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Window {
    S10,
    #[default]
    S60,
    M10,
    All,
}

impl Window {
    pub const ALL: [Window; 4] = [Window::S10, Window::S60, Window::M10, Window::All];

    pub fn label(self) -> &'static str {
        match self {
            Window::S10 => "10 s",
            Window::S60 => "60 s",
            Window::M10 => "10 min",
            Window::All => "all",
        }
    }

    /// Simulated milliseconds shown, `None` for everything kept.
    pub fn span_ms(self) -> Option<f64> {
        match self {
            Window::S10 => Some(10_000.0),
            Window::S60 => Some(60_000.0),
            Window::M10 => Some(600_000.0),
            Window::All => None,
        }
    }
}

/// What the monitor remembers between frames.
#[derive(Debug, Clone, Default)]
pub struct MonitorState {
    /// Nodes drawn besides the selected one, to compare.
    pub pinned: Vec<String>,
    pub window: Window,
}

impl MonitorState {
    pub fn is_pinned(&self, id: &str) -> bool {
        self.pinned.iter().any(|p| p == id)
    }

    pub fn toggle_pin(&mut self, id: &str) {
        if self.is_pinned(id) {
            self.pinned.retain(|p| p != id);
        } else {
            self.pinned.push(id.to_owned());
        }
    }
}

/// One plot of the monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Metric {
    Throughput,
    Depth,
    Workers,
    Latency,
    Errors,
    Breaker,
}

impl Metric {
    fn title(self) -> &'static str {
        match self {
            Metric::Throughput => "Throughput (per s)",
            Metric::Depth => "Depth (waiting)",
            Metric::Workers => "Busy workers",
            Metric::Latency => "Latency (ms)",
            Metric::Errors => "Error rate (%)",
            Metric::Breaker => "Breaker state",
        }
    }

    /// Whether a node of `kind` has this metric.
    fn applies(self, kind: Option<NodeKind>, report: Option<&NodeReport>) -> bool {
        match self {
            Metric::Throughput | Metric::Errors => true,
            Metric::Depth => matches!(kind, Some(NodeKind::Queue | NodeKind::Topic)),
            Metric::Workers => kind == Some(NodeKind::Service),
            Metric::Latency => report.is_some_and(|r| super::series::latency_of(r).is_some()),
            Metric::Breaker => kind == Some(NodeKind::Breaker),
        }
    }
}

/// A node the plots draw, with its colour.
struct Watched<'a> {
    id: &'a str,
    kind: Option<NodeKind>,
    series: Option<&'a NodeSeries>,
    report: Option<&'a NodeReport>,
    color: Color32,
}

const NODE_COLORS: [Color32; 6] = [
    Color32::from_rgb(0x25, 0x63, 0xEB),
    Color32::from_rgb(0xEA, 0x58, 0x0C),
    Color32::from_rgb(0x93, 0x33, 0xEA),
    Color32::from_rgb(0x05, 0x96, 0x69),
    Color32::from_rgb(0xDB, 0x27, 0x77),
    Color32::from_rgb(0x0E, 0x74, 0x90),
];

pub fn ui(
    ui: &mut egui::Ui,
    live: &mut LiveSession,
    doc: &Document,
    commands: &mut Vec<AppCommand>,
) {
    let selected = doc.selection.single_node().map(str::to_owned);
    header_ui(ui, live, doc, selected.as_deref(), commands);
    ui.separator();
    if live.snapshot().is_none() {
        ui.add_space(8.0);
        ui.vertical_centered(|ui| {
            ui.weak("Press Run (or Space) to run the graph as it is: the numbers of the selected node show here.");
        });
        if !doc.graph.faults.is_empty() {
            ui.add_space(8.0);
            faults_timeline_ui(ui, &doc.graph, live, 0.0);
        }
        return;
    }
    let graph = live
        .running_graph()
        .cloned()
        .unwrap_or_else(|| doc.graph.clone());
    let now_ms = live.snapshot().map_or(0.0, |s| s.report.sim_time_ms);
    // Fixed rectangles: the panel's size decides the plots' size, never the other way.
    let spacing = ui.spacing().item_spacing.y;
    let timeline = if graph.faults.is_empty() {
        0.0
    } else {
        timeline_height(graph.faults.len()) + spacing
    };
    let body_height = (ui.available_height() - timeline - spacing - 2.0).max(60.0);
    let (body, _) = ui.allocate_exact_size(vec2(ui.available_width(), body_height), Sense::hover());
    let plots = egui::Rect::from_min_size(
        body.min,
        vec2(
            (body.width() - TABLE_WIDTH - 10.0).max(200.0),
            body.height(),
        ),
    );
    let table = egui::Rect::from_min_max(pos2(plots.right() + 10.0, body.top()), body.max);
    plots_ui(
        &mut child_ui(ui, plots),
        live,
        &graph,
        selected.as_deref(),
        now_ms,
    );
    ui.painter().vline(
        plots.right() + 5.0,
        body.y_range(),
        ui.visuals().widgets.noninteractive.bg_stroke,
    );
    table_ui(&mut child_ui(ui, table), live, selected.as_deref());
    if !graph.faults.is_empty() {
        faults_timeline_ui(ui, &graph, live, now_ms);
    }
}

/// A child of `ui` confined to `rect` that takes no room in `ui`.
fn child_ui(ui: &mut egui::Ui, rect: egui::Rect) -> egui::Ui {
    let clip = rect.intersect(ui.clip_rect());
    let mut child = ui.new_child(egui::UiBuilder::new().max_rect(rect));
    child.set_clip_rect(clip);
    child
}

fn header_ui(
    ui: &mut egui::Ui,
    live: &mut LiveSession,
    doc: &Document,
    selected: Option<&str>,
    commands: &mut Vec<AppCommand>,
) {
    ui.horizontal_wrapped(|ui| {
        match selected.and_then(|id| doc.node(id)) {
            Some(node) => {
                ui.strong(node.display_name());
                ui.weak(node.kind_name());
                let pinned = live.monitor.is_pinned(&node.id);
                let label = if pinned { "Unpin" } else { "Pin" };
                let pin = ui.selectable_label(pinned, label).on_hover_text(
                    "Keep this node's lines in the plots when another node is selected",
                );
                if pin.clicked() {
                    live.monitor.toggle_pin(&node.id);
                }
                inject_ui(ui, live, &node.id, commands);
                let active: Vec<_> = live.active_faults(&node.id).to_vec();
                if !active.is_empty() {
                    let colors = LiveColors::new(ui.visuals().dark_mode);
                    for kind in &active {
                        ui.label(
                            RichText::new(format!("fault: {}", fault_word(*kind)))
                                .color(colors.fault)
                                .strong(),
                        )
                        .on_hover_text("A fault active on this node now");
                    }
                    if ui.button("Clear faults").clicked()
                        && let Err(why) = live.clear_faults(&node.id)
                    {
                        commands.push(AppCommand::Status(why));
                    }
                }
            }
            None => {
                ui.strong("Whole graph");
                ui.weak("select one node to watch it");
            }
        }
        let others: Vec<String> = live
            .monitor
            .pinned
            .iter()
            .filter(|p| Some(p.as_str()) != selected)
            .cloned()
            .collect();
        if !others.is_empty() {
            ui.separator();
            ui.weak("compared with");
            for id in others {
                let unpin = ui
                    .small_button(format!("{id} ×"))
                    .accessible_name(format!("Unpin {id}"))
                    .on_hover_text("Stop comparing with this node");
                if unpin.clicked() {
                    live.monitor.toggle_pin(&id);
                }
            }
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            for window in Window::ALL.iter().rev() {
                ui.selectable_value(&mut live.monitor.window, *window, window.label());
            }
            ui.weak("Window");
        });
    });
}

/// Service time multiplier of a `slow` fault started from the monitor.
const INJECT_SLOW_FACTOR: f64 = 2.0;

/// The faults the monitor can start on a node now: (kind, menu text, what it does).
const INJECTABLE: [(FaultKind, &str, &str); 4] = [
    (
        FaultKind::Fail,
        "fail",
        "Every call or message the node handles fails",
    ),
    (
        FaultKind::Slow,
        "slow × 2",
        "The node's service time doubles",
    ),
    (
        FaultKind::Crash,
        "crash",
        "The node is down; a non-durable queue loses its waiting messages",
    ),
    (
        FaultKind::Stop,
        "stop",
        "A consumer stops taking messages, which back up",
    ),
];

/// "Inject fault": starts a fault on `node` in the running engine, until "Clear faults".
/// Each item's accessible name is "Inject <kind>".
fn inject_ui(
    ui: &mut egui::Ui,
    live: &mut LiveSession,
    node: &str,
    commands: &mut Vec<AppCommand>,
) {
    let failed = matches!(live.state(), Some(RunState::Failed(_)));
    if !live.is_active() || failed {
        return;
    }
    let menu = ui.menu_button("Inject fault", |ui| {
        for (kind, text, tip) in INJECTABLE {
            let item = ui
                .button(text)
                .accessible_name(format!("Inject {}", fault_word(kind)))
                .on_hover_text(tip);
            if item.clicked() {
                let factor = (kind == FaultKind::Slow).then_some(INJECT_SLOW_FACTOR);
                if let Err(why) = live.inject(node, kind, None, factor) {
                    commands.push(AppCommand::Status(why));
                }
                ui.close();
            }
        }
    });
    menu.response
        .on_hover_text("Start a fault on this node now, in the running graph, until cleared");
}

// ---- plots ---------------------------------------------------------------------------------

fn plots_ui(
    ui: &mut egui::Ui,
    live: &LiveSession,
    graph: &Graph,
    selected: Option<&str>,
    now_ms: f64,
) {
    let report = live.snapshot().map(|s| &s.report);
    let mut ids: Vec<&str> = selected.into_iter().collect();
    for p in &live.monitor.pinned {
        if !ids.contains(&p.as_str()) {
            ids.push(p);
        }
    }
    let watched: Vec<Watched<'_>> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| Watched {
            id,
            kind: graph.node(id).and_then(|n| n.kind()),
            series: live.series().node(id),
            report: report.and_then(|r| r.nodes.get(*id)),
            color: NODE_COLORS[i % NODE_COLORS.len()],
        })
        .collect();
    let whole_graph = watched.is_empty();
    let metrics: Vec<Metric> = if whole_graph {
        vec![Metric::Throughput, Metric::Depth, Metric::Errors]
    } else {
        [
            Metric::Throughput,
            Metric::Depth,
            Metric::Workers,
            Metric::Breaker,
            Metric::Latency,
            Metric::Errors,
        ]
        .into_iter()
        .filter(|m| watched.iter().any(|w| m.applies(w.kind, w.report)))
        .collect()
    };
    if !whole_graph && watched.iter().all(|w| w.series.is_none()) {
        ui.weak("This graph is large: only selected and pinned nodes are recorded, from when they were selected.");
    }
    let from_ms = live
        .monitor
        .window
        .span_ms()
        .map_or(0.0, |span| (now_ms - span).max(0.0));
    let spacing = ui.spacing().item_spacing.x;
    let width = ((ui.available_width() - spacing * (metrics.len() as f32 - 1.0))
        / metrics.len() as f32)
        .max(120.0);
    let height = ui.available_height();
    let link = egui::Id::unique("live.monitor.plots");
    ui.horizontal(|ui| {
        for metric in metrics {
            ui.vertical(|ui| {
                ui.set_width(width);
                let title = if whole_graph && metric == Metric::Depth {
                    "In flight (messages)"
                } else {
                    metric.title()
                };
                ui.label(RichText::new(title).small().strong());
                let plot_height = (height - ui.min_rect().height() - 4.0).max(60.0);
                let mut plot = Plot::new(("live.plot", metric))
                    .width(width)
                    .height(plot_height)
                    .link_axis(link, [true, false])
                    .link_cursor(link, [true, false])
                    .include_x(from_ms / 1000.0)
                    .include_x(now_ms / 1000.0)
                    .include_y(0.0)
                    .allow_scroll(false)
                    .legend(
                        Legend::default()
                            .position(Corner::LeftTop)
                            .text_style(egui::TextStyle::Small)
                            .background_alpha(0.6),
                    )
                    .x_grid_spacer(uniform_grid_spacer(time_grid))
                    .x_axis_formatter(|mark, _| seconds_label(mark.value))
                    .y_axis_formatter(|mark, _| format::axis(mark.value))
                    .label_formatter(|hover| {
                        Some(match hover {
                            HoverPosition::NearDataPoint {
                                plot_name,
                                position,
                                ..
                            } => format!(
                                "{plot_name}\n{}: {}",
                                seconds_label(position.x),
                                format::number(position.y)
                            ),
                            HoverPosition::Elsewhere { position } => seconds_label(position.x),
                        })
                    });
                if metric == Metric::Breaker {
                    plot = plot
                        .include_y(2.3)
                        .y_axis_formatter(|mark, _| breaker_axis_label(mark.value))
                        .y_grid_spacer(|_| {
                            (0..3)
                                .map(|v| GridMark {
                                    value: f64::from(v),
                                    step_size: 1.0,
                                })
                                .collect()
                        });
                }
                if metric == Metric::Errors {
                    plot = plot.include_y(1.0);
                }
                let dark = ui.visuals().dark_mode;
                let lines = if whole_graph {
                    graph_lines(live, metric, from_ms, dark)
                } else {
                    watched
                        .iter()
                        .flat_map(|w| node_lines(w, metric, from_ms, watched.len() == 1, dark))
                        .collect()
                };
                // Room above the highest point for the legend in the top left corner: a
                // steady line would run behind it.
                let top = lines
                    .iter()
                    .flat_map(|line| line.1.iter().map(|p| p[1]))
                    .filter(|y| y.is_finite())
                    .fold(0.0, f64::max);
                if top > 0.0 {
                    plot = plot.include_y(top * LEGEND_HEADROOM);
                }
                plot.show(ui, |plot_ui| {
                    draw_lines(plot_ui, lines);
                    if metric == Metric::Breaker {
                        let colors = LiveColors::new(dark);
                        for (i, w) in watched.iter().enumerate() {
                            let Some(report) = w.report else { continue };
                            if !metric.applies(w.kind, w.report) {
                                continue;
                            }
                            breaker_lines(
                                plot_ui,
                                report,
                                &line_name(w, watched.len() == 1, "state"),
                                from_ms,
                                now_ms,
                                w.color,
                                i == 0,
                                &colors,
                            );
                        }
                    }
                });
            });
        }
    });
}

/// Grid steps on a time axis in seconds (1, 2, 5, 10, 15, 30 s, 1, 2, 5, 10, 30 min, 1 h…):
/// thin lines about 8 points apart, the labelled ones at least 80 (the plot's base step is
/// the data span of 8 points).
fn time_grid(input: GridInput) -> [f64; 3] {
    const STEPS: [f64; 17] = [
        0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
        7200.0, 18000.0,
    ];
    let at_least = |min: f64| {
        STEPS
            .iter()
            .copied()
            .find(|&s| s >= min)
            .unwrap_or(STEPS[STEPS.len() - 1])
    };
    let base = input.base_step_size;
    [at_least(base), at_least(base * 3.0), at_least(base * 10.0)]
}

/// Seconds of simulated time as m:ss (or h:mm:ss).
fn seconds_label(s: f64) -> String {
    if s < 0.0 {
        return String::new();
    }
    let total = s.round() as u64;
    let (h, m, sec) = (total / 3600, total / 60 % 60, total % 60);
    if h > 0 {
        format!("{h}:{m:02}:{sec:02}")
    } else {
        format!("{m}:{sec:02}")
    }
}

fn breaker_axis_label(value: f64) -> String {
    match value.round() as i64 {
        0 if value.abs() < 0.01 => "closed".to_owned(),
        1 if (value - 1.0).abs() < 0.01 => "half-open".to_owned(),
        2 if (value - 2.0).abs() < 0.01 => "open".to_owned(),
        _ => String::new(),
    }
}

/// `value` of every sample since `from_ms`, as plot points in seconds.
fn points(series: &NodeSeries, from_ms: f64, value: impl Fn(&Sample) -> f32) -> Vec<[f64; 2]> {
    series
        .since(from_ms)
        .filter_map(|s| Sample::get(value(s)).map(|v| [s.t_ms / 1000.0, v]))
        .collect()
}

fn graph_lines(live: &LiveSession, metric: Metric, from_ms: f64, dark: bool) -> Vec<PlotLine> {
    let g = &live.series().graph;
    let colors = LiveColors::new(dark);
    let lines: Vec<(&str, Vec<[f64; 2]>, LineStyle, Color32)> = match metric {
        Metric::Throughput => vec![
            (
                "created/s",
                points(g, from_ms, |s| s.in_per_sec),
                LineStyle::Solid,
                NODE_COLORS[0],
            ),
            (
                "delivered/s",
                points(g, from_ms, |s| s.out_per_sec),
                LineStyle::dashed_loose(),
                colors.ok,
            ),
        ],
        Metric::Depth => vec![(
            "in flight",
            points(g, from_ms, |s| s.depth),
            LineStyle::Solid,
            NODE_COLORS[0],
        )],
        Metric::Errors => vec![(
            "failed + lost + dropped",
            points(g, from_ms, |s| s.error_rate * 100.0),
            LineStyle::Solid,
            colors.bad,
        )],
        _ => Vec::new(),
    };
    lines
        .into_iter()
        .map(|(name, pts, style, color)| (name.to_owned(), pts, style, color))
        .collect()
}

/// A line of a chart: its name, points, style and colour.
type PlotLine = (String, Vec<[f64; 2]>, LineStyle, Color32);

/// How far above its highest point a chart reaches, so that the legend (top left) leaves
/// the lines visible.
const LEGEND_HEADROOM: f64 = 1.3;

/// Draws `(name, points, style, colour)` lines.
fn draw_lines(plot_ui: &mut egui_plot::PlotUi<'_>, lines: Vec<PlotLine>) {
    for (name, pts, style, color) in lines {
        plot_ui.line(
            Line::new(name, PlotPoints::new(pts))
                .allow_band(false)
                .style(style)
                .color(color),
        );
    }
}

/// A line's name in a chart: what it shows, after the node's id when several nodes share
/// the chart.
fn line_name(w: &Watched<'_>, alone: bool, what: &str) -> String {
    if alone {
        what.to_owned()
    } else {
        format!("{} {what}", w.id)
    }
}

/// The lines of one watched node in the chart of `metric` (a breaker's state is drawn by
/// [`breaker_lines`]).
fn node_lines(
    w: &Watched<'_>,
    metric: Metric,
    from_ms: f64,
    alone: bool,
    dark: bool,
) -> Vec<PlotLine> {
    if !metric.applies(w.kind, w.report) || metric == Metric::Breaker {
        return Vec::new();
    }
    let name = |what: &str| line_name(w, alone, what);
    let colors = LiveColors::new(dark);
    let Some(series) = w.series else {
        return Vec::new();
    };
    let lines: Vec<(String, Vec<[f64; 2]>, LineStyle, Color32)> = match metric {
        Metric::Throughput => vec![
            (
                name("in/s"),
                points(series, from_ms, |s| s.in_per_sec),
                LineStyle::Solid,
                if alone { NODE_COLORS[0] } else { w.color },
            ),
            (
                name("out/s"),
                points(series, from_ms, |s| s.out_per_sec),
                LineStyle::dashed_loose(),
                if alone { colors.ok } else { w.color },
            ),
        ],
        Metric::Depth => vec![(
            name("depth"),
            points(series, from_ms, |s| s.depth),
            LineStyle::Solid,
            w.color,
        )],
        Metric::Workers => vec![
            (
                name("busy"),
                points(series, from_ms, |s| s.busy),
                LineStyle::Solid,
                w.color,
            ),
            (
                name("workers"),
                points(series, from_ms, |s| s.workers),
                LineStyle::dashed_dense(),
                w.color.gamma_multiply(0.6),
            ),
        ],
        Metric::Latency => vec![
            (
                name("mean"),
                points(series, from_ms, |s| s.latency_mean_ms),
                LineStyle::Solid,
                w.color,
            ),
            (
                name("p50 (last 1 s)"),
                points(series, from_ms, |s| s.p50_ms),
                LineStyle::dotted_dense(),
                w.color.gamma_multiply(0.8),
            ),
            (
                name("p99 (last 1 s)"),
                points(series, from_ms, |s| s.p99_ms),
                LineStyle::dashed_loose(),
                if alone { colors.bad } else { w.color },
            ),
        ],
        Metric::Errors => vec![(
            name("errors %"),
            points(series, from_ms, |s| s.error_rate * 100.0),
            LineStyle::Solid,
            if alone { colors.bad } else { w.color },
        )],
        Metric::Breaker => Vec::new(),
    };
    lines
}

/// A breaker's state over time as a step line from its transitions (exact times), with
/// coloured bands while it was open or half-open (for the first breaker only).
#[expect(
    clippy::too_many_arguments,
    reason = "plot, data and styling of one line"
)]
fn breaker_lines(
    plot_ui: &mut egui_plot::PlotUi<'_>,
    report: &NodeReport,
    name: &str,
    from_ms: f64,
    now_ms: f64,
    color: Color32,
    bands: bool,
    colors: &LiveColors,
) {
    let intervals = breaker_intervals(report, now_ms);
    let mut pts: Vec<[f64; 2]> = Vec::new();
    for &(start, end, state) in &intervals {
        if end < from_ms {
            continue;
        }
        let y = f64::from(breaker_level(state));
        pts.push([start.max(from_ms) / 1000.0, y]);
        pts.push([end / 1000.0, y]);
        if bands && state != BreakerState::Closed {
            let fill = colors.breaker(state).gamma_multiply(0.18);
            plot_ui.span(
                Span::new(
                    breaker_word(state),
                    (start.max(from_ms) / 1000.0)..=(end / 1000.0),
                )
                .fill(fill)
                .border_width(0.0),
            );
        }
    }
    plot_ui.line(
        Line::new(name, PlotPoints::new(pts))
            .allow_band(false)
            .color(color)
            .width(2.0),
    );
}

/// The breaker's states as (start ms, end ms, state), from its transitions up to `now_ms`.
pub fn breaker_intervals(report: &NodeReport, now_ms: f64) -> Vec<(f64, f64, BreakerState)> {
    let mut out = Vec::new();
    let mut start = 0.0;
    let mut state = BreakerState::Closed;
    for t in report.transitions.iter().flatten() {
        out.push((start, t.at_ms, state));
        start = t.at_ms;
        state = t.to;
    }
    out.push((start, now_ms.max(start), report.state.unwrap_or(state)));
    out
}

// ---- numbers table -------------------------------------------------------------------------

fn table_ui(ui: &mut egui::Ui, live: &LiveSession, selected: Option<&str>) {
    let Some(snapshot) = live.snapshot() else {
        return;
    };
    let rows = match selected.and_then(|id| snapshot.report.nodes.get(id)) {
        Some(report) => report_rows(report),
        None => totals_rows(&snapshot.report),
    };
    // Named, so that a screen reader (or a test) can tell these rows from other text.
    let named = egui::UiBuilder::new().accessibility_label(TABLE_NAME);
    ui.scope_builder(named, |ui| {
        egui::ScrollArea::vertical()
            .id_salt("live.monitor.table")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                egui::Grid::new("live.monitor.fields")
                    .striped(true)
                    .num_columns(2)
                    .spacing([12.0, 3.0])
                    .show(ui, |ui| {
                        for (key, value) in rows {
                            if key.starts_with("  ") {
                                ui.weak(key);
                            } else {
                                ui.label(RichText::new(key).small().strong());
                            }
                            ui.label(RichText::new(value).monospace());
                            ui.end_row();
                        }
                    });
            });
    });
}

/// The graph's totals as (field, value) rows.
fn totals_rows(report: &flowbench_engine::Report) -> Vec<(String, String)> {
    let t = &report.totals;
    let mut rows = vec![
        ("sim_time_ms".to_owned(), format::clock(report.sim_time_ms)),
        ("events".to_owned(), format::count(report.events)),
    ];
    for (k, v) in [
        ("created", t.created),
        ("delivered", t.delivered),
        ("dropped", t.dropped),
        ("failed", t.failed),
        ("rejected", t.rejected),
        ("filtered", t.filtered),
        ("lost", t.lost),
        ("in_flight", t.in_flight),
    ] {
        rows.push((k.to_owned(), format::count(v)));
    }
    let conservation = if report.conservation.ok {
        "ok".to_owned()
    } else {
        report
            .conservation
            .detail
            .clone()
            .unwrap_or_else(|| "not ok".to_owned())
    };
    rows.push(("conservation".to_owned(), conservation));
    rows
}

/// Every field a node's report has, named as in the report file, with units: latency
/// summaries and gauges on one line, maps (subscribers, consumers, routes) and lists
/// (transitions, saga steps) as indented rows.
pub fn report_rows(report: &NodeReport) -> Vec<(String, String)> {
    let Ok(Value::Object(fields)) = serde_json::to_value(report) else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    for (key, value) in &fields {
        match value {
            Value::Object(inner) if is_latency(inner) => {
                rows.push((key.clone(), latency_text(inner)))
            }
            Value::Object(inner) if is_gauge(inner) => rows.push((key.clone(), gauge_text(inner))),
            Value::Object(_) if key == "broker" => {
                if let Some(broker) = &report.broker {
                    rows.extend(broker_rows(broker));
                }
            }
            Value::Object(inner) => {
                rows.push((key.clone(), format!("{} entries", inner.len())));
                for (name, v) in inner {
                    rows.push((format!("  {name}"), compact(v)));
                }
            }
            Value::Array(items) if key == "transitions" => {
                rows.push((key.clone(), format::count(items.len() as u64)));
                let skip = items.len().saturating_sub(8);
                if skip > 0 {
                    rows.push(("  …".to_owned(), format!("{skip} earlier")));
                }
                for t in items.iter().skip(skip) {
                    let at = t.get("at_ms").and_then(Value::as_f64).unwrap_or(0.0);
                    let word = |k: &str| {
                        t.get(k)
                            .and_then(Value::as_str)
                            .unwrap_or("?")
                            .replace('_', "-")
                    };
                    rows.push((
                        format!("  {}", format::clock(at)),
                        format!("{} › {}", word("from"), word("to")),
                    ));
                }
            }
            Value::Array(items) => {
                rows.push((key.clone(), format::count(items.len() as u64)));
                for item in items {
                    let name = item.get("name").and_then(Value::as_str).unwrap_or("");
                    rows.push((format!("  {name}"), compact(item)));
                }
            }
            other => rows.push((key.clone(), scalar_text(key, other))),
        }
    }
    rows
}

/// A broker-backed channel's connection and counters: a headline ("RabbitMQ orders · up"),
/// then every field of the report's `broker` object, names and URLs as they are.
fn broker_rows(broker: &BrokerReport) -> Vec<(String, String)> {
    let mut rows = vec![(
        "broker".to_owned(),
        format!(
            "{} {} · {}",
            broker_title(&broker.kind),
            broker.name,
            broker.state
        ),
    )];
    let text = |key: &str, value: &str| (format!("  {key}"), value.to_owned());
    rows.push(text("url", &broker.url));
    rows.push(text("state", &broker.state));
    if let Some(error) = &broker.error {
        rows.push(text("error", error));
    }
    for (key, n) in [
        ("published", broker.published),
        ("confirmed", broker.confirmed),
        ("publish_failed", broker.publish_failed),
        ("consumed", broker.consumed),
        ("acked", broker.acked),
        ("redelivered", broker.redelivered),
    ] {
        rows.push((format!("  {key}"), format::count(n)));
    }
    if let Some(depth) = broker.broker_depth {
        rows.push(("  broker_depth".to_owned(), format::count(depth)));
    }
    rows.push(("  reconnects".to_owned(), format::count(broker.reconnects)));
    rows
}

fn is_latency(map: &serde_json::Map<String, Value>) -> bool {
    ["mean", "p50", "p99", "max"]
        .iter()
        .all(|k| map.contains_key(*k))
}

fn is_gauge(map: &serde_json::Map<String, Value>) -> bool {
    ["mean", "max", "last"].iter().all(|k| map.contains_key(*k)) && map.len() == 3
}

fn num(map: &serde_json::Map<String, Value>, key: &str) -> f64 {
    map.get(key).and_then(Value::as_f64).unwrap_or(0.0)
}

fn latency_text(map: &serde_json::Map<String, Value>) -> String {
    let mut text = format!(
        "mean {} · p50 {} · p99 {} · max {}",
        format::duration_ms(num(map, "mean")),
        format::duration_ms(num(map, "p50")),
        format::duration_ms(num(map, "p99")),
        format::duration_ms(num(map, "max")),
    );
    if let Some(n) = map.get("count").and_then(Value::as_u64) {
        text.push_str(&format!(" · n {}", format::count(n)));
    }
    text
}

fn gauge_text(map: &serde_json::Map<String, Value>) -> String {
    format!(
        "last {} · mean {} · max {}",
        format::number(num(map, "last")),
        format::number(num(map, "mean")),
        format::number(num(map, "max")),
    )
}

fn scalar_text(key: &str, value: &Value) -> String {
    match value {
        Value::Number(n) if key.ends_with("_ms") => format::duration_ms(n.as_f64().unwrap_or(0.0)),
        Value::Number(n) if key == "utilization" => format::percent(n.as_f64().unwrap_or(0.0)),
        Value::Number(n) => match n.as_u64() {
            Some(u) => format::count(u),
            None => format::number(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => s.replace('_', "-"),
        other => other.to_string(),
    }
}

/// A small object on one line: "delivered 12 · dropped 0 · depth last 3".
fn compact(value: &Value) -> String {
    match value {
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| k.as_str() != "name")
            .map(|(k, v)| match v {
                Value::Object(inner) if is_gauge(inner) => format!("depth {}", gauge_text(inner)),
                other => format!("{} {}", k.replace('_', " "), scalar_text(k, other)),
            })
            .collect::<Vec<_>>()
            .join(" · "),
        other => scalar_text("", other),
    }
}

// ---- faults timeline -----------------------------------------------------------------------

fn timeline_height(faults: usize) -> f32 {
    let rows = faults.min(TIMELINE_ROWS) as f32;
    16.0 + rows * 12.0
}

/// The graph's scheduled faults as bars on the simulated time axis, the current time marked.
fn faults_timeline_ui(ui: &mut egui::Ui, graph: &Graph, live: &LiveSession, now_ms: f64) {
    let height = timeline_height(graph.faults.len());
    let (rect, response) =
        ui.allocate_exact_size(vec2(ui.available_width(), height), Sense::hover());
    let painter = ui.painter_at(rect);
    let visuals = ui.visuals();
    let colors = LiveColors::new(visuals.dark_mode);
    let label_width = 170.0;
    let axis = egui::Rect::from_min_max(
        pos2(rect.left() + label_width, rect.top()),
        pos2(rect.right() - 8.0, rect.bottom() - 14.0),
    );
    let end_ms = graph
        .faults
        .iter()
        .map(|f| f.until_ms.unwrap_or(f.at_ms))
        .fold(now_ms, f64::max)
        .max(10_000.0)
        * 1.05;
    let x_of = |ms: f64| axis.left() + (ms / end_ms).clamp(0.0, 1.0) as f32 * axis.width();
    let font = egui::FontId::proportional(10.0);
    painter.text(
        pos2(rect.left(), rect.bottom()),
        egui::Align2::LEFT_BOTTOM,
        "Fault schedule",
        font.clone(),
        visuals.weak_text_color(),
    );
    for (row, fault) in graph.faults.iter().take(TIMELINE_ROWS).enumerate() {
        let y = axis.top() + 2.0 + row as f32 * 12.0;
        let active = fault.at_ms <= now_ms && fault.until_ms.is_none_or(|u| now_ms < u);
        let color = match fault.kind {
            flowbench_engine::model::FaultKind::Fail
            | flowbench_engine::model::FaultKind::Crash => colors.bad,
            flowbench_engine::model::FaultKind::Slow => colors.warn,
            flowbench_engine::model::FaultKind::Stop => colors.weak,
            flowbench_engine::model::FaultKind::Replay => colors.fault,
        };
        let label = format!("{} · {}", fault.node, fault_word(fault.kind));
        painter.text(
            pos2(axis.left() - 6.0, y + 5.0),
            egui::Align2::RIGHT_CENTER,
            label,
            font.clone(),
            if active {
                visuals.strong_text_color()
            } else {
                visuals.text_color()
            },
        );
        let x0 = x_of(fault.at_ms);
        let x1 = match fault.until_ms {
            Some(until) => x_of(until),
            None if fault.kind == flowbench_engine::model::FaultKind::Replay => x0 + 3.0,
            None => axis.right(),
        };
        let bar = egui::Rect::from_min_max(pos2(x0, y + 1.0), pos2(x1.max(x0 + 3.0), y + 9.0));
        painter.rect_filled(
            bar,
            2.0,
            if active {
                color
            } else {
                color.gamma_multiply(0.55)
            },
        );
    }
    if graph.faults.len() > TIMELINE_ROWS {
        painter.text(
            pos2(rect.left(), axis.bottom()),
            egui::Align2::LEFT_BOTTOM,
            format!("+{} more", graph.faults.len() - TIMELINE_ROWS),
            font.clone(),
            visuals.weak_text_color(),
        );
    }
    // Axis with a few ticks, and the current time.
    let base = axis.bottom() + 1.0;
    painter.line_segment(
        [pos2(axis.left(), base), pos2(axis.right(), base)],
        Stroke::new(1.0, visuals.weak_text_color()),
    );
    let step = nice_step(end_ms / 6.0);
    let mut t = 0.0;
    while t <= end_ms {
        let x = x_of(t);
        painter.line_segment(
            [pos2(x, base), pos2(x, base + 3.0)],
            Stroke::new(1.0, visuals.weak_text_color()),
        );
        painter.text(
            pos2(x, base + 3.0),
            egui::Align2::CENTER_TOP,
            seconds_label(t / 1000.0),
            egui::FontId::proportional(9.0),
            visuals.weak_text_color(),
        );
        t += step;
    }
    if live.snapshot().is_some() {
        let x = x_of(now_ms);
        painter.line_segment(
            [pos2(x, axis.top()), pos2(x, base)],
            Stroke::new(1.5, colors.neutral),
        );
    }
    response.on_hover_text(
        "The graph's scheduled faults on the simulated time axis; the blue line is now",
    );
}

/// A round tick step (1, 2 or 5 × 10ⁿ ms) near `raw`.
fn nice_step(raw: f64) -> f64 {
    let raw = raw.max(1.0);
    let exp = 10f64.powf(raw.log10().floor());
    let f = raw / exp;
    let nice = if f < 1.5 {
        1.0
    } else if f < 3.5 {
        2.0
    } else if f < 7.5 {
        5.0
    } else {
        10.0
    };
    nice * exp
}

#[cfg(test)]
mod tests {
    use flowbench_engine::report::{LatencySummary, Transition};

    use super::*;

    /// Every field the report has is a row, named as in the report file, with units.
    #[test]
    fn report_rows_show_every_field_with_units() {
        let report = NodeReport {
            kind: "service".into(),
            in_: 1200,
            out: 1190,
            failed: Some(3),
            utilization: Some(0.724),
            service_ms: Some(LatencySummary {
                mean: 12.5,
                p50: 10.0,
                p99: 40.0,
                max: 1500.0,
                count: 1190,
            }),
            workers: Some(4),
            ..NodeReport::default()
        };
        let rows = report_rows(&report);
        let get = |k: &str| {
            rows.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(get("kind").as_deref(), Some("service"));
        assert_eq!(get("in").as_deref(), Some("1200"));
        assert_eq!(get("utilization").as_deref(), Some("72 %"));
        assert_eq!(
            get("service_ms").as_deref(),
            Some("mean 12.5 ms · p50 10 ms · p99 40 ms · max 1.50 s · n 1190")
        );
        assert_eq!(get("workers").as_deref(), Some("4"));
        assert!(get("depth").is_none());
    }

    /// A breaker's states over time follow its transitions, ending at the current time.
    #[test]
    fn breaker_intervals_follow_transitions() {
        let report = NodeReport {
            kind: "breaker".into(),
            state: Some(BreakerState::HalfOpen),
            transitions: Some(vec![
                Transition {
                    at_ms: 100.0,
                    from: BreakerState::Closed,
                    to: BreakerState::Open,
                },
                Transition {
                    at_ms: 300.0,
                    from: BreakerState::Open,
                    to: BreakerState::HalfOpen,
                },
            ]),
            ..NodeReport::default()
        };
        assert_eq!(
            breaker_intervals(&report, 350.0),
            vec![
                (0.0, 100.0, BreakerState::Closed),
                (100.0, 300.0, BreakerState::Open),
                (300.0, 350.0, BreakerState::HalfOpen),
            ]
        );
        assert_eq!(breaker_axis_label(2.0), "open");
        assert_eq!(seconds_label(75.0), "1:15");
    }
}
