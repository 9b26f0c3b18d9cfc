//! The palette: every node kind, grouped like the patterns they build. Drag one onto the
//! canvas, or click it to add it at the centre of the view (below any node already there).

use flowbench_engine::NodeKind;

use crate::ui::Document;
use crate::ui::canvas::CanvasState;
use crate::ui::canvas::geometry::NODE_SIZE;

/// The palette's groups, in order.
pub const GROUPS: [(&str, &[NodeKind]); 4] = [
    (
        "Endpoints",
        &[NodeKind::Producer, NodeKind::Client, NodeKind::Sink],
    ),
    (
        "Channels",
        &[NodeKind::Queue, NodeKind::Topic, NodeKind::EventLog],
    ),
    (
        "Processing",
        &[NodeKind::Service, NodeKind::Router, NodeKind::Projector],
    ),
    (
        "Resilience & calls",
        &[NodeKind::Breaker, NodeKind::Gateway, NodeKind::Saga],
    ),
];

/// One line saying what a kind is for (the palette's tooltip).
pub fn describe(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Producer => "Message source at a rate (Poisson or constant)",
        NodeKind::Client => "Request-reply caller with a timeout",
        NodeKind::Queue => "Point-to-point channel: each message to one consumer",
        NodeKind::Topic => "Publish-subscribe channel: every subscriber gets every message",
        NodeKind::Service => "Handles messages and requests with workers, retries and calls",
        NodeKind::Sink => "Endpoint: records end-to-end latency",
        NodeKind::Breaker => "Circuit breaker on a call path: closed, open, half-open",
        NodeKind::Gateway => "API gateway: routes or aggregates calls, rate limits",
        NodeKind::Router => "Content-based router and filter on payload fields",
        NodeKind::EventLog => "Append-only event store; consumers read at their own offset",
        NodeKind::Projector => "CQRS read model built from events; answers queries",
        NodeKind::Saga => "Saga orchestrator: steps in order, compensations in reverse",
    }
}

pub fn ui(ui: &mut egui::Ui, doc: &mut Document, canvas: &CanvasState) {
    ui.heading("Palette");
    egui::ScrollArea::vertical().show(ui, |ui| {
        for (group, kinds) in GROUPS {
            ui.add_space(4.0);
            ui.weak(group);
            for &kind in kinds {
                // One widget senses both: a drag-only handle on top of the button would
                // swallow its clicks.
                let response = ui.add(
                    egui::Button::new(kind.as_str())
                        .sense(egui::Sense::click_and_drag())
                        .min_size(egui::vec2(ui.available_width(), 0.0)),
                );
                response.dnd_set_drag_payload(kind);
                if response.dragged() {
                    ui.ctx().set_cursor_icon(egui::CursorIcon::Grabbing);
                }
                let response = response.on_hover_text(format!(
                    "{}\nDrag onto the canvas, or click to add at the centre",
                    describe(kind)
                ));
                if response.clicked() {
                    let at = landing_spot(doc, canvas);
                    doc.add_node(kind, at);
                }
            }
        }
    });
}

/// Where a clicked kind lands: the centre of the view, or straight below it where a node's
/// box is in the way, so that the new node never hides another.
fn landing_spot(doc: &Document, canvas: &CanvasState) -> [f64; 2] {
    let [x, mut y] = canvas.view_center();
    let (width, height) = (f64::from(NODE_SIZE.x) + 20.0, f64::from(NODE_SIZE.y) + 20.0);
    let centres: Vec<[f64; 2]> = doc
        .graph
        .nodes
        .iter()
        .filter_map(|n| canvas.node_center(&n.id))
        .collect();
    while centres
        .iter()
        .any(|c| (c[0] - x).abs() < width && (c[1] - y).abs() < height)
    {
        y += height;
    }
    [x, y]
}
