//! The minimap: while the graph does not fit in the view, a small overview of every node in
//! the canvas's lower right corner, with the part in view outlined. A click or a drag in it
//! moves the view there. View ▸ Minimap turns it off.

use std::sync::Arc;

use egui::{Mesh, Pos2, Rect, Sense, Shape, Stroke, StrokeKind, Vec2, vec2};

use super::geometry::Scene;
use super::style::Palette;
use super::view::View;
use crate::ui::document::DocStamp;

/// The largest the minimap gets; it keeps the graph's proportions inside.
const MAX_SIZE: Vec2 = vec2(220.0, 150.0);
/// Space between the minimap and the canvas's edges.
const MARGIN: f32 = 12.0;
/// Space between the minimap's frame and the nodes in it.
const PAD: f32 = 6.0;
/// The smallest a node is drawn, in points, so that lone nodes stay visible.
const MIN_NODE: f32 = 1.5;
/// How wide an edge is drawn, in points.
const EDGE_WIDTH: f32 = 0.75;

/// A straight line from `a` to `b`, `width` wide, as two triangles.
fn add_line(mesh: &mut Mesh, a: Pos2, b: Pos2, width: f32, color: egui::Color32) {
    let along = b - a;
    let Some(dir) = (along.length() > f32::EPSILON).then(|| along.normalized()) else {
        return;
    };
    let side = dir.rot90() * (width / 2.0);
    let i = mesh.vertices.len() as u32;
    for p in [a + side, a - side, b - side, b + side] {
        mesh.colored_vertex(p, color);
    }
    mesh.add_triangle(i, i + 1, i + 2);
    mesh.add_triangle(i, i + 2, i + 3);
}

/// The minimap's state: whether it is turned off, and its nodes, kept until the document
/// or the canvas's size changes.
#[derive(Default)]
pub struct Minimap {
    pub hidden: bool,
    mesh: Option<(MeshKey, Arc<Mesh>)>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct MeshKey {
    doc: DocStamp,
    canvas: Rect,
    dark: bool,
}

/// Where the minimap sits on screen and how it maps the graph's bounds into it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    /// The minimap's frame on screen.
    pub rect: Rect,
    /// The graph's bounds in world coordinates.
    world: Rect,
    /// Screen points per world unit inside the minimap.
    scale: f32,
    /// Where the world bounds' top left corner lands on screen.
    origin: Pos2,
}

impl Placement {
    /// The minimap for a graph with `bounds` (world) on a canvas at `canvas` (screen).
    pub fn new(canvas: Rect, bounds: Rect) -> Placement {
        let size = bounds.size().max(Vec2::splat(1.0));
        let room = MAX_SIZE - Vec2::splat(2.0 * PAD);
        let scale = (room.x / size.x).min(room.y / size.y);
        let inner = size * scale;
        let rect = Rect::from_min_max(
            canvas.right_bottom() - inner - Vec2::splat(2.0 * PAD + MARGIN),
            canvas.right_bottom() - Vec2::splat(MARGIN),
        );
        Placement {
            rect,
            world: bounds,
            scale,
            origin: rect.min + Vec2::splat(PAD),
        }
    }

    pub fn screen_of(&self, world: Pos2) -> Pos2 {
        self.origin + (world - self.world.min) * self.scale
    }

    pub fn world_of(&self, screen: Pos2) -> Pos2 {
        self.world.min + (screen - self.origin) / self.scale
    }
}

impl Minimap {
    /// Where the minimap shows this frame: nowhere when it is off, the graph is empty, or
    /// the whole graph is in view.
    pub fn placement(&self, view: &View, scene: &Scene) -> Option<Placement> {
        if self.hidden {
            return None;
        }
        let bounds = scene.bounds()?;
        if view.visible_world().contains_rect(bounds) {
            return None;
        }
        Some(Placement::new(view.rect, bounds))
    }

    /// Draws the minimap and lets a click or drag in it move the view.
    pub fn ui(
        &mut self,
        ui: &egui::Ui,
        canvas: egui::Id,
        doc: DocStamp,
        view: &mut View,
        scene: &Scene,
        palette: &Palette,
    ) {
        let Some(place) = self.placement(view, scene) else {
            return;
        };
        let response = ui.interact(place.rect, canvas.with("minimap"), Sense::click_and_drag());
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, "minimap"));
        if (response.is_pointer_button_down_on() || response.clicked())
            && let Some(p) = response.interact_pointer_pos()
        {
            // A click on the frame's margin goes to the nearest edge of the graph.
            let inner = place.rect.shrink(PAD);
            view.center_on(place.world_of(p.clamp(inner.min, inner.max)));
        }

        let painter = ui.painter_at(view.rect);
        painter.rect(
            place.rect,
            4.0,
            palette.background.gamma_multiply(0.92),
            Stroke::new(1.0, palette.node_border),
            StrokeKind::Inside,
        );
        painter.add(Shape::Mesh(
            self.nodes(doc, view.rect, &place, scene, palette),
        ));
        // The part of the graph in view, cut to the minimap's frame.
        let seen = Rect::from_min_max(
            place.screen_of(view.visible_world().min),
            place.screen_of(view.visible_world().max),
        )
        .intersect(place.rect);
        if seen.is_positive() {
            painter.rect(
                seen,
                1.0,
                palette.selection.gamma_multiply(0.12),
                Stroke::new(1.5, palette.selection),
                StrokeKind::Inside,
            );
        }
    }

    /// Every edge as a thin line and every node as a box in its kind's colour, in one mesh,
    /// built again only when the document, the canvas's size or the theme changed.
    fn nodes(
        &mut self,
        doc: DocStamp,
        canvas: Rect,
        place: &Placement,
        scene: &Scene,
        palette: &Palette,
    ) -> Arc<Mesh> {
        let key = MeshKey {
            doc,
            canvas,
            dark: palette.dark,
        };
        if let Some((built, mesh)) = &self.mesh
            && *built == key
        {
            return Arc::clone(mesh);
        }
        let mut mesh = Mesh::default();
        mesh.reserve_vertices((scene.nodes.len() + scene.edges.len()) * 4);
        mesh.reserve_triangles((scene.nodes.len() + scene.edges.len()) * 2);
        // Edges first, under the nodes: from the source's right side to the target's left.
        let edge = palette.edge.gamma_multiply(0.6);
        let call = palette.call.gamma_multiply(0.6);
        for e in &scene.edges {
            let (from, to) = (&scene.nodes[e.from].rect, &scene.nodes[e.to].rect);
            let a = place.screen_of(from.right_center());
            let b = place.screen_of(to.left_center());
            add_line(
                &mut mesh,
                a,
                b,
                EDGE_WIDTH,
                if e.call { call } else { edge },
            );
        }
        for node in &scene.nodes {
            let rect = Rect::from_min_max(
                place.screen_of(node.rect.min),
                place.screen_of(node.rect.max),
            );
            let rect =
                Rect::from_center_size(rect.center(), rect.size().max(Vec2::splat(MIN_NODE)));
            mesh.add_colored_rect(rect, palette.accent_box(node.kind));
        }
        let mesh = Arc::new(mesh);
        self.mesh = Some((key, Arc::clone(&mesh)));
        mesh
    }
}

#[cfg(test)]
mod tests {
    use egui::pos2;

    use super::*;

    /// A line is a quad of the given width around the segment; a zero-length one is left out.
    #[test]
    fn a_line_is_two_triangles_of_its_width() {
        let mut mesh = Mesh::default();
        add_line(
            &mut mesh,
            pos2(0.0, 0.0),
            pos2(10.0, 0.0),
            2.0,
            egui::Color32::WHITE,
        );
        assert_eq!((mesh.vertices.len(), mesh.indices.len()), (4, 6));
        let ys: Vec<f32> = mesh.vertices.iter().map(|v| v.pos.y.abs()).collect();
        assert!(ys.iter().all(|&y| (y - 1.0).abs() < 1e-6), "{ys:?}");
        add_line(
            &mut mesh,
            pos2(3.0, 3.0),
            pos2(3.0, 3.0),
            2.0,
            egui::Color32::WHITE,
        );
        assert_eq!(mesh.vertices.len(), 4);
    }

    #[test]
    fn the_graph_keeps_its_proportions_in_the_corner() {
        let canvas = Rect::from_min_size(Pos2::ZERO, vec2(1000.0, 600.0));
        let wide = Rect::from_min_size(pos2(-500.0, 0.0), vec2(4000.0, 1000.0));
        let place = Placement::new(canvas, wide);
        assert_eq!(place.rect.max, pos2(1000.0 - MARGIN, 600.0 - MARGIN));
        assert!((place.rect.width() - MAX_SIZE.x).abs() < 1e-3, "{place:?}");
        assert!(place.rect.height() < MAX_SIZE.y);
        let inner = place.rect.shrink(PAD);
        assert!((inner.width() / inner.height() - 4.0).abs() < 1e-3);
        // Corners map to corners, and back.
        assert_eq!(place.screen_of(wide.min), inner.min);
        assert!((place.screen_of(wide.max) - inner.max).length() < 1e-3);
        let p = pos2(1234.0, 567.0);
        assert!((place.world_of(place.screen_of(p)) - p).length() < 1e-2);
    }
}
