//! The canvas as a PNG: fit the graph into the canvas, draw one clean frame (no selection,
//! no grid), grab the window's pixels, cut out the canvas, and put the view back.

use std::sync::{Arc, Mutex};

use egui::{ColorImage, Rect, ViewportCommand};

use super::FIT_MARGIN;
use super::geometry::Scene;
use super::view::View;
use crate::ui::AppCommand;

/// Frames to wait for the pixels before giving up (no renderer, e.g. in tests).
const PATIENCE_FRAMES: u32 = 30;

#[derive(Default)]
enum Phase {
    #[default]
    Idle,
    /// Asked for; starts on the next frame.
    Requested,
    /// Clean frames are being drawn; the pixels arrive in `slot`.
    Waiting {
        /// The view to return to.
        saved: View,
        /// The canvas in points, and the scale to pixels.
        crop: Rect,
        pixels_per_point: f32,
        frames: u32,
    },
}

/// A PNG capture of the canvas under way, and its result.
#[derive(Default)]
pub(super) struct Capture {
    phase: Phase,
    /// Filled by the integration when it has read the pixels.
    slot: Arc<Mutex<Option<Arc<ColorImage>>>>,
    result: Option<ColorImage>,
}

impl Capture {
    pub fn request(&mut self) {
        if matches!(self.phase, Phase::Idle) {
            self.result = None;
            self.phase = Phase::Requested;
        }
    }

    pub fn pending(&self) -> bool {
        !matches!(self.phase, Phase::Idle)
    }

    pub fn take(&mut self) -> Option<ColorImage> {
        self.result.take()
    }

    /// Runs before drawing; returns whether this frame is drawn clean for the capture.
    pub fn begin_frame(
        &mut self,
        ctx: &egui::Context,
        view: &mut View,
        scene: &Scene,
        commands: &mut Vec<AppCommand>,
    ) -> bool {
        match &mut self.phase {
            Phase::Idle => false,
            Phase::Requested => {
                let saved = *view;
                if let Some(bounds) = scene.bounds() {
                    view.fit(bounds, FIT_MARGIN / 2.0);
                }
                let slot = Arc::clone(&self.slot);
                let repaint = ctx.clone();
                ctx.send_viewport_cmd(ViewportCommand::Screenshot(egui::ScreenshotCallback::new(
                    move |image| {
                        if let Ok(mut slot) = slot.lock() {
                            *slot = Some(image);
                        }
                        repaint.request_repaint();
                    },
                )));
                self.phase = Phase::Waiting {
                    saved,
                    crop: view.rect,
                    pixels_per_point: ctx.pixels_per_point(),
                    frames: 0,
                };
                true
            }
            Phase::Waiting {
                saved,
                crop,
                pixels_per_point,
                frames,
            } => {
                let image = self.slot.lock().ok().and_then(|mut slot| slot.take());
                if let Some(image) = image {
                    self.result = Some(image.region(crop, Some(*pixels_per_point)));
                    *view = View {
                        rect: view.rect,
                        ..*saved
                    };
                    self.phase = Phase::Idle;
                    return false;
                }
                *frames += 1;
                if *frames > PATIENCE_FRAMES {
                    *view = View {
                        rect: view.rect,
                        ..*saved
                    };
                    self.phase = Phase::Idle;
                    commands.push(AppCommand::Status(
                        "Could not capture the canvas as an image".to_owned(),
                    ));
                    return false;
                }
                true
            }
        }
    }

    /// Keeps frames coming while the pixels are awaited.
    pub fn end_frame(&mut self, ctx: &egui::Context, rect: Rect) {
        if let Phase::Waiting { crop, .. } = &mut self.phase {
            *crop = rect;
            ctx.request_repaint();
        }
    }
}

/// The image as PNG file bytes (8-bit RGBA).
pub fn encode_png(image: &ColorImage) -> Result<Vec<u8>, png::EncodingError> {
    let [width, height] = image.size;
    let rgba: Vec<u8> = image
        .pixels
        .iter()
        .flat_map(|c| c.to_srgba_unmultiplied())
        .collect();
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, width as u32, height as u32);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&rgba)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use egui::Color32;

    use super::*;

    /// An image encodes to a PNG that decodes to the same pixels.
    #[test]
    fn png_round_trip() {
        let mut image = ColorImage::filled([3, 2], Color32::from_rgb(10, 20, 30));
        image.pixels[4] = Color32::WHITE;
        let bytes = encode_png(&image).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"));
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (3, 2));
        assert_eq!(&buf[..4], &[10, 20, 30, 255]);
        assert_eq!(&buf[16..20], &[255, 255, 255, 255]);
    }
}
