//! The world↔screen transform: where the canvas looks, how far it is zoomed, and how much
//! detail that zoom can show.

use egui::{Pos2, Rect, Vec2, pos2};

pub const MIN_ZOOM: f32 = 0.1;
pub const MAX_ZOOM: f32 = 4.0;
/// Fitting never magnifies more than this, so that a small graph is not blown up.
const FIT_MAX_ZOOM: f32 = 1.0;

/// The canvas's camera: the world point at the centre of `rect`, and the zoom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct View {
    /// The canvas on screen.
    pub rect: Rect,
    /// The world position at the centre of `rect`.
    pub center: Pos2,
    /// Screen points per world unit.
    pub zoom: f32,
}

impl Default for View {
    fn default() -> Self {
        View {
            rect: Rect::from_min_size(Pos2::ZERO, Vec2::splat(100.0)),
            center: Pos2::ZERO,
            zoom: 1.0,
        }
    }
}

impl View {
    pub fn world_to_screen(&self, p: Pos2) -> Pos2 {
        self.rect.center() + (p - self.center) * self.zoom
    }

    pub fn screen_to_world(&self, p: Pos2) -> Pos2 {
        self.center + (p - self.rect.center()) / self.zoom
    }

    pub fn rect_to_screen(&self, r: Rect) -> Rect {
        Rect::from_min_max(self.world_to_screen(r.min), self.world_to_screen(r.max))
    }

    /// The part of the world on screen.
    pub fn visible_world(&self) -> Rect {
        Rect::from_min_max(
            self.screen_to_world(self.rect.min),
            self.screen_to_world(self.rect.max),
        )
    }

    /// Moves the view so that the content follows a drag of `screen_delta`.
    pub fn pan(&mut self, screen_delta: Vec2) {
        self.center -= screen_delta / self.zoom;
    }

    /// Zooms by `factor`, keeping the world point under `screen` where it is.
    pub fn zoom_at(&mut self, screen: Pos2, factor: f32) {
        let anchor = self.screen_to_world(screen);
        self.zoom = (self.zoom * factor).clamp(MIN_ZOOM, MAX_ZOOM);
        self.center = anchor - (screen - self.rect.center()) / self.zoom;
    }

    /// Shows all of `bounds` (world), with `margin` screen points around it.
    pub fn fit(&mut self, bounds: Rect, margin: f32) {
        let room = (self.rect.size() - Vec2::splat(2.0 * margin)).max(Vec2::splat(1.0));
        let size = bounds.size().max(Vec2::splat(1.0));
        self.zoom = (room.x / size.x)
            .min(room.y / size.y)
            .clamp(MIN_ZOOM, FIT_MAX_ZOOM);
        self.center = bounds.center();
    }

    pub fn center_on(&mut self, world: Pos2) {
        self.center = world;
    }

    /// How much detail this zoom can show.
    pub fn lod(&self) -> Lod {
        Lod::for_zoom(self.zoom)
    }
}

/// Level of detail: what is drawn at a zoom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lod {
    /// Far out: plain boxes in the kind's colour and thin edges, no text.
    Boxes,
    /// Icons and names, no config line or port names.
    Compact,
    /// Everything.
    Full,
}

impl Lod {
    /// Below this zoom, names would be smaller than about 5 points.
    pub const COMPACT_FROM: f32 = 0.4;
    /// From this zoom the config line and port names are readable (about 7 points).
    pub const FULL_FROM: f32 = 0.65;

    pub fn for_zoom(zoom: f32) -> Lod {
        if zoom < Lod::COMPACT_FROM {
            Lod::Boxes
        } else if zoom < Lod::FULL_FROM {
            Lod::Compact
        } else {
            Lod::Full
        }
    }
}

/// `p` as an `[x, y]` world position of the graph file.
pub fn to_graph(p: Pos2) -> [f64; 2] {
    [f64::from(p.x), f64::from(p.y)]
}

pub fn from_graph(p: [f64; 2]) -> Pos2 {
    pos2(p[0] as f32, p[1] as f32)
}

#[cfg(test)]
mod tests {
    use egui::vec2;

    use super::*;

    fn view() -> View {
        View {
            rect: Rect::from_min_size(pos2(100.0, 50.0), vec2(800.0, 600.0)),
            center: pos2(40.0, -20.0),
            zoom: 1.5,
        }
    }

    /// Screen and world coordinates convert back and forth.
    #[test]
    fn round_trip() {
        let v = view();
        let p = pos2(123.0, 456.0);
        let back = v.screen_to_world(v.world_to_screen(p));
        assert!((back - p).length() < 1e-3);
        assert_eq!(v.world_to_screen(v.center), v.rect.center());
    }

    /// Zooming at the cursor keeps the point under the cursor fixed, and the zoom stays in
    /// its limits.
    #[test]
    fn zoom_to_cursor_keeps_the_point_under_the_cursor() {
        let mut v = view();
        let cursor = pos2(730.0, 120.0);
        let under = v.screen_to_world(cursor);
        for factor in [1.25, 0.5, 3.0, 0.01, 100.0] {
            v.zoom_at(cursor, factor);
            assert!(
                (v.world_to_screen(under) - cursor).length() < 1e-2,
                "{factor}"
            );
            assert!((MIN_ZOOM..=MAX_ZOOM).contains(&v.zoom));
        }
        assert_eq!(v.zoom, MAX_ZOOM);
    }

    /// Panning moves the content with the drag.
    #[test]
    fn pan_follows_the_drag() {
        let mut v = view();
        let p = pos2(10.0, 10.0);
        let before = v.world_to_screen(p);
        v.pan(vec2(30.0, -12.0));
        assert!((v.world_to_screen(p) - (before + vec2(30.0, -12.0))).length() < 1e-3);
    }

    /// Fitting shows the whole box with its margin and does not blow up small graphs.
    #[test]
    fn fit_shows_everything() {
        let mut v = view();
        let bounds = Rect::from_min_max(pos2(-1000.0, 0.0), pos2(3000.0, 500.0));
        v.fit(bounds, 40.0);
        let on_screen = v.rect_to_screen(bounds);
        assert!(
            v.rect.shrink(39.0).contains_rect(on_screen),
            "{on_screen:?}"
        );
        assert!((on_screen.width() - 720.0).abs() < 1.0);
        v.fit(Rect::from_min_size(Pos2::ZERO, vec2(100.0, 50.0)), 40.0);
        assert_eq!(v.zoom, 1.0);
    }

    /// Zooming out switches to less detail at the set thresholds.
    #[test]
    fn lod_switch() {
        assert_eq!(Lod::for_zoom(0.1), Lod::Boxes);
        assert_eq!(Lod::for_zoom(0.39), Lod::Boxes);
        assert_eq!(Lod::for_zoom(0.4), Lod::Compact);
        assert_eq!(Lod::for_zoom(0.6), Lod::Compact);
        assert_eq!(Lod::for_zoom(0.65), Lod::Full);
        assert_eq!(Lod::for_zoom(4.0), Lod::Full);
    }
}
