//! The palette: every node kind, grouped like the patterns they build. Drag one onto the
//! canvas, or click it to add it at the centre of the view.

use flowbench_engine::NodeKind;

use crate::ui::Document;
use crate::ui::canvas::CanvasState;

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
                let id = egui::Id::unique(("palette", kind.as_str()));
                let response = ui
                    .dnd_drag_source(id, kind, |ui| {
                        ui.add(
                            egui::Button::new(kind.as_str())
                                .min_size(egui::vec2(ui.available_width(), 0.0)),
                        )
                    })
                    .inner;
                let response = response.on_hover_text(format!(
                    "{}\nDrag onto the canvas, or click to add at the centre",
                    describe(kind)
                ));
                if response.clicked() {
                    doc.add_node(kind, canvas.view_center());
                }
            }
        }
    });
}
