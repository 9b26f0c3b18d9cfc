//! TEMPORARY: overlay preview for screenshots.
use egui::{Color32, Rect, Sense, Stroke, pos2, vec2};
use flowbench_engine::Graph;

use super::{LiveSession, edge_flow, node_overlay};

pub fn window(ctx: &egui::Context, live: &LiveSession, graph: &Graph) {
    let Ok(z) = std::env::var("FLOWBENCH_OVERLAY_PREVIEW") else {
        return;
    };
    let z: f32 = z.parse().unwrap_or(0.6);
    egui::Window::new("overlay preview")
        .fixed_pos([0.0, 40.0])
        .show(ctx, |ui| {
            let (rect, _) = ui.allocate_exact_size(vec2(1240.0, 620.0), Sense::hover());
            let painter = ui.painter_at(rect);
            let dark = ctx.theme() == egui::Theme::Dark;
            painter.rect_filled(
                rect,
                0.0,
                if dark {
                    Color32::from_rgb(0x18, 0x19, 0x1c)
                } else {
                    Color32::from_rgb(0xf5, 0xf6, 0xf8)
                },
            );
            let time = ctx.input(|i| i.time);
            let at = |p: [f64; 2]| {
                pos2(
                    rect.left() + 20.0 + (p[0] as f32 - 80.0) * z + 80.0 * z,
                    rect.top() + 30.0 + (p[1] as f32 - 80.0) * z,
                )
            };
            let size = vec2(160.0, 56.0) * z;
            for e in &graph.edges {
                let (Some(a), Some(b)) = (graph.node(&e.from), graph.node(&e.to)) else {
                    continue;
                };
                let pa = at(a.pos.unwrap_or_default()) + vec2(size.x / 2.0, 0.0);
                let pb = at(b.pos.unwrap_or_default()) - vec2(size.x / 2.0, 0.0);
                let pts: Vec<_> = (0..=16)
                    .map(|i| {
                        let t = i as f32 / 16.0;
                        let x = pa.x + (pb.x - pa.x) * t;
                        let y = pa.y + (pb.y - pa.y) * (3.0 * t * t - 2.0 * t * t * t);
                        pos2(x, y)
                    })
                    .collect();
                painter.add(egui::Shape::line(
                    pts.clone(),
                    Stroke::new(1.2, Color32::from_gray(120)),
                ));
                edge_flow(
                    &painter,
                    &pts,
                    live.edge_rate(&e.from, &e.to),
                    live.max_edge_rate(),
                    time,
                    dark,
                );
            }
            for n in &graph.nodes {
                let r = Rect::from_center_size(at(n.pos.unwrap_or_default()), size);
                painter.rect(
                    r,
                    6.0 * z,
                    if dark {
                        Color32::from_rgb(0x25, 0x27, 0x2c)
                    } else {
                        Color32::WHITE
                    },
                    Stroke::new(1.0, Color32::from_gray(90)),
                    egui::StrokeKind::Inside,
                );
                painter.text(
                    r.left_center() + vec2(8.0 * z, 0.0),
                    egui::Align2::LEFT_CENTER,
                    &n.id,
                    egui::FontId::proportional(12.0 * z),
                    if dark { Color32::WHITE } else { Color32::BLACK },
                );
                if let (Some(kind), Some(l)) = (n.kind(), live.node_live(&n.id)) {
                    node_overlay(&painter, r, kind, &l, z, time);
                }
            }
        });
}
