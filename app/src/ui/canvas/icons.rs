//! The node kind icons (`assets/icons/<kind>.svg`): single-colour strokes in a 24×24 box,
//! drawn white on the canvas and tinted with the kind's accent, and inlined into SVG exports.

use egui::load::{SizeHint, TexturePoll};
use egui::{TextureId, TextureOptions};
use flowbench_engine::NodeKind;

macro_rules! icons {
    ($($kind:ident => $file:literal),* $(,)?) => {
        /// The SVG source of a kind's icon.
        pub fn svg(kind: NodeKind) -> &'static str {
            match kind {
                $(NodeKind::$kind => include_str!(concat!("../../../../assets/icons/", $file, ".svg")),)*
            }
        }

        /// Where the canvas registers the white version of a kind's icon.
        fn uri(kind: NodeKind) -> &'static str {
            match kind {
                $(NodeKind::$kind => concat!("bytes://flowbench/icons/", $file, ".svg"),)*
            }
        }
    };
}

icons! {
    Producer => "producer",
    Client => "client",
    Queue => "queue",
    Topic => "topic",
    Service => "service",
    Sink => "sink",
    Breaker => "breaker",
    Gateway => "gateway",
    Router => "router",
    EventLog => "event_log",
    Projector => "projector",
    Saga => "saga",
}

/// The drawing inside an icon's `<svg>` element (its stroke style is on the element itself:
/// stroke width 2, round caps and joins, no fill).
pub fn inner(svg: &str) -> &str {
    let start = svg
        .find("<svg")
        .and_then(|i| svg[i..].find('>').map(|j| i + j + 1))
        .unwrap_or(0);
    let end = svg.rfind("</svg>").unwrap_or(svg.len());
    svg[start..end.max(start)].trim()
}

/// Raster sizes the icons are drawn at; one is picked by the size on screen, so zooming does
/// not rasterise them again and again.
const RASTER_SIZES: [u32; 3] = [32, 64, 128];

/// This frame's icon textures, loaded on first use.
pub struct Icons<'a> {
    ctx: &'a egui::Context,
    size: u32,
    loaded: [Option<Option<TextureId>>; NodeKind::ALL.len()],
}

impl<'a> Icons<'a> {
    /// Icons for drawing `pixels` physical pixels wide.
    pub fn new(ctx: &'a egui::Context, pixels: f32) -> Icons<'a> {
        let size = RASTER_SIZES
            .into_iter()
            .find(|&s| s as f32 >= pixels)
            .unwrap_or(RASTER_SIZES[RASTER_SIZES.len() - 1]);
        Icons {
            ctx,
            size,
            loaded: [None; NodeKind::ALL.len()],
        }
    }

    /// The white icon of `kind`, or `None` while it loads (or if it cannot).
    pub fn texture(&mut self, kind: NodeKind) -> Option<TextureId> {
        let slot = NodeKind::ALL.iter().position(|&k| k == kind)?;
        if let Some(loaded) = self.loaded[slot] {
            return loaded;
        }
        let loaded = self.load(kind);
        self.loaded[slot] = Some(loaded);
        loaded
    }

    fn load(&self, kind: NodeKind) -> Option<TextureId> {
        let hint = SizeHint::Size {
            width: self.size,
            height: self.size,
            maintain_aspect_ratio: true,
        };
        let poll = self
            .ctx
            .try_load_texture(uri(kind), TextureOptions::LINEAR, hint);
        let poll = match poll {
            Ok(poll) => poll,
            Err(_) => {
                // First use in this context: register the white icon and try again.
                let white = svg(kind).replace("currentColor", "#ffffff");
                self.ctx.include_bytes(uri(kind), white.into_bytes());
                self.ctx
                    .try_load_texture(uri(kind), TextureOptions::LINEAR, hint)
                    .ok()?
            }
        };
        match poll {
            TexturePoll::Ready { texture } => Some(texture.id),
            TexturePoll::Pending { .. } => None,
        }
    }
}

/// Installs the SVG loader the icons need, once per context.
pub fn install(ctx: &egui::Context) {
    if !ctx.is_loader_installed(egui_extras::loaders::svg_loader::SvgLoader::ID) {
        egui_extras::install_image_loaders(ctx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every icon is a 24×24 single-colour stroke drawing.
    #[test]
    fn icons_are_consistent() {
        for kind in NodeKind::ALL {
            let svg = svg(kind);
            assert!(svg.contains(r#"viewBox="0 0 24 24""#), "{kind}");
            assert!(svg.contains(r#"stroke="currentColor""#), "{kind}");
            assert!(svg.contains(r#"fill="none""#), "{kind}");
            let inner = inner(svg);
            assert!(
                inner.starts_with('<') && !inner.contains("<svg"),
                "{kind}: {inner}"
            );
            roxmltree::Document::parse(svg).unwrap_or_else(|e| panic!("{kind}: {e}"));
        }
    }
}
