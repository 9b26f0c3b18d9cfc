//! The canvas's colours and type sizes, for light and dark themes. Each node kind belongs to a
//! family (endpoints, channels, processing, resilience & calls) with its own accent colour.

use egui::Color32;
use flowbench_engine::NodeKind;

/// Type sizes in world units (scaled by the zoom on screen).
pub const TITLE_SIZE: f32 = 13.0;
pub const SUMMARY_SIZE: f32 = 11.0;
/// How much smaller than its size a node's name or summary may be set to fit in its box.
pub const SMALLEST_FIT: f32 = 0.85;
pub const SMALL_SIZE: f32 = 10.0;
/// Corner radius of a node box.
pub const NODE_RADIUS: f32 = 8.0;
/// The icon tile at a node's left.
pub const TILE_SIZE: f32 = 30.0;
pub const TILE_MARGIN: f32 = 10.0;
pub const ICON_SIZE: f32 = 18.0;
/// Where a node's text starts, from its left edge.
pub const TEXT_LEFT: f32 = TILE_MARGIN + TILE_SIZE + 10.0;
/// Space kept free right of a node's text.
pub const TEXT_RIGHT: f32 = 12.0;

/// A group of node kinds that share an accent colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Endpoints,
    Channels,
    Processing,
    Resilience,
}

impl Family {
    pub const ALL: [Family; 4] = [
        Family::Endpoints,
        Family::Channels,
        Family::Processing,
        Family::Resilience,
    ];

    pub fn of(kind: NodeKind) -> Family {
        match kind {
            NodeKind::Producer | NodeKind::Client | NodeKind::Sink => Family::Endpoints,
            NodeKind::Queue | NodeKind::Topic | NodeKind::EventLog => Family::Channels,
            NodeKind::Service | NodeKind::Router | NodeKind::Projector => Family::Processing,
            NodeKind::Breaker | NodeKind::Gateway | NodeKind::Saga => Family::Resilience,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::Endpoints => "Endpoints",
            Family::Channels => "Channels",
            Family::Processing => "Processing",
            Family::Resilience => "Resilience & calls",
        }
    }

    /// The kinds of the family, in palette order.
    pub fn kinds(self) -> impl Iterator<Item = NodeKind> {
        NodeKind::ALL
            .into_iter()
            .filter(move |&k| Family::of(k) == self)
    }
}

/// Every colour the canvas uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Palette {
    pub dark: bool,
    pub background: Color32,
    pub grid: Color32,
    pub grid_major: Color32,
    pub node_fill: Color32,
    pub node_border: Color32,
    pub node_border_hover: Color32,
    pub shadow: Color32,
    pub text: Color32,
    pub text_weak: Color32,
    pub edge: Color32,
    pub call: Color32,
    pub selection: Color32,
    pub error: Color32,
    pub warning: Color32,
    pub ok: Color32,
    /// Background of edge labels.
    pub label_fill: Color32,
    endpoints: Color32,
    channels: Color32,
    processing: Color32,
    resilience: Color32,
    unknown: Color32,
}

const fn hex(rgb: u32) -> Color32 {
    Color32::from_rgb((rgb >> 16) as u8, (rgb >> 8) as u8, rgb as u8)
}

impl Palette {
    pub const LIGHT: Palette = Palette {
        dark: false,
        background: hex(0xF5F6F8),
        grid: hex(0xD9DDE3),
        grid_major: hex(0xC2C8D0),
        node_fill: hex(0xFFFFFF),
        node_border: hex(0xD3D8DF),
        node_border_hover: hex(0x9AA4B2),
        shadow: Color32::from_rgba_premultiplied(0, 0, 0, 22),
        text: hex(0x1E293B),
        text_weak: hex(0x64748B),
        edge: hex(0x8A94A3),
        call: hex(0xDB2777),
        selection: hex(0x2563EB),
        error: hex(0xDC2626),
        warning: hex(0xD97706),
        ok: hex(0x16A34A),
        label_fill: hex(0xF5F6F8),
        endpoints: hex(0x059669),
        channels: hex(0x7C3AED),
        processing: hex(0x0891B2),
        resilience: hex(0xDB2777),
        unknown: hex(0x64748B),
    };

    pub const DARK: Palette = Palette {
        dark: true,
        background: hex(0x18191C),
        grid: hex(0x2C2F35),
        grid_major: hex(0x3A3E46),
        node_fill: hex(0x25272C),
        node_border: hex(0x3A3D44),
        node_border_hover: hex(0x6B7280),
        shadow: Color32::from_rgba_premultiplied(0, 0, 0, 90),
        text: hex(0xE5E7EB),
        text_weak: hex(0x9CA3AF),
        edge: hex(0x7C8593),
        call: hex(0xF472B6),
        selection: hex(0x60A5FA),
        error: hex(0xF87171),
        warning: hex(0xFBBF24),
        ok: hex(0x4ADE80),
        label_fill: hex(0x18191C),
        endpoints: hex(0x34D399),
        channels: hex(0xA78BFA),
        processing: hex(0x22D3EE),
        resilience: hex(0xF472B6),
        unknown: hex(0x9CA3AF),
    };

    pub fn new(dark: bool) -> Palette {
        if dark { Palette::DARK } else { Palette::LIGHT }
    }

    /// The accent colour of a kind (grey for an unknown kind).
    pub fn accent(&self, kind: Option<NodeKind>) -> Color32 {
        match kind.map(Family::of) {
            Some(Family::Endpoints) => self.endpoints,
            Some(Family::Channels) => self.channels,
            Some(Family::Processing) => self.processing,
            Some(Family::Resilience) => self.resilience,
            None => self.unknown,
        }
    }

    /// The soft fill behind a kind's icon.
    pub fn accent_soft(&self, kind: Option<NodeKind>) -> Color32 {
        let share = if self.dark { 0.20 } else { 0.12 };
        mix(self.node_fill, self.accent(kind), share)
    }

    /// A node box when zoomed far out: the accent, toned down.
    pub fn accent_box(&self, kind: Option<NodeKind>) -> Color32 {
        let share = if self.dark { 0.45 } else { 0.35 };
        mix(self.node_fill, self.accent(kind), share)
    }

    /// Colour of an edge: calls in the call colour, the rest neutral.
    pub fn edge_color(&self, call: bool) -> Color32 {
        if call { self.call } else { self.edge }
    }
}

/// `a` blended towards `b` by `t` in 0..=1 (opaque colours).
pub fn mix(a: Color32, b: Color32, t: f32) -> Color32 {
    let lerp = |x: u8, y: u8| (x as f32 + (y as f32 - x as f32) * t).round() as u8;
    Color32::from_rgb(lerp(a.r(), b.r()), lerp(a.g(), b.g()), lerp(a.b(), b.b()))
}

/// `#rrggbb` of an opaque colour (for SVG).
pub fn css(c: Color32) -> String {
    format!("#{:02x}{:02x}{:02x}", c.r(), c.g(), c.b())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The four families cover every kind, as the palette groups them.
    #[test]
    fn families_cover_every_kind() {
        let total: usize = Family::ALL.iter().map(|f| f.kinds().count()).sum();
        assert_eq!(total, NodeKind::ALL.len());
        assert_eq!(Family::of(NodeKind::Breaker), Family::Resilience);
    }

    /// Text stands out from the node fill in both themes.
    #[test]
    fn text_contrast() {
        for p in [Palette::LIGHT, Palette::DARK] {
            let luma =
                |c: Color32| 0.299 * c.r() as f32 + 0.587 * c.g() as f32 + 0.114 * c.b() as f32;
            assert!((luma(p.text) - luma(p.node_fill)).abs() > 150.0);
            assert!((luma(p.text_weak) - luma(p.node_fill)).abs() > 60.0);
        }
    }
}
