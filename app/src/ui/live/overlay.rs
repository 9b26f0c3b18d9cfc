//! What a running graph looks like on the canvas: per node its rates, a badge of what went
//! wrong, a queue's fill bar, a service's busy workers, a breaker's state, a broker-backed
//! channel's connection and the broker's depth; per edge dots that
//! move with the throughput. Pure painting functions: the canvas calls them with screen
//! rectangles and points, after drawing a node or an edge.

use egui::epaint::StrokeKind;
use egui::{Align2, Color32, FontId, Painter, Pos2, Rect, Stroke, pos2, vec2};
use flowbench_engine::NodeKind;
use flowbench_engine::model::FaultKind;
use flowbench_engine::report::{BreakerState, BrokerReport};

use super::format;
use crate::ui::canvas::summary::broker_title;

/// How long a breaker flashes after it changes state (wall seconds).
pub const FLASH_S: f64 = 0.5;
/// Below this zoom only colours are drawn (fill bars, breaker outlines), no text.
const TEXT_ZOOM: f32 = 0.45;

/// A breaker's state as the canvas shows it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct BreakerLive {
    pub state: BreakerState,
    /// When open: simulated milliseconds until it lets probes through (half-open).
    pub half_open_in_ms: Option<f64>,
    /// Wall time (egui's `input.time`) when its last transition was seen, for the flash.
    pub changed_at: Option<f64>,
}

/// One node's live numbers, as of the newest snapshot.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NodeLive {
    /// Messages (or calls) per second arriving and leaving, over the last simulated second
    /// (the last ten for a node that sees few), or over the whole run once it has finished.
    pub in_per_sec: f64,
    pub out_per_sec: f64,
    /// The rates are the finished run's means.
    pub over_run: bool,
    /// Totals since the run started.
    pub failed: u64,
    pub dropped: u64,
    pub lost: u64,
    pub rejected: u64,
    pub timeouts: u64,
    /// (failed + lost + dropped) over what came in, in the last sample interval.
    pub error_rate: f64,
    /// Waiting messages (queue; topic: over all subscribers).
    pub depth: Option<f64>,
    /// Capacity of one buffer (queue; topic: per subscriber); `None` = unbounded.
    pub capacity: Option<u64>,
    /// Fill of the fullest buffer, 0..=1, when bounded.
    pub fill: Option<f32>,
    /// Full with `when_full: block`: the senders are waiting.
    pub blocking_full: bool,
    /// A queue with `when_full: throttle` slows its senders now.
    pub throttling: bool,
    /// Service: mean busy workers over the last interval, the workers now, utilisation.
    pub busy: Option<f64>,
    pub workers: Option<u32>,
    pub utilization: Option<f64>,
    pub autoscaled: bool,
    pub breaker: Option<BreakerLive>,
    /// A channel on a broker: its connection and the broker's own counters.
    pub broker: Option<BrokerReport>,
    /// Faults active on the node now (scheduled or injected).
    pub faults: Vec<FaultKind>,
    pub sim_time_ms: f64,
}

impl NodeLive {
    /// Nothing arrives or leaves.
    pub fn is_idle(&self) -> bool {
        self.in_per_sec < 1e-9 && self.out_per_sec < 1e-9
    }
}

/// Colours of the live views, in the light or the dark theme.
#[derive(Debug, Clone, Copy)]
pub struct LiveColors {
    pub ok: Color32,
    pub warn: Color32,
    pub bad: Color32,
    pub track: Color32,
    pub text: Color32,
    pub weak: Color32,
    pub chip_text: Color32,
    pub neutral: Color32,
    pub fault: Color32,
    pub flow: Color32,
}

impl LiveColors {
    pub fn new(dark: bool) -> LiveColors {
        if dark {
            LiveColors {
                ok: Color32::from_rgb(0x4A, 0xDE, 0x80),
                warn: Color32::from_rgb(0xFB, 0xBF, 0x24),
                bad: Color32::from_rgb(0xF8, 0x71, 0x71),
                track: Color32::from_rgb(0x3A, 0x3D, 0x44),
                text: Color32::from_rgb(0xE5, 0xE7, 0xEB),
                weak: Color32::from_rgb(0x9C, 0xA3, 0xAF),
                chip_text: Color32::from_rgb(0x11, 0x12, 0x14),
                neutral: Color32::from_rgb(0x60, 0xA5, 0xFA),
                fault: Color32::from_rgb(0xC0, 0x84, 0xFC),
                flow: Color32::from_rgb(0x7D, 0xD3, 0xFC),
            }
        } else {
            LiveColors {
                ok: Color32::from_rgb(0x16, 0xA3, 0x4A),
                warn: Color32::from_rgb(0xD9, 0x77, 0x06),
                bad: Color32::from_rgb(0xDC, 0x26, 0x26),
                track: Color32::from_rgb(0xE2, 0xE6, 0xEB),
                text: Color32::from_rgb(0x1E, 0x29, 0x3B),
                weak: Color32::from_rgb(0x64, 0x74, 0x8B),
                chip_text: Color32::WHITE,
                neutral: Color32::from_rgb(0x25, 0x63, 0xEB),
                fault: Color32::from_rgb(0x93, 0x33, 0xEA),
                flow: Color32::from_rgb(0x08, 0x91, 0xB2),
            }
        }
    }

    /// Green below 60 %, yellow to 85 %, red above.
    pub fn level(&self, share: f32) -> Color32 {
        if share < 0.6 {
            self.ok
        } else if share <= 0.85 {
            self.warn
        } else {
            self.bad
        }
    }

    pub fn breaker(&self, state: BreakerState) -> Color32 {
        match state {
            BreakerState::Closed => self.ok,
            BreakerState::HalfOpen => self.warn,
            BreakerState::Open => self.bad,
        }
    }
}

/// The colour of a broker connection's state: up green, connecting or retrying amber,
/// down red.
pub fn broker_color(colors: &LiveColors, state: &str) -> Color32 {
    match state {
        "up" => colors.ok,
        "connecting" | "retrying" => colors.warn,
        "down" => colors.bad,
        _ => colors.weak,
    }
}

/// The badge of a broker-backed channel: "RabbitMQ up", "NATS retrying".
pub fn broker_badge(broker: &BrokerReport) -> String {
    format!("{} {}", broker_title(&broker.kind), broker.state)
}

/// The broker's own depth, beside the local counters: "broker 12 ready" (RabbitMQ: ready
/// in its queue), "broker 120 in stream" (JetStream).
pub fn broker_depth_text(broker: &BrokerReport) -> Option<String> {
    let depth = format::number(broker.broker_depth? as f64);
    Some(match broker.kind.as_str() {
        "jetstream" => format!("broker {depth} in stream"),
        _ => format!("broker {depth} ready"),
    })
}

/// What hovering the broker badge tells: where, the state and why, and the counters.
pub fn broker_hover_text(broker: &BrokerReport) -> String {
    let mut lines = vec![format!(
        "{} {} at {}",
        broker_title(&broker.kind),
        broker.name,
        broker.url
    )];
    let mut state = format!("Connection: {}", broker.state);
    if broker.reconnects > 0 {
        state += &format!(
            " ({} reconnect{})",
            broker.reconnects,
            if broker.reconnects == 1 { "" } else { "s" }
        );
    }
    lines.push(state);
    if let Some(error) = &broker.error {
        lines.push(format!("Error: {error}"));
    }
    lines.push(format!(
        "Published {} · confirmed {} · failed {}",
        broker.published, broker.confirmed, broker.publish_failed
    ));
    lines.push(format!(
        "Consumed {} · acked {} · redelivered {}",
        broker.consumed, broker.acked, broker.redelivered
    ));
    if let Some(depth) = broker_depth_text(broker) {
        lines.push(depth);
    }
    lines.join("\n")
}

/// Where the broker badge of a node drawn at `node_rect` sits (the first chip above the box,
/// on the left), when text is drawn at `zoom`.
pub fn broker_badge_rect(
    painter: &Painter,
    node_rect: Rect,
    broker: &BrokerReport,
    zoom: f32,
) -> Option<Rect> {
    let z = zoom.max(0.05);
    if z < TEXT_ZOOM {
        return None;
    }
    let galley = painter.layout_no_wrap(broker_badge(broker), chip_font(z), Color32::WHITE);
    let size = galley.size() + 2.0 * chip_pad(z);
    let bottom = node_rect.top() - 3.0 * z;
    Some(Rect::from_min_size(
        pos2(node_rect.left(), bottom - size.y),
        size,
    ))
}

/// Makes the broker badge of node `node_id` drawn at `node_rect` a hover target: its hover
/// text tells the connection (with the error when it is not up) and the broker's counters.
/// Named `broker <id>` for assistive technology, with the badge as its value; `canvas` is
/// the id of the canvas the node is drawn on.
pub fn broker_badge_hover(
    ui: &egui::Ui,
    canvas: egui::Id,
    painter: &Painter,
    node_rect: Rect,
    node_id: &str,
    broker: &BrokerReport,
    zoom: f32,
) {
    let Some(rect) = broker_badge_rect(painter, node_rect, broker, zoom) else {
        return;
    };
    let response = ui.interact(
        rect,
        canvas.with(("broker badge", node_id)),
        egui::Sense::hover(),
    );
    response.widget_info(|| {
        let mut info =
            egui::WidgetInfo::labeled(egui::Role::Status, true, format!("broker {node_id}"));
        info.current_text_value = Some(broker_badge(broker));
        info
    });
    response.on_hover_text(broker_hover_text(broker));
}

/// The word for a breaker state.
pub fn breaker_word(state: BreakerState) -> &'static str {
    match state {
        BreakerState::Closed => "closed",
        BreakerState::HalfOpen => "half-open",
        BreakerState::Open => "open",
    }
}

/// The word for a fault kind.
pub fn fault_word(kind: FaultKind) -> &'static str {
    match kind {
        FaultKind::Fail => "fail",
        FaultKind::Slow => "slow",
        FaultKind::Crash => "crash",
        FaultKind::Stop => "stop",
        FaultKind::Replay => "replay",
    }
}

/// Paints node `kind`'s live numbers around its box `node_rect` (screen coordinates) at
/// canvas zoom `zoom`; `time` is egui's `input.time` (for the breaker's flash).
///
/// Below the box: rates in and out, then the depth (and the broker's own depth) or busy
/// workers. Above: chips for a broker connection's state, a breaker's state, an autoscaled
/// service's workers and active faults on the left, and a
/// badge of failed, lost, dropped, timed-out and rejected counts on the right. On the box: a
/// fill bar (queue, topic: fullest subscriber; service: utilisation), a red outline when a
/// blocking buffer is full, a breaker's state colour and its flash after a transition.
pub fn node_overlay(
    painter: &Painter,
    node_rect: Rect,
    kind: NodeKind,
    live: &NodeLive,
    zoom: f32,
    time: f64,
) {
    let colors = LiveColors::new(painter.ctx().theme() == egui::Theme::Dark);
    let z = zoom.max(0.05);
    let r = node_rect;

    // On the box.
    let bar_share = match kind {
        NodeKind::Queue | NodeKind::Topic => live.fill,
        NodeKind::Service => live.utilization.map(|u| u as f32),
        _ => None,
    };
    if let Some(share) = bar_share {
        fill_bar(painter, r, share, colors.level(share), colors.track, z);
    }
    if live.blocking_full {
        painter.rect_stroke(
            r.expand(2.0 * z),
            8.0 * z,
            Stroke::new((2.5 * z).max(1.5), colors.bad),
            StrokeKind::Outside,
        );
    }
    if let Some(breaker) = &live.breaker {
        let color = colors.breaker(breaker.state);
        painter.rect_stroke(
            r.expand(1.0 * z),
            7.0 * z,
            Stroke::new((2.0 * z).max(1.0), color),
            StrokeKind::Outside,
        );
        if let Some(at) = breaker.changed_at {
            let age = time - at;
            if (0.0..FLASH_S).contains(&age) {
                let t = (age / FLASH_S) as f32;
                let glow = color.gamma_multiply(1.0 - t);
                painter.rect_stroke(
                    r.expand((3.0 + 10.0 * t) * z),
                    (8.0 + 6.0 * t) * z,
                    Stroke::new((4.0 * (1.0 - t) * z).max(1.0), glow),
                    StrokeKind::Outside,
                );
                painter.rect_filled(r, 6.0 * z, color.gamma_multiply(0.25 * (1.0 - t)));
            }
        }
    }
    if z < TEXT_ZOOM {
        // Too small for the badge: a dot in the corner keeps the connection's state visible.
        if let Some(broker) = &live.broker {
            let c = r.right_top() + vec2(-6.0 * z, 6.0 * z);
            painter.circle_filled(c, (3.0 * z).max(2.0), broker_color(&colors, &broker.state));
        }
        return;
    }

    let size = (10.5 * z).clamp(8.0, 15.0);
    let font = FontId::proportional(size);
    let gap = 3.0 * z;

    // Below the box.
    let mut y = r.bottom() + gap;
    let idle = live.is_idle();
    let rates = match kind {
        NodeKind::Producer | NodeKind::Client if live.in_per_sec < 1e-9 => {
            format!("out {}", format::rate(live.out_per_sec))
        }
        NodeKind::Sink => format!("in {}", format::rate(live.in_per_sec)),
        _ => format!(
            "in {} · out {}",
            format::rate(live.in_per_sec),
            format::rate(live.out_per_sec)
        ),
    };
    let (text, color) = if idle {
        ("idle".to_owned(), colors.weak)
    } else if live.over_run {
        (format!("mean {rates}"), colors.text)
    } else {
        (rates, colors.text)
    };
    y += line(
        painter,
        pos2(r.left() + 2.0 * z, y),
        &text,
        font.clone(),
        color,
    );
    let detail = match kind {
        NodeKind::Queue | NodeKind::Topic => live
            .depth
            .map(|d| match live.capacity {
                Some(cap) => format!(
                    "{} / {} waiting",
                    format::number(d),
                    format::number(cap as f64)
                ),
                None => format!("{} waiting", format::number(d)),
            })
            .map(|text| {
                if live.throttling {
                    format!("{text} · throttling")
                } else {
                    text
                }
            }),
        NodeKind::Service => match (live.busy, live.workers, live.utilization) {
            (Some(busy), Some(workers), Some(u)) => Some(format!(
                "{}/{} busy · {}",
                busy.round(),
                workers,
                format::percent(u)
            )),
            _ => None,
        },
        _ => None,
    };
    let broker_depth = live.broker.as_ref().and_then(broker_depth_text);
    let detail = match (detail, broker_depth) {
        (Some(local), Some(broker)) => Some(format!("{local} · {broker}")),
        (local, broker) => local.or(broker),
    };
    if let Some(detail) = detail {
        let color = if live.blocking_full {
            colors.bad
        } else if live.throttling {
            colors.warn
        } else {
            colors.weak
        };
        line(
            painter,
            pos2(r.left() + 2.0 * z, y),
            &detail,
            font.clone(),
            color,
        );
    }

    // Above the box: chips on the left, the problem badge on the right.
    let chip_font = chip_font(z);
    let bottom = r.top() - gap;
    let mut x = r.left();
    if let Some(broker) = &live.broker {
        x += chip(
            painter,
            pos2(x, bottom),
            &broker_badge(broker),
            chip_font.clone(),
            broker_color(&colors, &broker.state),
            colors.chip_text,
            z,
        ) + gap;
    }
    if let Some(breaker) = &live.breaker {
        let mut word = breaker_word(breaker.state).to_uppercase();
        if let Some(ms) = breaker.half_open_in_ms {
            word = format!("{word} · {:.1} s", ms / 1000.0);
        }
        x += chip(
            painter,
            pos2(x, bottom),
            &word,
            chip_font.clone(),
            colors.breaker(breaker.state),
            colors.chip_text,
            z,
        ) + gap;
    }
    if live.autoscaled
        && let Some(workers) = live.workers
    {
        let text = format!("{workers} worker{}", if workers == 1 { "" } else { "s" });
        x += chip(
            painter,
            pos2(x, bottom),
            &text,
            chip_font.clone(),
            colors.neutral,
            colors.chip_text,
            z,
        ) + gap;
    }
    for fault in &live.faults {
        let text = format!("fault: {}", fault_word(*fault));
        x += chip(
            painter,
            pos2(x, bottom),
            &text,
            chip_font.clone(),
            colors.fault,
            colors.chip_text,
            z,
        ) + gap;
    }
    let problems: Vec<(u64, &str, Color32)> = [
        (live.failed, "failed", colors.bad),
        (live.lost, "lost", colors.bad),
        (live.dropped, "dropped", colors.warn),
        (live.timeouts, "timeouts", colors.warn),
        (live.rejected, "rejected", colors.warn),
    ]
    .into_iter()
    .filter(|(n, _, _)| *n > 0)
    .collect();
    if let Some(&(_, _, color)) = problems.first() {
        let text = problems
            .iter()
            .map(|(n, what, _)| format!("{} {what}", format::number(*n as f64)))
            .collect::<Vec<_>>()
            .join(" · ");
        let galley = painter.layout_no_wrap(text, chip_font, colors.chip_text);
        let pad = chip_pad(z);
        let rect = Rect::from_min_size(
            pos2(
                r.right() - galley.size().x - 2.0 * pad.x,
                bottom - galley.size().y - 2.0 * pad.y,
            ),
            galley.size() + 2.0 * pad,
        );
        // Keep clear of the chips on the left.
        let rect = if rect.left() < x {
            rect.translate(vec2(0.0, -(rect.height() + gap)))
        } else {
            rect
        };
        painter.rect_filled(rect, rect.height() / 2.0, color);
        painter.galley(rect.min + pad, galley, colors.chip_text);
    }
}

fn chip_font(z: f32) -> FontId {
    FontId::proportional((9.5 * z).clamp(7.5, 14.0))
}

fn chip_pad(z: f32) -> egui::Vec2 {
    vec2(5.0 * z, 1.5 * z)
}

/// A thin bar along the inside of the box's bottom edge.
fn fill_bar(painter: &Painter, r: Rect, share: f32, color: Color32, track: Color32, z: f32) {
    let inset = 8.0 * z;
    let height = (4.0 * z).max(2.0);
    let track_rect = Rect::from_min_max(
        pos2(r.left() + inset, r.bottom() - inset * 0.6 - height),
        pos2(r.right() - inset, r.bottom() - inset * 0.6),
    );
    painter.rect_filled(track_rect, height / 2.0, track);
    let share = share.clamp(0.0, 1.0);
    if share > 0.0 {
        let mut bar = track_rect;
        bar.set_width((track_rect.width() * share).max(height));
        painter.rect_filled(bar, height / 2.0, color);
    }
}

/// One line of text with its top-left at `at`; returns its height.
fn line(painter: &Painter, at: Pos2, text: &str, font: FontId, color: Color32) -> f32 {
    painter
        .text(at, Align2::LEFT_TOP, text, font, color)
        .height()
}

/// A rounded chip whose bottom-left is `at`; returns its width.
fn chip(
    painter: &Painter,
    at: Pos2,
    text: &str,
    font: FontId,
    fill: Color32,
    text_color: Color32,
    z: f32,
) -> f32 {
    let galley = painter.layout_no_wrap(text.to_owned(), font, text_color);
    let pad = chip_pad(z);
    let size = galley.size() + 2.0 * pad;
    let rect = Rect::from_min_size(pos2(at.x, at.y - size.y), size);
    painter.rect_filled(rect, size.y / 2.0, fill);
    painter.galley(rect.min + pad, galley, text_color);
    size.x
}

/// Paints dots moving along an edge's polyline `points` (screen coordinates, source to
/// target): the busier the edge against the busiest (`max_rate`), the faster and denser;
/// an idle edge gets faint dots that stand still. `time` is egui's `input.time`.
pub fn edge_flow(
    painter: &Painter,
    points: &[Pos2],
    rate_per_sec: f64,
    max_rate: f64,
    time: f64,
    dark: bool,
) {
    if points.len() < 2 {
        return;
    }
    let lengths: Vec<f32> = points.windows(2).map(|w| w[0].distance(w[1])).collect();
    let total: f32 = lengths.iter().sum();
    if total < 1.0 {
        return;
    }
    let colors = LiveColors::new(dark);
    let share = flow_share(rate_per_sec, max_rate);
    let (spacing, radius, color, offset) = if share <= 0.0 {
        (28.0, 1.5, colors.flow.gamma_multiply(0.3), 14.0)
    } else {
        let spacing = lerp(34.0, 12.0, share);
        let speed = lerp(24.0, 150.0, share);
        let offset = ((time * f64::from(speed)) % f64::from(spacing)) as f32;
        (
            spacing,
            lerp(1.8, 3.0, share),
            colors.flow.gamma_multiply(lerp(0.55, 1.0, share)),
            offset,
        )
    };
    let mut d = offset;
    let mut segment = 0;
    let mut start = 0.0;
    while d < total {
        while segment + 1 < lengths.len() && start + lengths[segment] < d {
            start += lengths[segment];
            segment += 1;
        }
        let len = lengths[segment].max(1e-3);
        let t = ((d - start) / len).clamp(0.0, 1.0);
        let p = points[segment] + (points[segment + 1] - points[segment]) * t;
        painter.circle_filled(p, radius, color);
        d += spacing;
    }
}

/// An edge's throughput against the busiest edge, 0..=1 on a log scale (so that a 5/s edge
/// still moves next to a 5000/s one).
pub fn flow_share(rate_per_sec: f64, max_rate: f64) -> f32 {
    if rate_per_sec <= 0.0 || !rate_per_sec.is_finite() {
        return 0.0;
    }
    let max = max_rate.max(rate_per_sec);
    ((1.0 + rate_per_sec).ln() / (1.0 + max).ln()).clamp(0.05, 1.0) as f32
}

fn lerp(a: f32, b: f32, t: f32) -> f32 {
    a + (b - a) * t
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Throughput maps to motion on a log scale; nothing flowing means no motion.
    #[test]
    fn flow_share_is_logarithmic() {
        assert_eq!(flow_share(0.0, 100.0), 0.0);
        assert_eq!(flow_share(100.0, 100.0), 1.0);
        let small = flow_share(5.0, 5000.0);
        assert!(small > 0.15 && small < 0.3, "{small}");
        assert_eq!(flow_share(500.0, 10.0), 1.0);
    }

    /// The fill colours follow the thresholds: green below 60 %, yellow to 85 %, red above.
    #[test]
    fn fill_thresholds() {
        let c = LiveColors::new(false);
        assert_eq!(c.level(0.59), c.ok);
        assert_eq!(c.level(0.6), c.warn);
        assert_eq!(c.level(0.85), c.warn);
        assert_eq!(c.level(0.86), c.bad);
    }
}
