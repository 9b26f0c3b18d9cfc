//! What the pointer and keyboard do on the canvas: pan and zoom, select, move, connect, drop
//! from the palette, context menus and renaming in place. Every change to the graph goes
//! through the document, one undo step per gesture.

use std::collections::BTreeSet;

use egui::containers::menu::menu_style;
use egui::{
    Align, Color32, CursorIcon, FontId, Id, Key, Layout, Modifiers, Painter, PointerButton, Popup,
    PopupAnchor, PopupCloseBehavior, PopupKind, Pos2, Rect, Response, Role, Sense, SetOpenCommand,
    Stroke, Ui, Vec2, WidgetInfo, pos2, vec2,
};
use flowbench_engine::{NodeKind, Severity};

use super::draw;
use super::geometry::{PORT_RADIUS, Scene, edge_curve};
use super::style::{self, Family, Palette};
use super::view::{Lod, to_graph};
use super::{CanvasState, draw::node_rect};
use crate::ui::{AppCommand, Document, Selection};

/// Screen distance within which a port handle or an edge counts as hit.
const PORT_HIT: f32 = 8.0;
const EDGE_HIT: f32 = 6.0;
/// Ctrl+wheel zooms by egui's zoom factor to this power.
const WHEEL_ZOOM_DAMPING: f32 = 0.6;
/// Moved nodes land on this grid.
const SNAP: f32 = 10.0;
/// "Connect to…" checks at most this many nearby candidates with the full validation.
const CONNECT_CANDIDATES: usize = 40;

/// What the pointer is over (when no drag is under way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Hover {
    None,
    Node(usize),
    Port(usize, usize),
    /// An index into the scene's edges.
    Edge(usize),
}

/// A drag under way.
#[derive(Debug, Default)]
pub(super) enum Drag {
    #[default]
    None,
    Pan,
    /// Rubber-band selection between two world points, added to `base`.
    Band {
        start: Pos2,
        end: Pos2,
        base: BTreeSet<String>,
    },
    /// Selected nodes follow the pointer; the document changes once, on release.
    Move {
        nodes: Vec<usize>,
        /// `moving[i]`: node `i` is being moved.
        moving: Vec<bool>,
        /// World centre of the node that was grabbed, which snaps to the grid.
        anchor: Pos2,
        /// Pointer travel in world units.
        travel: Vec2,
    },
    /// A new edge from output `port` of node `from`, its loose end at `pointer` (world).
    Connect {
        from: usize,
        port: usize,
        pointer: Pos2,
        target: Option<usize>,
        /// Why the edge to `target` would be refused.
        problem: Option<String>,
    },
}

impl Drag {
    /// For a move: which nodes move and by how much (snapped).
    pub fn move_offset(&self) -> Option<(&[bool], Vec2)> {
        match self {
            Drag::Move {
                moving,
                anchor,
                travel,
                ..
            } => Some((moving, snapped_offset(*anchor, *travel))),
            _ => None,
        }
    }

    /// The scene was rebuilt under a drag: node indices may point elsewhere now.
    pub fn forget_indices(&mut self) {
        if matches!(self, Drag::Move { .. } | Drag::Connect { .. }) {
            *self = Drag::None;
        }
    }
}

/// The travel that puts the grabbed node's centre on the grid.
fn snapped_offset(anchor: Pos2, travel: Vec2) -> Vec2 {
    let target = anchor + travel;
    let snapped = pos2(
        (target.x / SNAP).round() * SNAP,
        (target.y / SNAP).round() * SNAP,
    );
    snapped - anchor
}

/// An open context menu.
#[derive(Debug)]
pub(super) struct Menu {
    target: MenuTarget,
    /// Screen position it opened at.
    at: Pos2,
    /// World position it opened at (where "Add node here" puts the node).
    world: Pos2,
    /// Opened this frame.
    fresh: bool,
    /// The ports offered under "Connect to…", each with its valid targets once looked up.
    connect: Vec<(String, Option<Vec<String>>)>,
}

#[derive(Debug, Clone, PartialEq)]
enum MenuTarget {
    Node(String),
    Port(String, String),
    /// An index into `graph.edges`.
    Edge(usize),
    Background,
}

/// The name of a node being edited in place.
#[derive(Debug)]
pub(super) struct Rename {
    pub node: String,
    text: String,
    focused: bool,
}

/// A node or port event gathered while the widgets are registered.
enum NodeEvent {
    Click(usize),
    DoubleClick(usize),
    PortClick(usize, usize, Pos2),
}

impl CanvasState {
    /// Scroll to pan, Ctrl+scroll or pinch to zoom at the pointer.
    pub(super) fn navigate(&mut self, ui: &Ui, response: &Response) {
        if !response.contains_pointer() {
            return;
        }
        let (scroll, zoom, pointer, pinch) = ui.input(|i| {
            (
                i.smooth_scroll_delta,
                i.zoom_delta(),
                i.pointer.hover_pos(),
                i.multi_touch().is_some(),
            )
        });
        // A wheel notch would zoom by almost half; a pinch follows the fingers.
        let zoom = if pinch {
            zoom
        } else {
            zoom.powf(WHEEL_ZOOM_DAMPING)
        };
        if zoom != 1.0
            && let Some(p) = pointer
        {
            self.view.zoom_at(p, zoom);
        }
        if scroll != Vec2::ZERO {
            self.view.pan(scroll);
            ui.ctx().input_mut(|i| i.smooth_scroll_delta = Vec2::ZERO);
        }
    }

    /// Works out what the pointer is over.
    pub(super) fn update_hover(&mut self, ui: &Ui, response: &Response) {
        self.hover = Hover::None;
        if !matches!(self.drag, Drag::None) || !response.contains_pointer() {
            return;
        }
        let Some(p) = ui.input(|i| i.pointer.hover_pos()) else {
            return;
        };
        let w = self.view.screen_to_world(p);
        let z = self.view.zoom;
        let scene = &self.scene;
        self.hover = if let Some((n, port)) = scene
            .port_at(w, PORT_HIT / z)
            .filter(|_| self.view.lod() != Lod::Boxes)
        {
            Hover::Port(n, port)
        } else if let Some(n) = scene.node_at(w) {
            Hover::Node(n)
        } else if let Some(e) = scene.edge_at(w, EDGE_HIT / z) {
            Hover::Edge(e)
        } else {
            Hover::None
        };
    }

    /// Registers every visible node (and its ports) as a widget, for clicks and for
    /// accessibility: `node <id>` and `port <id>.<port>`.
    pub(super) fn node_widgets(
        &mut self,
        ui: &mut Ui,
        canvas: Id,
        doc: &mut Document,
        lod: Lod,
        palette: &Palette,
    ) {
        let mut events = Vec::new();
        let z = self.view.zoom;
        for &i in &self.visible {
            let node = &self.scene.nodes[i];
            let rect = self
                .view
                .rect_to_screen(node_rect(&self.scene, &self.drag, i));
            let response = ui.interact(
                rect,
                canvas.with(("node", node.id.as_str())),
                Sense::click(),
            );
            response.widget_info(|| {
                WidgetInfo::labeled(Role::Button, true, format!("node {}", node.id))
            });
            if response.double_clicked() {
                events.push(NodeEvent::DoubleClick(i));
            } else if response.clicked() {
                events.push(NodeEvent::Click(i));
            }
            if matches!(self.drag, Drag::None) && self.rename.is_none() {
                response.on_hover_ui(|ui| {
                    let kind = node.kind.map_or("unknown kind", NodeKind::as_str);
                    ui.horizontal(|ui| {
                        ui.strong(&node.id);
                        ui.weak(kind);
                    });
                    if !node.summary.is_empty() {
                        ui.label(&node.summary);
                    }
                    if let Some(process) = &node.process {
                        ui.weak(format!("runs in process '{process}'"));
                    }
                    if let Some((severity, text)) = &node.problem {
                        let color = match severity {
                            Severity::Error => palette.error,
                            Severity::Warning => palette.warning,
                        };
                        for line in text.lines() {
                            ui.colored_label(color, line);
                        }
                    }
                });
            }
            if lod == Lod::Boxes {
                continue;
            }
            let size = Vec2::splat((2.0 * PORT_RADIUS * z).max(2.0 * PORT_HIT));
            for (p, port) in node.ports.iter().enumerate() {
                let c = self.view.world_to_screen(node.port_pos(p));
                let rect = Rect::from_center_size(c, size);
                let id = canvas.with(("port", node.id.as_str(), p));
                let response = ui.interact(rect, id, Sense::click());
                response.widget_info(|| {
                    WidgetInfo::labeled(Role::Button, true, format!("port {}.{port}", node.id))
                });
                if response.clicked() {
                    events.push(NodeEvent::PortClick(i, p, c));
                }
                if matches!(self.drag, Drag::None) && response.hovered() {
                    response.on_hover_text(format!(
                        "Output '{port}': drag onto a node to connect, or click to pick a target"
                    ));
                }
            }
        }
        let modifiers = ui.input(|i| i.modifiers);
        for event in events {
            match event {
                NodeEvent::Click(i) => click_select(doc, &self.scene.nodes[i].id, modifiers),
                NodeEvent::DoubleClick(i) => self.start_rename(doc, i),
                NodeEvent::PortClick(i, p, at) => {
                    let node = &self.scene.nodes[i];
                    let target = MenuTarget::Port(node.id.clone(), node.ports[p].clone());
                    let world = self.view.screen_to_world(at);
                    self.open_menu(target, at, world);
                }
            }
        }
    }

    /// Clicks and drags that land on the canvas itself (not on a node widget).
    pub(super) fn background_input(
        &mut self,
        ui: &Ui,
        response: &Response,
        doc: &mut Document,
        commands: &mut Vec<AppCommand>,
        widgets: bool,
    ) {
        let modifiers = ui.input(|i| i.modifiers);
        let z = self.view.zoom;

        if response.clicked()
            && let Some(p) = response.interact_pointer_pos()
        {
            let w = self.view.screen_to_world(p);
            let node = if widgets { None } else { self.scene.node_at(w) };
            if let Some(i) = node {
                click_select(doc, &self.scene.nodes[i].id, modifiers);
            } else if let Some(e) = self.scene.edge_at(w, EDGE_HIT / z) {
                let index = self.scene.edges[e].index;
                if modifiers.shift || modifiers.command {
                    if !doc.selection.edges.remove(&index) {
                        doc.selection.edges.insert(index);
                    }
                } else {
                    doc.selection = Selection::default();
                    doc.selection.edges.insert(index);
                }
            } else if !(modifiers.shift || modifiers.command) {
                doc.selection.clear();
            }
        }

        if ui.input(|i| i.pointer.secondary_clicked())
            && response.contains_pointer()
            && let Some(p) = ui.input(|i| i.pointer.interact_pos())
        {
            let w = self.view.screen_to_world(p);
            let target = if let Some((n, port)) = self.scene.port_at(w, PORT_HIT / z) {
                let node = &self.scene.nodes[n];
                MenuTarget::Port(node.id.clone(), node.ports[port].clone())
            } else if let Some(n) = self.scene.node_at(w) {
                let id = self.scene.nodes[n].id.clone();
                if !doc.selection.nodes.contains(&id) {
                    doc.selection = Selection::only_node(&id);
                }
                MenuTarget::Node(id)
            } else if let Some(e) = self.scene.edge_at(w, EDGE_HIT / z) {
                let index = self.scene.edges[e].index;
                doc.selection = Selection::default();
                doc.selection.edges.insert(index);
                MenuTarget::Edge(index)
            } else {
                MenuTarget::Background
            };
            self.open_menu(target, p, w);
        }

        if response.drag_started() {
            self.start_drag(ui, response, doc, modifiers);
        }
        if response.dragged() && !matches!(self.drag, Drag::None) {
            if ui.input(|i| i.key_pressed(Key::Escape)) {
                self.cancel_drag(doc);
            } else {
                self.continue_drag(ui, response, doc);
            }
        }
        if response.drag_stopped() {
            self.finish_drag(doc, commands);
        }
    }

    fn start_drag(
        &mut self,
        ui: &Ui,
        response: &Response,
        doc: &mut Document,
        modifiers: Modifiers,
    ) {
        let Some(origin) = ui.input(|i| i.pointer.press_origin()) else {
            return;
        };
        let w = self.view.screen_to_world(origin);
        let z = self.view.zoom;
        if response.drag_started_by(PointerButton::Middle) {
            self.drag = Drag::Pan;
            return;
        }
        if !response.drag_started_by(PointerButton::Primary) {
            return;
        }
        let port = self
            .scene
            .port_at(w, PORT_HIT / z)
            .filter(|_| self.view.lod() != Lod::Boxes);
        self.drag = if let Some((from, port)) = port {
            Drag::Connect {
                from,
                port,
                pointer: w,
                target: None,
                problem: None,
            }
        } else if let Some(n) = self.scene.node_at(w) {
            let id = &self.scene.nodes[n].id;
            if !doc.selection.nodes.contains(id) {
                if modifiers.shift || modifiers.command {
                    doc.selection.nodes.insert(id.clone());
                } else {
                    doc.selection = Selection::only_node(id);
                }
            }
            let mut moving = vec![false; self.scene.nodes.len()];
            let nodes: Vec<usize> = doc
                .selection
                .nodes
                .iter()
                .filter_map(|id| self.scene.node_index(id))
                .collect();
            for &i in &nodes {
                moving[i] = true;
            }
            Drag::Move {
                nodes,
                moving,
                anchor: self.scene.nodes[n].rect.center(),
                travel: Vec2::ZERO,
            }
        } else if modifiers.shift {
            let base = if modifiers.command {
                doc.selection.nodes.clone()
            } else {
                BTreeSet::new()
            };
            Drag::Band {
                start: w,
                end: w,
                base,
            }
        } else {
            Drag::Pan
        };
    }

    fn continue_drag(&mut self, ui: &Ui, response: &Response, doc: &mut Document) {
        let delta = response.drag_delta();
        let pointer = ui
            .input(|i| i.pointer.interact_pos())
            .map(|p| self.view.screen_to_world(p));
        match &mut self.drag {
            Drag::None => {}
            Drag::Pan => {
                self.view.pan(delta);
                ui.ctx().set_cursor_icon(CursorIcon::Grabbing);
            }
            Drag::Move { travel, .. } => {
                *travel += delta / self.view.zoom;
                ui.ctx().set_cursor_icon(CursorIcon::Grabbing);
            }
            Drag::Band { start, end, base } => {
                if let Some(p) = pointer {
                    *end = p;
                }
                let band = Rect::from_two_pos(*start, *end);
                let mut nodes = base.clone();
                nodes.extend(
                    self.scene
                        .nodes
                        .iter()
                        .filter(|n| n.rect.intersects(band))
                        .map(|n| n.id.clone()),
                );
                doc.selection = Selection {
                    nodes,
                    edges: BTreeSet::new(),
                };
            }
            Drag::Connect {
                from,
                port,
                pointer: end,
                target,
                problem,
            } => {
                ui.ctx().set_cursor_icon(CursorIcon::Crosshair);
                if let Some(p) = pointer {
                    *end = p;
                }
                let over = self.scene.node_at(*end).filter(|n| n != from);
                if over != *target {
                    *target = over;
                    *problem = over.and_then(|to| {
                        let source = &self.scene.nodes[*from];
                        doc.connection_problem(
                            &source.id,
                            &source.ports[*port],
                            &self.scene.nodes[to].id,
                        )
                    });
                }
            }
        }
    }

    fn finish_drag(&mut self, doc: &mut Document, commands: &mut Vec<AppCommand>) {
        match std::mem::take(&mut self.drag) {
            Drag::None | Drag::Pan | Drag::Band { .. } => {}
            Drag::Move {
                nodes,
                anchor,
                travel,
                ..
            } => {
                let offset = snapped_offset(anchor, travel);
                if offset != Vec2::ZERO {
                    let moves: Vec<(usize, String, [f64; 2])> = nodes
                        .iter()
                        .map(|&i| {
                            let node = &self.scene.nodes[i];
                            (i, node.id.clone(), to_graph(node.rect.center() + offset))
                        })
                        .collect();
                    doc.edit("Move", None, |g| {
                        for (i, id, pos) in moves {
                            // Scene indices follow the graph's node order.
                            if let Some(node) = g.nodes.get_mut(i).filter(|n| n.id == id) {
                                node.pos = Some(pos);
                            }
                        }
                    });
                }
            }
            Drag::Connect {
                from,
                port,
                target: Some(to),
                ..
            } => {
                let source = &self.scene.nodes[from];
                let target = &self.scene.nodes[to];
                if let Err(reason) = doc.connect(&source.id, &source.ports[port], &target.id) {
                    commands.push(AppCommand::Status(format!(
                        "Cannot connect {} to {}: {reason}",
                        source.id, target.id
                    )));
                }
            }
            Drag::Connect { .. } => {}
        }
    }

    fn cancel_drag(&mut self, doc: &mut Document) {
        if let Drag::Band { base, .. } = &self.drag {
            doc.selection.nodes = base.clone();
        }
        self.drag = Drag::None;
    }

    /// A palette item dropped on the canvas becomes a node where it was dropped.
    pub(super) fn drop_from_palette(&mut self, response: &Response, doc: &mut Document) {
        if let Some(kind) = response.dnd_release_payload::<NodeKind>()
            && let Some(p) = response.ctx.pointer_interact_pos()
        {
            let w = self.view.screen_to_world(p);
            let snapped = pos2((w.x / SNAP).round() * SNAP, (w.y / SNAP).round() * SNAP);
            doc.add_node(*kind, to_graph(snapped));
        }
    }

    /// Rubber band, the edge being drawn, the palette item being dragged in, tooltips, cursor.
    pub(super) fn overlays(
        &mut self,
        ui: &Ui,
        painter: &Painter,
        response: &Response,
        palette: &Palette,
    ) {
        let view = &self.view;
        match &self.drag {
            Drag::Band { start, end, .. } => {
                let band =
                    Rect::from_two_pos(view.world_to_screen(*start), view.world_to_screen(*end));
                painter.rect(
                    band,
                    2.0,
                    palette.selection.gamma_multiply(0.08),
                    Stroke::new(1.0, palette.selection),
                    egui::StrokeKind::Inside,
                );
            }
            Drag::Connect {
                from,
                port,
                pointer,
                target,
                problem,
            } => {
                let source = &self.scene.nodes[*from];
                let start = node_rect(&self.scene, &self.drag, *from);
                let start = super::geometry::port_pos(start, *port, source.ports.len());
                let call = source
                    .kind
                    .is_some_and(|k| k.is_call_port(&source.ports[*port]));
                let (end, outline) = match target {
                    Some(to) => {
                        let rect = self.scene.nodes[*to].rect;
                        let color = if problem.is_some() {
                            palette.error
                        } else {
                            palette.ok
                        };
                        (rect.left_center(), Some((rect, color)))
                    }
                    None => (*pointer + vec2(super::geometry::ARROW_LENGTH, 0.0), None),
                };
                let color = match outline {
                    Some((_, color)) => color,
                    None => palette.edge_color(call),
                };
                let curve = edge_curve(start, end).map(|p| view.world_to_screen(p));
                let width = (1.5 * view.zoom).clamp(1.2, 3.0) + 0.5;
                draw::stroke_curve(
                    painter,
                    &curve,
                    Stroke::new(width, color),
                    call,
                    view.zoom,
                    view.lod(),
                );
                draw::arrow(painter, view, end, color);
                if let Some((rect, color)) = outline {
                    let r = view.rect_to_screen(rect).expand(3.0);
                    painter.rect_stroke(
                        r,
                        style::NODE_RADIUS * view.zoom + 3.0,
                        Stroke::new(2.0, color),
                        egui::StrokeKind::Outside,
                    );
                }
                if let Some(reason) = problem {
                    note(
                        painter,
                        palette,
                        view.world_to_screen(*pointer) + vec2(14.0, 14.0),
                        reason,
                        palette.error,
                    );
                }
            }
            Drag::None | Drag::Pan | Drag::Move { .. } => {}
        }

        if let Some(kind) = response.dnd_hover_payload::<NodeKind>()
            && let Some(p) = ui.input(|i| i.pointer.hover_pos())
        {
            draw::ghost(painter, view, palette, *kind, view.screen_to_world(p));
        }

        match self.hover {
            Hover::Port(..) => ui.ctx().set_cursor_icon(CursorIcon::Crosshair),
            Hover::Edge(e) => {
                ui.ctx().set_cursor_icon(CursorIcon::PointingHand);
                if let Some((severity, text)) = &self.scene.edges[e].problem
                    && let Some(p) = ui.input(|i| i.pointer.hover_pos())
                {
                    let color = match severity {
                        Severity::Error => palette.error,
                        Severity::Warning => palette.warning,
                    };
                    note(painter, palette, p + vec2(14.0, 14.0), text, color);
                }
            }
            Hover::None | Hover::Node(_) => {}
        }
    }

    fn open_menu(&mut self, target: MenuTarget, at: Pos2, world: Pos2) {
        // Targets are checked when their submenu first opens: that validates the graph once
        // per candidate.
        let ports = |id: &str| {
            self.scene
                .node(id)
                .map(|n| n.ports.iter().map(|p| (p.clone(), None)).collect())
                .unwrap_or_default()
        };
        let connect = match &target {
            MenuTarget::Node(id) => ports(id),
            MenuTarget::Port(_, port) => vec![(port.clone(), None)],
            MenuTarget::Edge(_) | MenuTarget::Background => Vec::new(),
        };
        self.menu = Some(Menu {
            target,
            at,
            world,
            fresh: true,
            connect,
        });
    }

    /// The open context menu, if any.
    pub(super) fn context_menu(
        &mut self,
        ui: &Ui,
        canvas: Id,
        doc: &mut Document,
        live_active: bool,
        commands: &mut Vec<AppCommand>,
    ) {
        let Some(menu) = &mut self.menu else { return };
        let open = if std::mem::take(&mut menu.fresh) {
            Some(SetOpenCommand::Bool(true))
        } else {
            None
        };
        let mut action = None;
        let shown = Popup::new(
            canvas.with("menu"),
            ui.ctx().clone(),
            PopupAnchor::Position(menu.at),
            ui.layer_id(),
        )
        .kind(PopupKind::Menu)
        .layout(Layout::top_down_justified(Align::Min))
        .style(menu_style)
        .close_behavior(PopupCloseBehavior::CloseOnClickOutside)
        .open_memory(open)
        .show(|ui| {
            action = menu_items(ui, menu, &self.scene, doc, live_active);
            if action.is_some() {
                ui.close();
            }
        });
        let world = menu.world;
        if shown.is_none() || action.is_some() {
            self.menu = None;
        }
        if let Some(action) = action {
            self.apply(action, doc, commands, world);
        }
    }

    fn apply(
        &mut self,
        action: MenuAction,
        doc: &mut Document,
        commands: &mut Vec<AppCommand>,
        world: Pos2,
    ) {
        match action {
            MenuAction::Rename(id) => {
                if let Some(i) = self.scene.node_index(&id) {
                    self.start_rename(doc, i);
                }
            }
            MenuAction::Duplicate(id) => {
                select_for_action(doc, &id);
                doc.duplicate_selection();
            }
            MenuAction::Delete(id) => {
                select_for_action(doc, &id);
                doc.delete_selection();
            }
            MenuAction::Copy(id) => {
                select_for_action(doc, &id);
                commands.push(AppCommand::Copy);
            }
            MenuAction::Connect { from, port, to } => {
                if let Err(reason) = doc.connect(&from, &port, &to) {
                    commands.push(AppCommand::Status(format!(
                        "Cannot connect {from} to {to}: {reason}"
                    )));
                }
            }
            MenuAction::Live(command) => commands.push(command),
            MenuAction::DeleteEdge(index) => {
                doc.selection = Selection::default();
                doc.selection.edges.insert(index);
                doc.delete_selection();
            }
            MenuAction::Add(kind) => {
                let snapped = pos2(
                    (world.x / SNAP).round() * SNAP,
                    (world.y / SNAP).round() * SNAP,
                );
                doc.add_node(kind, to_graph(snapped));
            }
            MenuAction::Fit => self.request_fit(),
            MenuAction::SelectAll => commands.push(AppCommand::SelectAll),
        }
    }

    /// Starts editing node `i`'s name in place.
    pub(super) fn start_rename(&mut self, doc: &Document, i: usize) {
        let Some(node) = self.scene.nodes.get(i) else {
            return;
        };
        let text = doc
            .node(&node.id)
            .map(|n| n.display_name().to_owned())
            .unwrap_or_default();
        self.rename = Some(Rename {
            node: node.id.clone(),
            text,
            focused: false,
        });
    }

    /// The text field over a node's name while it is renamed: Enter (or clicking elsewhere)
    /// keeps the new name, Escape drops it.
    pub(super) fn rename_ui(
        &mut self,
        ui: &mut Ui,
        canvas: Id,
        doc: &mut Document,
        palette: &Palette,
    ) {
        if self.rename.is_none()
            && doc.selection.single_node().is_some()
            && !ui.ctx().egui_wants_keyboard_input()
            && ui.input_mut(|i| i.consume_key(Modifiers::NONE, Key::F2))
            && let Some(i) = doc
                .selection
                .single_node()
                .and_then(|id| self.scene.node_index(id))
        {
            self.start_rename(doc, i);
        }
        let Some(rename) = &mut self.rename else {
            return;
        };
        let Some(i) = self.scene.node_index(&rename.node) else {
            self.rename = None;
            return;
        };
        let z = self.view.zoom.max(0.75);
        let r = self
            .view
            .rect_to_screen(node_rect(&self.scene, &self.drag, i));
        let left = r.left() + style::TEXT_LEFT * self.view.zoom;
        let height = style::TITLE_SIZE * z + 8.0;
        let field = Rect::from_min_max(
            pos2(left - 4.0, r.center().y - height / 2.0),
            pos2(
                r.right().max(left + 120.0) - 6.0,
                r.center().y + height / 2.0,
            ),
        );
        let caption_rect =
            Rect::from_min_size(field.left_top() - vec2(0.0, 17.0), vec2(204.0, 15.0));
        let caption = ui.put(caption_rect, |ui: &mut Ui| {
            egui::Frame::new()
                .fill(palette.label_fill)
                .inner_margin(egui::Margin::symmetric(4, 1))
                .corner_radius(3)
                .show(ui, |ui| {
                    ui.label(
                        egui::RichText::new("Name · Enter to keep, Esc to cancel")
                            .small()
                            .color(palette.text_weak),
                    )
                })
                .inner
        });
        let field_id = canvas.with("rename");
        let response = ui
            .put(
                field,
                egui::TextEdit::singleline(&mut rename.text)
                    .id(field_id)
                    .font(FontId::proportional(style::TITLE_SIZE * z))
                    .margin(vec2(4.0, 2.0)),
            )
            .labelled_by(caption.id);
        if !rename.focused {
            // Start with the whole name selected, so typing replaces it.
            response.request_focus();
            let mut state =
                egui::text_edit::TextEditState::load(ui.ctx(), field_id).unwrap_or_default();
            state
                .cursor
                .set_char_range(Some(egui::text_selection::CCursorRange::select_all_str(
                    &rename.text,
                )));
            state.store(ui.ctx(), field_id);
            rename.focused = true;
        }
        let escape = ui.input(|i| i.key_pressed(Key::Escape));
        if escape {
            self.rename = None;
        } else if response.lost_focus() {
            let text = rename.text.trim().to_owned();
            let id = rename.node.clone();
            self.rename = None;
            let current = doc.node(&id).map(|n| n.display_name().to_owned());
            if current.as_deref() != Some(text.as_str()) {
                let label = (!text.is_empty() && text != id).then_some(text);
                doc.set_label(&id, label);
                doc.seal();
            }
        }
    }
}

/// Click on a node: select it alone, or with Shift/Ctrl add or remove it.
fn click_select(doc: &mut Document, id: &str, modifiers: Modifiers) {
    if modifiers.shift || modifiers.command {
        if !doc.selection.nodes.remove(id) {
            doc.selection.nodes.insert(id.to_owned());
        }
    } else {
        doc.selection = Selection::only_node(id);
    }
}

/// A menu command on a node acts on the selection when the node is part of it, else on the
/// node alone.
fn select_for_action(doc: &mut Document, id: &str) {
    if !doc.selection.nodes.contains(id) {
        doc.selection = Selection::only_node(id);
    }
}

/// A short message in a box at `at` (screen), for refused connections and edge problems.
fn note(painter: &Painter, palette: &Palette, at: Pos2, text: &str, color: Color32) {
    let galley = painter.layout(text.to_owned(), FontId::proportional(12.0), color, 320.0);
    let mut rect = Rect::from_min_size(at, galley.size()).expand(6.0);
    // Keep it on the canvas.
    let clip = painter.clip_rect();
    let overflow = (rect.max - clip.max).max(Vec2::ZERO);
    rect = rect.translate(-overflow);
    painter.rect(
        rect,
        4.0,
        palette.node_fill,
        Stroke::new(1.0, color),
        egui::StrokeKind::Inside,
    );
    painter.galley(rect.min + vec2(6.0, 6.0), galley, color);
}

/// What a context menu item asks for.
enum MenuAction {
    Rename(String),
    Duplicate(String),
    Delete(String),
    Copy(String),
    Connect {
        from: String,
        port: String,
        to: String,
    },
    DeleteEdge(usize),
    Add(NodeKind),
    Fit,
    SelectAll,
    /// A command for the live run (fault injection, replay).
    Live(AppCommand),
}

/// While the graph runs: inject a fault into the node, clear its faults, and for an event
/// log replay a consumer from the start.
fn live_menu(ui: &mut Ui, id: &str, doc: &Document, action: &mut Option<MenuAction>) {
    use flowbench_engine::model::FaultKind;
    ui.menu_button("Inject fault", |ui| {
        for (kind, label) in [
            (FaultKind::Fail, "fail (every call and message)"),
            (FaultKind::Slow, "slow (service time × 2)"),
            (FaultKind::Crash, "crash"),
            (FaultKind::Stop, "stop (takes nothing new)"),
        ] {
            if ui.button(label).clicked() {
                *action = Some(MenuAction::Live(AppCommand::LiveFault {
                    node: id.to_owned(),
                    kind: Some(kind),
                }));
            }
        }
    });
    if ui.button("Clear faults").clicked() {
        *action = Some(MenuAction::Live(AppCommand::LiveFault {
            node: id.to_owned(),
            kind: None,
        }));
    }
    if doc.node(id).and_then(|n| n.kind()) == Some(NodeKind::EventLog) {
        ui.menu_button("Replay from start", |ui| {
            let consumers = doc.graph.edges_from(id).map(|(_, e)| e.to.clone());
            for consumer in consumers.map(Some).chain([None]) {
                let label = consumer
                    .clone()
                    .unwrap_or_else(|| "every consumer".to_owned());
                if ui.button(label).clicked() {
                    *action = Some(MenuAction::Live(AppCommand::LiveReplay {
                        log: id.to_owned(),
                        consumer,
                    }));
                }
            }
        });
    }
}

fn menu_items(
    ui: &mut Ui,
    menu: &mut Menu,
    scene: &Scene,
    doc: &Document,
    live_active: bool,
) -> Option<MenuAction> {
    let mut action = None;
    match &menu.target {
        MenuTarget::Node(id) => {
            if ui
                .add(egui::Button::new("Rename").shortcut_text("F2"))
                .clicked()
            {
                action = Some(MenuAction::Rename(id.clone()));
            }
            if ui
                .add(egui::Button::new("Duplicate").shortcut_text("Ctrl+D"))
                .clicked()
            {
                action = Some(MenuAction::Duplicate(id.clone()));
            }
            if ui
                .add(egui::Button::new("Copy").shortcut_text("Ctrl+C"))
                .clicked()
            {
                action = Some(MenuAction::Copy(id.clone()));
            }
            if ui
                .add(egui::Button::new("Delete").shortcut_text("Del"))
                .clicked()
            {
                action = Some(MenuAction::Delete(id.clone()));
            }
            ui.separator();
            connect_menu(ui, id, &mut menu.connect, scene, doc, &mut action);
            if live_active {
                ui.separator();
                live_menu(ui, id, doc, &mut action);
            }
        }
        MenuTarget::Port(id, _) => {
            connect_menu(ui, id, &mut menu.connect, scene, doc, &mut action);
        }
        MenuTarget::Edge(index) => {
            if ui
                .add(egui::Button::new("Delete edge").shortcut_text("Del"))
                .clicked()
            {
                action = Some(MenuAction::DeleteEdge(*index));
            }
        }
        MenuTarget::Background => {
            ui.menu_button("Add node here", |ui| {
                for (n, family) in Family::ALL.into_iter().enumerate() {
                    if n > 0 {
                        ui.separator();
                    }
                    ui.label(egui::RichText::new(family.name()).small().weak());
                    for kind in family.kinds() {
                        if ui.button(kind.as_str()).clicked() {
                            action = Some(MenuAction::Add(kind));
                        }
                    }
                }
            });
            if ui
                .add(egui::Button::new("Fit graph").shortcut_text("F"))
                .clicked()
            {
                action = Some(MenuAction::Fit);
            }
            if ui
                .add(egui::Button::new("Select all").shortcut_text("Ctrl+A"))
                .clicked()
            {
                action = Some(MenuAction::SelectAll);
            }
        }
    }
    action
}

/// "Connect to…": the valid targets, under one submenu per port when there are several.
fn connect_menu(
    ui: &mut Ui,
    id: &str,
    ports: &mut [(String, Option<Vec<String>>)],
    scene: &Scene,
    doc: &Document,
    action: &mut Option<MenuAction>,
) {
    let mut targets = |ui: &mut Ui, port: &str, found: &mut Option<Vec<String>>| {
        let targets = found.get_or_insert_with(|| valid_targets(scene, doc, id, port));
        if targets.is_empty() {
            ui.weak("no valid target");
        }
        for to in targets.iter() {
            if ui.button(to).clicked() {
                *action = Some(MenuAction::Connect {
                    from: id.to_owned(),
                    port: port.to_owned(),
                    to: to.clone(),
                });
            }
        }
    };
    match ports {
        [] => {
            ui.add_enabled(false, egui::Button::new("Connect to…"));
        }
        [(port, found)] if port == "out" => {
            ui.menu_button("Connect to…", |ui| targets(ui, port, found));
        }
        [(port, found)] => {
            ui.menu_button(format!("Connect '{port}' to…"), |ui| {
                targets(ui, port, found)
            });
        }
        many => {
            ui.menu_button("Connect to…", |ui| {
                for (port, found) in many.iter_mut() {
                    ui.menu_button(format!("from '{port}'"), |ui| targets(ui, port, found));
                }
            });
        }
    }
}

/// Nodes an edge from `id`'s output `port` may go to, nearest first. Only the nearest few
/// that can take such an edge at all are checked with the full validation.
fn valid_targets(scene: &Scene, doc: &Document, id: &str, port: &str) -> Vec<String> {
    let Some(source) = scene.node(id) else {
        return Vec::new();
    };
    let Some(kind) = source.kind else {
        return Vec::new();
    };
    let call = kind.is_call_port(port);
    let centre = source.rect.center();
    let mut candidates: Vec<(f32, &str)> = scene
        .nodes
        .iter()
        .filter(|n| n.id != id)
        .filter(|n| {
            n.kind.is_some_and(|k| {
                if call {
                    k.is_callable()
                } else {
                    k.accepts_messages()
                }
            })
        })
        .map(|n| (n.rect.center().distance_sq(centre), n.id.as_str()))
        .collect();
    candidates.sort_by(|a, b| a.0.total_cmp(&b.0));
    candidates
        .into_iter()
        .take(CONNECT_CANDIDATES)
        .filter(|(_, to)| doc.connection_problem(id, port, to).is_none())
        .map(|(_, to)| to.to_owned())
        .collect()
}
