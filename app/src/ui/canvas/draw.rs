//! Painting the scene: grid, edges, nodes, ports, culled to the view and simplified by the
//! level of detail. Text is laid out once per zoom and kept until the zoom or the document
//! changes.

use std::sync::Arc;

use egui::epaint::{CornerRadius, RectShape, StrokeKind};
use egui::text::{LayoutJob, TextFormat, TextWrapping};
use egui::{Color32, FontId, Galley, Mesh, Painter, Pos2, Rect, Shape, Stroke, Vec2, pos2, vec2};

use super::geometry::{
    self, ARROW_LENGTH, NODE_SIZE, NodeShape, PORT_RADIUS, Scene, arrowhead, edge_curve, port_pos,
};
use super::icons::Icons;
use super::interact::{Drag, Hover};
use super::style::{self, Palette};
use super::view::{Lod, View};
use crate::ui::Selection;
use crate::ui::live::LiveSession;
use crate::ui::live::overlay::{edge_flow, node_overlay};
use flowbench_engine::Severity;

/// From this zoom every node shows its port names; below it only the hovered or selected one.
const PORT_NAMES_FROM: f32 = 1.2;

/// Everything one frame's painting needs.
pub(super) struct Frame<'a> {
    pub painter: &'a Painter,
    pub view: &'a View,
    pub palette: &'a Palette,
    pub lod: Lod,
    pub scene: &'a Scene,
    /// Nodes on screen, in drawing order.
    pub visible: &'a [usize],
    pub selection: &'a Selection,
    pub hover: Hover,
    pub drag: &'a Drag,
    /// The node whose name is being edited (its title is not painted).
    pub renaming: Option<usize>,
    /// Drawing for an export: no grid.
    pub clean: bool,
    pub texts: &'a mut TextCache,
    /// The live run whose numbers are drawn over nodes and edges (none when stopped).
    pub live: Option<&'a LiveSession>,
    /// Seconds since start, for animations.
    pub time: f64,
}

pub(super) fn paint(mut f: Frame<'_>) {
    f.texts.begin_frame(f.painter, f.view.zoom);
    f.painter
        .rect_filled(f.view.rect, CornerRadius::ZERO, f.palette.background);
    if !f.clean {
        grid(&f);
    }
    edges(&mut f);
    nodes(&mut f);
    live_overlays(&f);
}

/// The live run's numbers: moving dots along edges with throughput, and each node's rates,
/// fill bar, busy workers or breaker state.
fn live_overlays(f: &Frame<'_>) {
    let Some(live) = f.live.filter(|l| l.is_active()) else {
        return;
    };
    let view = f.view;
    let world = view.visible_world();
    let max_rate = live.max_edge_rate();
    let mut points = Vec::new();
    for e in &f.scene.edges {
        let from = node_rect(f.scene, f.drag, e.from);
        let to = node_rect(f.scene, f.drag, e.to);
        let curve = edge_curve(
            port_pos(from, e.port, f.scene.nodes[e.from].ports.len()),
            to.left_center(),
        );
        if !geometry::curve_bounds(&curve).intersects(world) {
            continue;
        }
        let rate = live.edge_rate(&f.scene.nodes[e.from].id, &f.scene.nodes[e.to].id);
        let screen = curve.map(|p| view.world_to_screen(p));
        points.clear();
        geometry::flatten(&screen, 24, &mut points);
        edge_flow(f.painter, &points, rate, max_rate, f.time, f.palette.dark);
    }
    for &i in f.visible {
        let node = &f.scene.nodes[i];
        let (Some(kind), Some(state)) = (node.kind, live.node_live(&node.id)) else {
            continue;
        };
        let rect = view.rect_to_screen(node_rect(f.scene, f.drag, i));
        node_overlay(f.painter, rect, kind, &state, view.zoom, f.time);
    }
}

/// The box of node `i` as drawn, following a drag in progress.
pub(super) fn node_rect(scene: &Scene, drag: &Drag, i: usize) -> Rect {
    let rect = scene.nodes[i].rect;
    match drag.move_offset() {
        Some((moving, delta)) if moving.get(i).copied().unwrap_or(false) => rect.translate(delta),
        _ => rect,
    }
}

/// A dot grid every 20 units, with every fifth dot stronger; the fine dots fade out as the
/// view zooms out, then the coarse ones.
fn grid(f: &Frame<'_>) {
    const STEP: f32 = 20.0;
    const MAJOR: i64 = 5;
    /// Dots closer than this (screen points) are not drawn; they fade in up to twice that.
    const MIN_SPACING: f32 = 12.0;
    let view = f.view;
    let fine_spacing = STEP * view.zoom;
    let (step, fine) = if fine_spacing >= MIN_SPACING {
        (STEP, true)
    } else {
        (STEP * MAJOR as f32, false)
    };
    let spacing = step * view.zoom;
    if spacing < MIN_SPACING {
        return;
    }
    let fade = ((spacing - MIN_SPACING) / MIN_SPACING).clamp(0.0, 1.0);
    let world = view.visible_world();
    let (x0, x1) = (
        (world.min.x / step).floor() as i64,
        (world.max.x / step).ceil() as i64,
    );
    let (y0, y1) = (
        (world.min.y / step).floor() as i64,
        (world.max.y / step).ceil() as i64,
    );
    let count = ((x1 - x0 + 1) * (y1 - y0 + 1)).max(0) as usize;
    if count > 40_000 {
        return;
    }
    // Fine dots fade with their spacing; coarse ones only when they are all that is left.
    let minor = f.palette.grid.gamma_multiply(fade);
    let major = if fine {
        f.palette.grid_major
    } else {
        f.palette.grid_major.gamma_multiply(fade)
    };
    let mut mesh = Mesh::default();
    mesh.reserve_vertices(count * 4);
    mesh.reserve_triangles(count * 2);
    for gy in y0..=y1 {
        for gx in x0..=x1 {
            let strong = !fine || (gx % MAJOR == 0 && gy % MAJOR == 0);
            if !strong && fade <= 0.0 {
                continue;
            }
            let (color, size) = if strong { (major, 2.0) } else { (minor, 1.5) };
            let p = view.world_to_screen(pos2(gx as f32 * step, gy as f32 * step));
            mesh.add_colored_rect(Rect::from_center_size(p, Vec2::splat(size)), color);
        }
    }
    f.painter.add(Shape::mesh(mesh));
}

fn edges(f: &mut Frame<'_>) {
    let view = f.view;
    let world = view.visible_world();
    let z = view.zoom;
    let width = if f.lod == Lod::Boxes {
        1.0
    } else {
        (1.5 * z).clamp(1.2, 3.0)
    };
    for (k, e) in f.scene.edges.iter().enumerate() {
        let from = node_rect(f.scene, f.drag, e.from);
        let to = node_rect(f.scene, f.drag, e.to);
        let n_ports = f.scene.nodes[e.from].ports.len();
        let end = to.left_center();
        let curve = edge_curve(port_pos(from, e.port, n_ports), end);
        if !geometry::curve_bounds(&curve)
            .union(Rect::from_center_size(end, Vec2::splat(ARROW_LENGTH)))
            .intersects(world)
        {
            continue;
        }
        let selected = f.selection.edges.contains(&e.index);
        let hovered = f.hover == Hover::Edge(k);
        let mut color = f.palette.edge_color(e.call);
        if let Some((severity, _)) = &e.problem {
            color = problem_color(f.palette, *severity);
        }
        if selected {
            color = f.palette.selection;
        }
        let w = if selected || hovered {
            width + 1.0
        } else {
            width
        };
        let screen = curve.map(|p| view.world_to_screen(p));
        let stroke = Stroke::new(w, color);
        stroke_curve(
            f.painter,
            &screen,
            stroke,
            e.call && f.lod != Lod::Boxes,
            z,
            f.lod,
        );
        if f.lod != Lod::Boxes {
            arrow(f.painter, view, end, color);
        }
        if f.lod == Lod::Full
            && let Some(label) = &e.label
        {
            let galley = f.texts.edge_label(f.painter, k, label);
            let at = geometry::bezier_point(&screen, 0.5);
            let text_color = if selected {
                color
            } else {
                f.palette.edge_color(e.call)
            };
            pill(f.painter, f.palette, at, galley, text_color);
        }
    }
}

/// Paints a curve given in screen coordinates, dashed for calls.
pub(super) fn stroke_curve(
    painter: &Painter,
    screen: &[Pos2; 4],
    stroke: Stroke,
    dashed: bool,
    zoom: f32,
    lod: Lod,
) {
    let chord = screen[0].distance(screen[1])
        + screen[1].distance(screen[2])
        + screen[2].distance(screen[3]);
    let segments = if lod == Lod::Boxes {
        (chord / 24.0).clamp(2.0, 8.0)
    } else {
        (chord / 10.0).clamp(4.0, 48.0)
    } as usize;
    let mut points = Vec::with_capacity(segments + 1);
    geometry::flatten(screen, segments, &mut points);
    if dashed {
        let dash = (6.0 * zoom).max(3.0);
        let gap = (4.0 * zoom).max(2.0);
        painter.extend(Shape::dashed_line(&points, stroke, dash, gap));
    } else {
        painter.add(Shape::line(points, stroke));
    }
}

/// An arrowhead arriving at world point `to` from the left.
pub(super) fn arrow(painter: &Painter, view: &View, to: Pos2, color: Color32) {
    let points = arrowhead(to).map(|p| view.world_to_screen(p)).to_vec();
    painter.add(Shape::convex_polygon(points, color, Stroke::NONE));
}

/// A text on a small rounded background, centred at `at`.
fn pill(painter: &Painter, palette: &Palette, at: Pos2, galley: Arc<Galley>, color: Color32) {
    let rect = Rect::from_center_size(at, galley.size()).expand2(vec2(4.0, 1.0));
    painter.rect_filled(rect, CornerRadius::same(4), palette.label_fill);
    painter.galley(rect.min + vec2(4.0, 1.0), galley, color);
}

fn problem_color(palette: &Palette, severity: Severity) -> Color32 {
    match severity {
        Severity::Error => palette.error,
        Severity::Warning => palette.warning,
    }
}

fn nodes(f: &mut Frame<'_>) {
    if f.lod == Lod::Boxes {
        boxes(f);
        return;
    }
    let pixels = style::ICON_SIZE * f.view.zoom * f.painter.pixels_per_point();
    let mut icons = Icons::new(f.painter.ctx(), pixels);
    for &i in f.visible {
        let rect = node_rect(f.scene, f.drag, i);
        node(f, &mut icons, i, rect);
    }
}

/// Far out: every node one flat box in its kind's colour, in one mesh.
fn boxes(f: &mut Frame<'_>) {
    let mut mesh = Mesh::default();
    mesh.reserve_vertices(f.visible.len() * 4);
    mesh.reserve_triangles(f.visible.len() * 2);
    for &i in f.visible {
        let node = &f.scene.nodes[i];
        let rect = f.view.rect_to_screen(node_rect(f.scene, f.drag, i));
        mesh.add_colored_rect(rect, f.palette.accent_box(node.kind));
    }
    f.painter.add(Shape::mesh(mesh));
    for &i in f.visible {
        let node = &f.scene.nodes[i];
        let outline = if f.selection.nodes.contains(&node.id) {
            Some(f.palette.selection)
        } else {
            node.problem
                .as_ref()
                .map(|(s, _)| problem_color(f.palette, *s))
        };
        if let Some(color) = outline {
            let rect = f.view.rect_to_screen(node_rect(f.scene, f.drag, i));
            f.painter.add(RectShape::stroke(
                rect,
                CornerRadius::ZERO,
                Stroke::new(2.0, color),
                StrokeKind::Outside,
            ));
        }
    }
}

/// One node with icon, name, config line and ports.
fn node(f: &mut Frame<'_>, icons: &mut Icons<'_>, i: usize, world: Rect) {
    let node = &f.scene.nodes[i];
    let view = f.view;
    let z = view.zoom;
    let p = f.palette;
    let r = view.rect_to_screen(world);
    let radius = style::NODE_RADIUS * z;
    let hovered = matches!(f.hover, Hover::Node(n) | Hover::Port(n, _) if n == i);
    let selected = f.selection.nodes.contains(&node.id);

    if f.lod == Lod::Full {
        let shadow = r.translate(vec2(0.0, 2.0 * z));
        f.painter
            .add(RectShape::filled(shadow, radius, p.shadow).with_blur_width(8.0 * z));
    }
    let border = match &node.problem {
        Some((severity, _)) => Stroke::new(1.5, problem_color(p, *severity)),
        None if hovered => Stroke::new(1.0, p.node_border_hover),
        None => Stroke::new(1.0, p.node_border),
    };
    f.painter.add(RectShape::new(
        r,
        radius,
        p.node_fill,
        border,
        StrokeKind::Inside,
    ));

    // Icon tile.
    let accent = p.accent(node.kind);
    let tile = Rect::from_center_size(
        pos2(
            r.left() + (style::TILE_MARGIN + style::TILE_SIZE / 2.0) * z,
            r.center().y,
        ),
        Vec2::splat(style::TILE_SIZE * z),
    );
    f.painter
        .rect_filled(tile, 6.0 * z, p.accent_soft(node.kind));
    let icon = Rect::from_center_size(tile.center(), Vec2::splat(style::ICON_SIZE * z));
    match node.kind.and_then(|k| icons.texture(k)) {
        Some(texture) => {
            let uv = Rect::from_min_max(Pos2::ZERO, pos2(1.0, 1.0));
            f.painter.image(texture, icon, uv, accent);
        }
        None if node.kind.is_none() => {
            f.painter.text(
                icon.center(),
                egui::Align2::CENTER_CENTER,
                "?",
                FontId::proportional(style::TITLE_SIZE * z),
                accent,
            );
        }
        None => {}
    }

    // Name and config line.
    if f.renaming != Some(i) {
        let full = f.lod == Lod::Full;
        let texts = f.texts.node(f.painter, i, node, full);
        let left = r.left() + style::TEXT_LEFT * z;
        let title_h = texts.title.size().y;
        match texts.summary.as_ref().filter(|_| full) {
            Some(summary) => {
                let gap = 2.0 * z;
                let top = r.center().y - (title_h + gap + summary.size().y) / 2.0;
                f.painter
                    .galley(pos2(left, top), texts.title.clone(), p.text);
                f.painter.galley(
                    pos2(left, top + title_h + gap),
                    summary.clone(),
                    p.text_weak,
                );
            }
            None => {
                f.painter.galley(
                    pos2(left, r.center().y - title_h / 2.0),
                    texts.title.clone(),
                    p.text,
                );
            }
        }
    }

    // The process that runs the node, as a small tag over its top-right corner; a live run
    // puts its chips there instead.
    if f.lod == Lod::Full
        && let Some(process) = &node.process
        && !f.live.is_some_and(LiveSession::is_active)
    {
        f.painter.text(
            pos2(r.right() - 4.0 * z, r.top() - 2.0 * z),
            egui::Align2::RIGHT_BOTTOM,
            format!("@{process}"),
            FontId::proportional(style::SMALL_SIZE * z),
            p.text_weak,
        );
    }

    // Ports. Free ones are handles for new edges: shown close up or on the node in focus,
    // never in an export.
    let port_radius = (PORT_RADIUS * z).max(2.5);
    let show_free = !f.clean && (f.lod == Lod::Full || hovered || selected);
    for port in 0..node.ports.len() {
        if !node.wired[port] && !show_free {
            continue;
        }
        let c = view.world_to_screen(port_pos(world, port, node.ports.len()));
        let call = node.kind.is_some_and(|k| k.is_call_port(&node.ports[port]));
        let color = p.edge_color(call);
        // Wired ports are solid; free ones are rings, quieter.
        if f.hover == Hover::Port(i, port) {
            f.painter
                .circle(c, port_radius * 1.35, color, Stroke::new(1.5, color));
        } else if node.wired[port] {
            f.painter
                .circle(c, port_radius, color, Stroke::new(1.5, p.node_fill));
        } else {
            let ring = style::mix(p.node_fill, color, 0.7);
            f.painter
                .circle(c, port_radius, p.node_fill, Stroke::new(1.5, ring));
        }
    }
    // Port names crowd the space between nodes: shown close up, or on the node in focus.
    let name_ports = z >= PORT_NAMES_FROM
        || hovered
        || selected
        || matches!(f.drag, Drag::Connect { from, .. } if *from == i);
    if f.lod == Lod::Full && node.names_ports() && name_ports {
        let labels = f.texts.port_labels(f.painter, i, node);
        for (port, galley) in labels.iter().enumerate() {
            let c = view.world_to_screen(port_pos(world, port, node.ports.len()));
            let at = pos2(c.x + port_radius + 3.0 * z, c.y - galley.size().y - 1.0 * z);
            f.painter.galley(at, galley.clone(), p.text_weak);
        }
    }

    if selected {
        f.painter.add(RectShape::stroke(
            r.expand(1.5),
            radius + 1.5,
            Stroke::new(2.0, p.selection),
            StrokeKind::Outside,
        ));
    }
    if let Some((severity, _)) = &node.problem {
        let color = problem_color(p, *severity);
        let c = pos2(r.right() - 2.0 * z, r.top() + 2.0 * z);
        let badge = (7.0 * z).max(5.0);
        f.painter
            .circle(c, badge, color, Stroke::new(1.5, p.node_fill));
        f.painter.text(
            c,
            egui::Align2::CENTER_CENTER,
            "!",
            FontId::proportional(badge * 1.5),
            p.node_fill,
        );
    }
}

/// A node as a translucent preview at `center` (world), while it is dragged from the palette.
pub(super) fn ghost(
    painter: &Painter,
    view: &View,
    palette: &Palette,
    kind: flowbench_engine::NodeKind,
    center: Pos2,
) {
    let z = view.zoom;
    let r = view.rect_to_screen(Rect::from_center_size(center, NODE_SIZE));
    let accent = palette.accent(Some(kind));
    painter.add(RectShape::new(
        r,
        style::NODE_RADIUS * z,
        palette.node_fill.gamma_multiply(0.7),
        Stroke::new(1.5, accent),
        StrokeKind::Inside,
    ));
    if view.lod() != Lod::Boxes {
        let pixels = style::ICON_SIZE * z * painter.pixels_per_point();
        let mut icons = Icons::new(painter.ctx(), pixels);
        let tile = Rect::from_center_size(
            pos2(
                r.left() + (style::TILE_MARGIN + style::TILE_SIZE / 2.0) * z,
                r.center().y,
            ),
            Vec2::splat(style::TILE_SIZE * z),
        );
        painter.rect_filled(tile, 6.0 * z, palette.accent_soft(Some(kind)));
        if let Some(texture) = icons.texture(kind) {
            let uv = Rect::from_min_max(Pos2::ZERO, pos2(1.0, 1.0));
            let icon = Rect::from_center_size(tile.center(), Vec2::splat(style::ICON_SIZE * z));
            painter.image(texture, icon, uv, accent);
        }
        painter.text(
            pos2(r.left() + style::TEXT_LEFT * z, r.center().y),
            egui::Align2::LEFT_CENTER,
            kind.as_str(),
            FontId::proportional(style::TITLE_SIZE * z),
            palette.text_weak,
        );
    }
}

/// The laid-out texts of one node at one zoom.
pub(super) struct NodeTexts {
    pub title: Arc<Galley>,
    pub summary: Option<Arc<Galley>>,
    ports: Vec<Arc<Galley>>,
    full: bool,
}

/// Laid-out node and edge texts, valid for one zoom and one document state.
#[derive(Default)]
pub(super) struct TextCache {
    /// The zoom the texts are laid out for (see [`text_scale`]).
    scale: f32,
    /// A text laid out through egui every frame: when egui hands back another one, it has
    /// rebuilt its font atlas (theme or scale change, full atlas) and ours are stale too.
    canary: Option<Arc<Galley>>,
    nodes: Vec<Option<NodeTexts>>,
    edges: Vec<Option<Arc<Galley>>>,
}

impl TextCache {
    /// Forgets every text (the document changed).
    pub fn clear(&mut self) {
        self.canary = None;
        self.nodes.clear();
        self.edges.clear();
    }

    /// Keeps the texts if they are still good for this frame's zoom and fonts.
    fn begin_frame(&mut self, painter: &Painter, zoom: f32) {
        let scale = text_scale(zoom);
        let canary = painter.layout_no_wrap(
            "Ag".to_owned(),
            FontId::proportional(10.0),
            Color32::PLACEHOLDER,
        );
        let fonts_kept = self
            .canary
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(c, &canary));
        if scale != self.scale || !fonts_kept {
            self.scale = scale;
            self.nodes.iter_mut().for_each(|n| *n = None);
            self.edges.iter_mut().for_each(|e| *e = None);
        }
        self.canary = Some(canary);
    }

    fn node(&mut self, painter: &Painter, i: usize, node: &NodeShape, full: bool) -> &NodeTexts {
        let zoom = self.scale;
        if self.nodes.len() <= i {
            self.nodes.resize_with(i + 1, || None);
        }
        let stale = self.nodes[i].as_ref().is_none_or(|t| full && !t.full);
        if stale {
            let width = (NODE_SIZE.x - style::TEXT_LEFT - style::TEXT_RIGHT) * zoom;
            let title = fitting_line(painter, &node.title, style::TITLE_SIZE * zoom, width);
            let summary = (full && !node.summary.is_empty())
                .then(|| fitting_line(painter, &node.summary, style::SUMMARY_SIZE * zoom, width));
            self.nodes[i] = Some(NodeTexts {
                title,
                summary,
                ports: Vec::new(),
                full,
            });
        }
        self.nodes[i].as_ref().expect("just filled")
    }

    fn port_labels(&mut self, painter: &Painter, i: usize, node: &NodeShape) -> &[Arc<Galley>] {
        self.node(painter, i, node, true);
        let zoom = self.scale;
        let texts = self.nodes[i].as_mut().expect("filled by node()");
        if texts.ports.len() != node.ports.len() {
            texts.ports = node
                .ports
                .iter()
                .map(|port| one_line(painter, port, style::SMALL_SIZE * zoom, 80.0 * zoom))
                .collect();
        }
        &texts.ports
    }

    fn edge_label(&mut self, painter: &Painter, k: usize, label: &str) -> Arc<Galley> {
        let zoom = self.scale;
        if self.edges.len() <= k {
            self.edges.resize_with(k + 1, || None);
        }
        self.edges[k]
            .get_or_insert_with(|| one_line(painter, label, style::SMALL_SIZE * zoom, 120.0 * zoom))
            .clone()
    }
}

/// The zoom texts are laid out for: the zoom in steps of 1/24 of a doubling (under 3%), so
/// that zooming lays text out again only every few frames; at 100% exactly 1.
fn text_scale(zoom: f32) -> f32 {
    ((zoom.log2() * 24.0).round() / 24.0).exp2()
}

/// One line of a node box: set up to 15 % smaller when that lets all of it fit (a name or
/// summary a few letters too long), else cut with "…" at its size.
fn fitting_line(painter: &Painter, text: &str, size: f32, max_width: f32) -> Arc<Galley> {
    let galley = one_line(painter, text, size, max_width);
    if !galley.elided {
        return galley;
    }
    let smaller = one_line(painter, text, size * style::SMALLEST_FIT, max_width);
    if smaller.elided { galley } else { smaller }
}

/// `text` on one line of at most `max_width`, cut with an ellipsis; painted in the colour
/// given when it is drawn.
fn one_line(painter: &Painter, text: &str, size: f32, max_width: f32) -> Arc<Galley> {
    let mut job = LayoutJob::single_section(
        text.to_owned(),
        TextFormat {
            font_id: FontId::proportional(size.max(1.0)),
            color: Color32::PLACEHOLDER,
            ..Default::default()
        },
    );
    job.wrap = TextWrapping {
        max_width: max_width.max(1.0),
        max_rows: 1,
        break_anywhere: true,
        overflow_character: Some('…'),
    };
    painter.layout_job(job)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A node's line a few letters too long for its box is set smaller and shown whole; a
    /// line far too long is cut with "…" at its own size; one that fits is left alone.
    #[test]
    fn lines_a_little_too_long_are_set_smaller_to_fit() {
        let ctx = egui::Context::default();
        let width = NODE_SIZE.x - style::TEXT_LEFT - style::TEXT_RIGHT;
        let size = style::SUMMARY_SIZE;
        let size_of = |galley: &Galley| galley.job.sections[0].format.font_id.size;
        let mut output = ctx.run_ui(egui::RawInput::default(), |ui| {
            let painter = ui.painter();
            let fits = fitting_line(painter, "cap 50 · block", size, width);
            assert!(!fits.elided);
            assert_eq!(size_of(&fits), size);

            let nearly = fitting_line(painter, "cap 50 · throttle 80/s", size, width);
            assert!(one_line(painter, "cap 50 · throttle 80/s", size, width).elided);
            assert!(!nearly.elided, "set smaller, it fits");
            assert!(size_of(&nearly) < size && size_of(&nearly) >= size * style::SMALLEST_FIT);

            let long = "×4 · exp 40 ms · 5% fail · 2 retries · cut here at the end";
            let cut = fitting_line(painter, long, size, width);
            assert!(cut.elided);
            assert_eq!(size_of(&cut), size);
        });
        output.textures_delta.clear();
    }
}
