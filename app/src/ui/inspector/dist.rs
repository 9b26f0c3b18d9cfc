//! Duration distributions (`service_time`): the form, its parameters, and a small picture
//! of the density with the mean and the 99th percentile marked, computed in closed form.

use flowbench_engine::model::{Dist, Z_P99, lognormal_sigma};

use super::fields::{Num, Rows, format_ms};

/// z-score of the 99.9th percentile of the standard normal distribution.
const Z_P999: f64 = 3.090_232_306_167_813;

/// Height of the density picture.
const PREVIEW_HEIGHT: f32 = 60.0;

/// The forms a distribution can take, as the graph file names them.
pub const FORMS: [(&str, &str); 4] = [
    ("const", "Always the same duration"),
    (
        "exp",
        "Exponential: memoryless, many short and a few long (M in M/M/1)",
    ),
    ("uniform", "Uniform between a minimum and a maximum"),
    (
        "lognormal",
        "Lognormal: a typical (median) duration with a long tail up to p99",
    ),
];

pub fn form_name(d: &Dist) -> &'static str {
    match d {
        Dist::Const { .. } => "const",
        Dist::Exp { .. } => "exp",
        Dist::Uniform { .. } => "uniform",
        Dist::Lognormal { .. } => "lognormal",
    }
}

/// `d` in another form with the same mean where the parameters allow (a uniform spread
/// ±50 % around it, a lognormal with p99 five times the median).
pub fn convert(d: &Dist, form: &str) -> Dist {
    let mean = d.mean_ms();
    let mean = if mean.is_finite() && mean > 0.0 {
        mean
    } else {
        10.0
    };
    match form {
        "const" => Dist::Const { ms: mean },
        "exp" => Dist::Exp { mean_ms: mean },
        "uniform" => Dist::Uniform {
            min_ms: mean * 0.5,
            max_ms: mean * 1.5,
        },
        _ => {
            let sigma = 5f64.ln() / Z_P99;
            let median_ms = mean / (sigma * sigma / 2.0).exp();
            Dist::Lognormal {
                median_ms,
                p99_ms: median_ms * 5.0,
            }
        }
    }
}

/// A probability density function over milliseconds.
type Density = Box<dyn Fn(f64) -> f64>;

/// What the preview shows of a distribution.
#[derive(Debug, Clone, PartialEq)]
pub struct Shape {
    pub mean: f64,
    pub p50: f64,
    pub p99: f64,
    /// Right end of the picture.
    pub x_max: f64,
    /// Density at evenly spaced points over `0..=x_max`; empty for a constant.
    pub density: Vec<f64>,
}

/// The shape of `d` sampled at `points` points, or why it has none (bad parameters).
pub fn shape(d: &Dist, points: usize) -> Result<Shape, String> {
    let points = points.max(2);
    let ok = |x: f64| x.is_finite() && x >= 0.0;
    let (mean, p50, p99, x_max, pdf): (f64, f64, f64, f64, Density) = match *d {
        Dist::Const { ms } => {
            if !ok(ms) {
                return Err("ms must be a number >= 0".into());
            }
            let x_max = if ms > 0.0 { ms * 2.0 } else { 1.0 };
            return Ok(Shape {
                mean: ms,
                p50: ms,
                p99: ms,
                x_max,
                density: Vec::new(),
            });
        }
        Dist::Exp { mean_ms } => {
            if !(ok(mean_ms) && mean_ms > 0.0) {
                return Err("mean_ms must be > 0".into());
            }
            let rate = 1.0 / mean_ms;
            let q = |p: f64| -mean_ms * (1.0 - p).ln();
            (
                mean_ms,
                q(0.5),
                q(0.99),
                q(0.999),
                Box::new(move |x| rate * (-rate * x).exp()),
            )
        }
        Dist::Uniform { min_ms, max_ms } => {
            if !(ok(min_ms) && ok(max_ms) && max_ms >= min_ms) {
                return Err("needs 0 <= min_ms <= max_ms".into());
            }
            let width = max_ms - min_ms;
            let q = |p: f64| min_ms + p * width;
            let x_max = (max_ms + width.max(max_ms * 0.1) * 0.15).max(1e-9);
            let height = if width > 0.0 { 1.0 / width } else { 0.0 };
            if width == 0.0 {
                return Ok(Shape {
                    mean: min_ms,
                    p50: min_ms,
                    p99: min_ms,
                    x_max: if min_ms > 0.0 { min_ms * 2.0 } else { 1.0 },
                    density: Vec::new(),
                });
            }
            (
                (min_ms + max_ms) / 2.0,
                q(0.5),
                q(0.99),
                x_max,
                Box::new(move |x| {
                    if (min_ms..=max_ms).contains(&x) {
                        height
                    } else {
                        0.0
                    }
                }),
            )
        }
        Dist::Lognormal { median_ms, p99_ms } => {
            if !(ok(median_ms) && median_ms > 0.0 && ok(p99_ms) && p99_ms >= median_ms) {
                return Err("needs 0 < median_ms <= p99_ms".into());
            }
            let sigma = lognormal_sigma(median_ms, p99_ms);
            if sigma == 0.0 {
                return Ok(Shape {
                    mean: median_ms,
                    p50: median_ms,
                    p99: median_ms,
                    x_max: median_ms * 2.0,
                    density: Vec::new(),
                });
            }
            let mu = median_ms.ln();
            let mean = (mu + sigma * sigma / 2.0).exp();
            let x_max = (mu + sigma * Z_P999).exp();
            let norm = 1.0 / (sigma * (2.0 * std::f64::consts::PI).sqrt());
            let pdf = move |x: f64| {
                if x <= 0.0 {
                    0.0
                } else {
                    let z = (x.ln() - mu) / sigma;
                    norm / x * (-z * z / 2.0).exp()
                }
            };
            (mean, median_ms, p99_ms, x_max, Box::new(pdf))
        }
    };
    let density = (0..points)
        .map(|i| pdf(x_max * i as f64 / (points - 1) as f64))
        .collect();
    Ok(Shape {
        mean,
        p50,
        p99,
        x_max,
        density,
    })
}

/// The form combo, the parameters and the preview of distribution field `field`, as grid
/// rows of `rows`.
pub fn dist_rows(rows: &mut Rows, ui: &mut egui::Ui, field: &str, help: &str, dist: &mut Dist) {
    rows.row(ui, field, field, help, |rows, ui, label| {
        let current = form_name(dist);
        let mut chosen = current;
        let response = egui::ComboBox::from_id_salt(("dist form", field))
            .selected_text(current)
            .width(super::fields::NUMBER_WIDTH + 24.0)
            .show_ui(ui, |ui| {
                for (form, form_help) in FORMS {
                    ui.selectable_value(&mut chosen, form, form)
                        .on_hover_text(form_help);
                }
            })
            .response;
        let explain = FORMS.iter().find(|f| f.0 == current).map_or("", |f| f.1);
        rows.name(
            response.on_hover_text(format!("{help}\n{current}: {explain}")),
            label,
            field,
        );
        if chosen != current {
            *dist = convert(dist, chosen);
            rows.change(field);
        }
    });
    let ms = Num::MS;
    let param = |name: &str| format!("{field}.{name}");
    match dist {
        Dist::Const { ms: value } => {
            rows.number_as(ui, &param("ms"), "  ms", "Every duration is exactly this long, in milliseconds.", value, ms);
        }
        Dist::Exp { mean_ms } => rows.number_as(
            ui,
            &param("mean_ms"),
            "  mean_ms",
            "Mean duration in milliseconds (1 / rate). Exponential durations: the median is 0.69 × mean, \
             p99 is 4.6 × mean.",
            mean_ms,
            ms,
        ),
        Dist::Uniform { min_ms, max_ms } => {
            rows.number_as(ui, &param("min_ms"), "  min_ms", "Shortest duration, in milliseconds.", min_ms, ms);
            rows.number_as(ui, &param("max_ms"), "  max_ms", "Longest duration, in milliseconds (>= min_ms).", max_ms, ms);
        }
        Dist::Lognormal { median_ms, p99_ms } => {
            rows.number_as(
                ui,
                &param("median_ms"),
                "  median_ms",
                "Half of the durations are shorter than this, in milliseconds.",
                median_ms,
                ms,
            );
            rows.number_as(
                ui,
                &param("p99_ms"),
                "  p99_ms",
                "99 % of the durations are shorter than this, in milliseconds (>= median_ms). \
                 The further above the median, the longer the tail.",
                p99_ms,
                ms,
            );
        }
    }
    ui.label("");
    preview(ui, field, dist);
    ui.end_row();
}

/// The density picture with the mean and p99 marked, and their numbers under it.
fn preview(ui: &mut egui::Ui, field: &str, dist: &Dist) {
    ui.vertical(|ui| {
        let width = ui.available_width().clamp(140.0, 260.0);
        let points = (width as usize / 2).max(8);
        let shape = match shape(dist, points) {
            Ok(shape) => shape,
            Err(why) => {
                ui.weak(format!("no preview: {why}"));
                return;
            }
        };
        let (rect, response) =
            ui.allocate_exact_size(egui::vec2(width, PREVIEW_HEIGHT), egui::Sense::hover());
        let summary = if shape.density.is_empty() {
            format!("always {}", format_ms(shape.mean))
        } else {
            format!(
                "mean {} · p50 {} · p99 {}",
                format_ms(shape.mean),
                format_ms(shape.p50),
                format_ms(shape.p99)
            )
        };
        response.widget_info(|| {
            egui::WidgetInfo::labeled(
                egui::Role::Image,
                true,
                format!("{field} preview: {summary}"),
            )
        });
        let response = response.on_hover_text(format!(
            "Probability density from 0 to {}.\nSolid line: mean. Dashed line: 99th percentile.",
            format_ms(shape.x_max)
        ));
        paint(ui, rect, &shape);
        let _ = response;
        ui.add(egui::Label::new(egui::RichText::new(summary).small().weak()).wrap());
    });
}

fn paint(ui: &egui::Ui, rect: egui::Rect, shape: &Shape) {
    let visuals = ui.visuals();
    let painter = ui.painter_at(rect);
    painter.rect_filled(rect, 3.0, visuals.extreme_bg_color);
    let plot = rect.shrink2(egui::vec2(4.0, 6.0));
    let x_of = |ms: f64| plot.left() + (ms / shape.x_max) as f32 * plot.width();
    let accent = visuals.selection.bg_fill;
    let line_color = visuals.strong_text_color();
    if shape.density.is_empty() {
        // A constant: one spike.
        let x = x_of(shape.mean);
        painter.line_segment(
            [egui::pos2(x, plot.bottom()), egui::pos2(x, plot.top())],
            egui::Stroke::new(2.5, accent),
        );
    } else {
        let peak = shape.density.iter().copied().fold(0.0, f64::max);
        let n = shape.density.len();
        let points: Vec<egui::Pos2> = shape
            .density
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let x = plot.left() + plot.width() * i as f32 / (n - 1) as f32;
                let y = plot.bottom() - (d / peak) as f32 * plot.height();
                egui::pos2(x, y)
            })
            .collect();
        let mut fill = egui::Mesh::default();
        let fill_color = accent.gamma_multiply(0.35);
        for p in &points {
            fill.colored_vertex(egui::pos2(p.x, plot.bottom()), fill_color);
            fill.colored_vertex(*p, fill_color);
        }
        for i in 0..(n as u32 - 1) {
            let a = 2 * i;
            fill.add_triangle(a, a + 1, a + 2);
            fill.add_triangle(a + 1, a + 3, a + 2);
        }
        painter.add(fill);
        painter.line(points, egui::Stroke::new(1.5, accent));
        let mean_x = x_of(shape.mean);
        painter.line_segment(
            [
                egui::pos2(mean_x, plot.top()),
                egui::pos2(mean_x, plot.bottom()),
            ],
            egui::Stroke::new(1.0, line_color),
        );
        let p99_x = x_of(shape.p99);
        painter.extend(egui::Shape::dashed_line(
            &[
                egui::pos2(p99_x, plot.top()),
                egui::pos2(p99_x, plot.bottom()),
            ],
            egui::Stroke::new(1.0, visuals.warn_fg_color),
            3.0,
            2.0,
        ));
        let font = egui::FontId::proportional(10.0);
        let tag = |x: f32, text: &str, color: egui::Color32| {
            let galley = painter.layout_no_wrap(text.to_owned(), font.clone(), color);
            // Keep the tag inside the picture, on the side of the line with room.
            let left = if x + 3.0 + galley.size().x > plot.right() {
                x - 3.0 - galley.size().x
            } else {
                x + 3.0
            };
            let pos = egui::pos2(left, plot.top());
            let back = egui::Rect::from_min_size(pos, galley.size()).expand(1.0);
            painter.rect_filled(back, 2.0, visuals.extreme_bg_color.gamma_multiply(0.85));
            painter.galley(pos, galley, color);
        };
        tag(mean_x, "mean", line_color);
        tag(p99_x, "p99", visuals.warn_fg_color);
    }
    painter.line_segment(
        [plot.left_bottom(), plot.right_bottom()],
        egui::Stroke::new(1.0, visuals.weak_text_color()),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-6 * b.abs().max(1.0)
    }

    /// The preview's numbers are the closed forms: exp p99 = mean·ln 100, uniform p99 at
    /// 99 % of the span, lognormal mean = median·e^(σ²/2).
    #[test]
    fn preview_numbers_are_the_closed_forms() {
        let s = shape(&Dist::Exp { mean_ms: 10.0 }, 50).unwrap();
        assert!(
            close(s.mean, 10.0)
                && close(s.p50, 10.0 * 2f64.ln())
                && close(s.p99, 10.0 * 100f64.ln())
        );
        let s = shape(
            &Dist::Uniform {
                min_ms: 1.0,
                max_ms: 9.0,
            },
            50,
        )
        .unwrap();
        assert!(close(s.mean, 5.0) && close(s.p99, 8.92));
        let s = shape(
            &Dist::Lognormal {
                median_ms: 20.0,
                p99_ms: 200.0,
            },
            50,
        )
        .unwrap();
        let sigma = 10f64.ln() / Z_P99;
        assert!(
            close(s.mean, 20.0 * (sigma * sigma / 2.0).exp()),
            "{}",
            s.mean
        );
        assert!(close(s.p99, 200.0) && s.x_max > 200.0);
        let s = shape(&Dist::Const { ms: 5.0 }, 50).unwrap();
        assert!(s.density.is_empty() && close(s.p99, 5.0));
    }

    /// The sampled density integrates to about the mass shown (99.9 % for the tails).
    #[test]
    fn preview_density_integrates_to_one() {
        for d in [
            Dist::Exp { mean_ms: 10.0 },
            Dist::Lognormal {
                median_ms: 20.0,
                p99_ms: 200.0,
            },
            Dist::Uniform {
                min_ms: 2.0,
                max_ms: 6.0,
            },
        ] {
            let s = shape(&d, 4001).unwrap();
            let dx = s.x_max / 4000.0;
            let area: f64 = s.density.windows(2).map(|w| (w[0] + w[1]) / 2.0 * dx).sum();
            assert!((area - 1.0).abs() < 0.01, "{d:?}: {area}");
        }
    }

    /// Bad parameters give a reason instead of a picture.
    #[test]
    fn bad_parameters_have_no_preview() {
        assert!(shape(&Dist::Exp { mean_ms: 0.0 }, 10).is_err());
        assert!(
            shape(
                &Dist::Uniform {
                    min_ms: 5.0,
                    max_ms: 1.0
                },
                10
            )
            .is_err()
        );
        assert!(
            shape(
                &Dist::Lognormal {
                    median_ms: 20.0,
                    p99_ms: 10.0
                },
                10
            )
            .is_err()
        );
        assert!(shape(&Dist::Const { ms: f64::NAN }, 10).is_err());
    }

    /// Changing the form keeps the mean.
    #[test]
    fn converting_keeps_the_mean() {
        let d = Dist::Exp { mean_ms: 40.0 };
        for form in ["const", "exp", "uniform", "lognormal"] {
            let c = convert(&d, form);
            assert_eq!(form_name(&c), form);
            assert!(close(c.mean_ms(), 40.0), "{form}: {}", c.mean_ms());
        }
    }
}
