//! The canvas: the graph drawn with egui's painter under our own pan/zoom transform.
//!
//! - [`view`]: the world↔screen transform and the level of detail a zoom shows.
//! - [`geometry`]: node boxes, ports, edge curves and hit tests, in world coordinates.
//! - [`draw`]: painting, culled to what is on screen; [`interact`]: selection, dragging,
//!   connecting, menus, renaming in place.
//! - [`svg`] and [`export`]: the graph as an SVG file and as a PNG of the canvas.
//! - [`minimap`]: the overview in the corner while the graph does not fit.
//!
//! Only what is on screen is drawn and registered as a widget, so the cost of a frame follows
//! the visible part of the graph; the scene (boxes, summaries, diagnostics) is rebuilt only
//! when the document changes.

mod draw;
pub mod export;
pub mod geometry;
mod icons;
mod interact;
mod minimap;
pub mod style;
pub mod summary;
pub mod svg;
pub mod view;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use egui::{Pos2, Rect, Sense, Vec2};

use self::draw::TextCache;
use self::export::Capture;
use self::geometry::Scene;
use self::interact::{Drag, Hover, Menu, Rename};
use self::style::Palette;
use self::view::{Lod, View, from_graph, to_graph};
use crate::ui::document::DocStamp;
use crate::ui::live::{LiveSession, overlay};
use crate::ui::{AppCommand, Document};

pub use self::export::encode_png;
pub use self::svg::export_svg;

/// Screen margin around the graph when fitting it into view.
const FIT_MARGIN: f32 = 40.0;
/// Beyond this many visible nodes (far zoomed out) nodes are hit-tested by the canvas itself
/// instead of each being registered as a widget.
const MAX_NODE_WIDGETS: usize = 2000;

/// View state of the canvas: where it looks, what a drag is doing, and caches of what it
/// draws.
pub struct CanvasState {
    view: View,
    fit_requested: bool,
    /// A node to centre on once the scene knows where it is.
    focus_node: Option<String>,
    scene: Scene,
    /// Identifies the document state the scene was built from.
    scene_key: Option<SceneKey>,
    texts: TextCache,
    drag: Drag,
    hover: Hover,
    menu: Option<Menu>,
    rename: Option<Rename>,
    capture: Capture,
    /// Indices of the nodes on screen this frame (kept to reuse its allocation).
    visible: Vec<usize>,
    minimap: minimap::Minimap,
}

impl Default for CanvasState {
    fn default() -> Self {
        CanvasState {
            view: View::default(),
            fit_requested: false,
            focus_node: None,
            scene: Scene::default(),
            scene_key: None,
            texts: TextCache::default(),
            drag: Drag::None,
            hover: Hover::None,
            menu: None,
            rename: None,
            capture: Capture::default(),
            visible: Vec::new(),
            minimap: minimap::Minimap::default(),
        }
    }
}

/// What the scene was built from: the document and its revision.
type SceneKey = DocStamp;

impl CanvasState {
    /// Fit the whole graph into the view on the next frame.
    pub fn request_fit(&mut self) {
        self.fit_requested = true;
    }

    /// Centre the view on a world position.
    pub fn focus_on(&mut self, pos: [f64; 2]) {
        self.view.center_on(from_graph(pos));
    }

    /// Centre the view on node `id` on the next frame (also when it has no `pos` of its own),
    /// zooming in to 100 % when the zoom is too far out to show its details.
    pub fn focus_node(&mut self, id: &str) {
        self.focus_node = Some(id.to_owned());
    }

    pub fn zoom(&self) -> f32 {
        self.view.zoom
    }

    pub fn minimap_hidden(&self) -> bool {
        self.minimap.hidden
    }

    pub fn set_minimap_hidden(&mut self, hidden: bool) {
        self.minimap.hidden = hidden;
    }

    /// Where the minimap is on screen, as of the last frame (none while the graph fits).
    pub fn minimap_rect(&self) -> Option<Rect> {
        self.minimap
            .placement(&self.view, &self.scene)
            .map(|p| p.rect)
    }

    /// World position at the centre of the view (where a clicked palette item lands).
    pub fn view_center(&self) -> [f64; 2] {
        to_graph(self.view.center)
    }

    /// The canvas on screen, as of the last frame.
    pub fn rect(&self) -> Rect {
        self.view.rect
    }

    /// Where a world position is on screen (as of the last frame's view).
    pub fn world_to_screen(&self, pos: [f64; 2]) -> Pos2 {
        self.view.world_to_screen(from_graph(pos))
    }

    /// The world position under a screen position.
    pub fn screen_to_world(&self, pos: Pos2) -> [f64; 2] {
        to_graph(self.view.screen_to_world(pos))
    }

    /// The centre of node `id` on screen, as drawn in the last frame.
    pub fn screen_pos_of_node(&self, id: &str) -> Option<Pos2> {
        let node = self.scene.node(id)?;
        Some(self.view.world_to_screen(node.rect.center()))
    }

    /// The handle of output port `port` of node `id` on screen, as drawn in the last frame.
    pub fn screen_pos_of_port(&self, id: &str, port: &str) -> Option<Pos2> {
        let node = self.scene.node(id)?;
        let i = node.ports.iter().position(|p| p == port)?;
        Some(self.view.world_to_screen(node.port_pos(i)))
    }

    /// The centre of node `id` in the world, also for a node placed automatically.
    pub fn node_center(&self, id: &str) -> Option<[f64; 2]> {
        self.scene.node(id).map(|n| to_graph(n.rect.center()))
    }

    /// Starts a PNG capture of the whole graph: the next frames fit the graph into the canvas,
    /// draw it without selection or grid, and grab the pixels. Poll [`Self::take_screenshot`].
    pub fn request_screenshot(&mut self) {
        self.capture.request();
    }

    /// The finished PNG capture (RGBA, the canvas area only), once.
    pub fn take_screenshot(&mut self) -> Option<egui::ColorImage> {
        self.capture.take()
    }

    /// Whether a capture is under way.
    pub fn screenshot_pending(&self) -> bool {
        self.capture.pending()
    }

    pub fn ui(
        &mut self,
        ui: &mut egui::Ui,
        doc: &mut Document,
        live: Option<&LiveSession>,
        commands: &mut Vec<AppCommand>,
    ) {
        icons::install(ui.ctx());
        let (id, rect) = ui.allocate_space(ui.available_size());
        let response = ui.interact(rect, id, Sense::click_and_drag());
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "canvas"));
        self.view.rect = rect;
        self.refresh_scene(doc);

        let clean = self
            .capture
            .begin_frame(ui.ctx(), &mut self.view, &self.scene, commands);
        if self.fit_requested {
            self.fit();
        }
        if let Some(id) = self.focus_node.take()
            && let Some(node) = self.scene.node(&id)
        {
            // Zoomed out too far to read names and configs, the view comes in to 100 %.
            if self.view.lod() != Lod::Full {
                self.view.zoom = 1.0;
            }
            self.view.center_on(node.rect.center());
        }
        if !clean {
            self.navigate(ui, &response);
        }

        self.collect_visible();
        let palette = Palette::new(ui.visuals().dark_mode);
        let lod = self.view.lod();
        if !clean {
            let widgets = self.visible.len() <= MAX_NODE_WIDGETS;
            self.update_hover(ui, &response);
            if widgets {
                self.node_widgets(ui, id, doc, lod, &palette);
            }
            self.background_input(ui, &response, doc, commands, widgets);
            self.drop_from_palette(&response, doc);
        }

        let painter = ui.painter_at(rect);
        let selection = if clean {
            &EMPTY_SELECTION
        } else {
            &doc.selection
        };
        draw::paint(draw::Frame {
            painter: &painter,
            view: &self.view,
            palette: &palette,
            lod,
            scene: &self.scene,
            visible: &self.visible,
            selection,
            hover: if clean { Hover::None } else { self.hover },
            drag: &self.drag,
            renaming: self
                .rename
                .as_ref()
                .and_then(|r| self.scene.node_index(&r.node)),
            clean,
            texts: &mut self.texts,
            live: if clean { None } else { live },
            time: ui.input(|i| i.time),
        });
        if !clean && let Some(live) = live.filter(|l| l.is_active()) {
            self.broker_badges(ui, id, &painter, live);
        }
        if !clean {
            self.overlays(ui, &painter, &response, &palette);
            let live_active = live.is_some_and(LiveSession::is_active);
            self.context_menu(ui, id, doc, live_active, commands);
            self.rename_ui(ui, id, doc, &palette);
            let before = self.view.center;
            self.minimap
                .ui(ui, id, doc.stamp(), &mut self.view, &self.scene, &palette);
            if self.view.center != before {
                ui.ctx().request_repaint();
            }
        }
        self.capture.end_frame(ui.ctx(), rect);
    }

    /// The broker badges of the visible broker-backed channels tell their connection on hover.
    fn broker_badges(
        &self,
        ui: &egui::Ui,
        canvas: egui::Id,
        painter: &egui::Painter,
        live: &LiveSession,
    ) {
        for &i in &self.visible {
            let node = &self.scene.nodes[i];
            if let Some(broker) = live.broker_report(&node.id) {
                let rect = self
                    .view
                    .rect_to_screen(draw::node_rect(&self.scene, &self.drag, i));
                overlay::broker_badge_hover(
                    ui,
                    canvas,
                    painter,
                    rect,
                    &node.id,
                    broker,
                    self.view.zoom,
                );
            }
        }
    }

    /// Rebuilds the scene when the document changed; a newly opened document is fitted.
    fn refresh_scene(&mut self, doc: &Document) {
        let key = doc.stamp();
        if self.scene_key == Some(key) {
            return;
        }
        let replaced = self.scene_key.is_none_or(|old| !old.same_document(&key));
        self.scene = Scene::build(&doc.graph, &doc.diagnostics);
        self.scene_key = Some(key);
        self.texts.clear();
        if replaced {
            // Another document: what the view and the gestures pointed at is gone.
            self.drag = Drag::None;
            self.menu = None;
            self.rename = None;
            if !self.scene.nodes.is_empty() {
                self.fit_requested = true;
            }
        } else {
            self.drag.forget_indices();
        }
    }

    fn fit(&mut self) {
        // An empty graph has nothing to fit; keep the request for when it gets nodes.
        if let Some(bounds) = self.scene.bounds() {
            self.view.fit(bounds, FIT_MARGIN);
            self.fit_requested = false;
        }
    }

    /// Fills `self.visible` with the nodes whose boxes reach into the view.
    fn collect_visible(&mut self) {
        let world = self.view.visible_world();
        self.visible.clear();
        let offset = self.drag.move_offset();
        for (i, node) in self.scene.nodes.iter().enumerate() {
            let mut rect = node.rect;
            if let Some((moving, delta)) = offset
                && moving.get(i).copied().unwrap_or(false)
            {
                rect = rect.translate(delta);
            }
            // Port names stick out on the right.
            if rect.expand2(Vec2::new(60.0, 4.0)).intersects(world) {
                self.visible.push(i);
            }
        }
    }
}

/// Nothing selected: how a capture draws.
static EMPTY_SELECTION: crate::ui::Selection = crate::ui::Selection {
    nodes: BTreeSet::new(),
    edges: BTreeSet::new(),
};
