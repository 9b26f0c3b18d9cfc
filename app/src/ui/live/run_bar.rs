//! The run bar under the menu: run, pause, step, advance, reset, speed and seed; the
//! simulated clock, the engine's events per second, the totals, the conservation check and
//! the run's state; below it, what keeps the run from starting or from taking an edit.

use egui::{Color32, Rect, RichText, Stroke, Vec2, pos2, vec2};
use flowbench_engine::runtime::RunState;

use flowbench_engine::Place;

use super::{BottomTab, LiveSession, Notice, Speed, format, has_brokers};
use crate::ui::{AppCommand, Document};

/// Why max is not offered for a graph with channels on a broker.
const LIVE_ONLY: &str = "Channels on a broker run live only: the broker's time is the wall \
                         clock, so choose 1×, 10× or 100×, not max.";

/// Simulated time the "+1 s" button advances.
pub const ADVANCE_MS: f64 = 1000.0;

pub fn ui(
    ui: &mut egui::Ui,
    live: &mut LiveSession,
    doc: &Document,
    commands: &mut Vec<AppCommand>,
) {
    ui.horizontal_wrapped(|ui| {
        controls_ui(ui, live, doc);
        ui.separator();
        readout_ui(ui, live);
        // The run's state and Export keep to the right end of the bar; when the counts (a
        // big graph's run into the millions) leave them too little room there, they take a
        // row of their own instead of being drawn over the counts.
        // (A wrapping row's available width is the whole row's: measure from the cursor.)
        let room = ui.max_rect().right() - ui.cursor().min.x;
        if room < state_and_export_width(ui, state_word(ui, live).0) {
            ui.end_row();
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let export = ui.menu_button("Export", |ui| {
                let has_run = live.snapshot().is_some();
                let report = ui
                    .add_enabled(has_run, egui::Button::new("Run report (JSON)…"))
                    .on_disabled_hover_text("Start a run first");
                if report.clicked() {
                    commands.push(AppCommand::ExportReport);
                    ui.close();
                }
                let csv = ui
                    .add_enabled(has_run, egui::Button::new("Time series (CSV)…"))
                    .on_disabled_hover_text("Start a run first");
                if csv.clicked() {
                    commands.push(AppCommand::ExportSeriesCsv);
                    ui.close();
                }
            });
            export.response.accessible_name("Export run data");
            state_ui(ui, live);
        });
    });
    notices_ui(ui, live, doc, commands);
}

fn controls_ui(ui: &mut egui::Ui, live: &mut LiveSession, doc: &Document) {
    let failed = matches!(live.state(), Some(RunState::Failed(_)));
    if live.is_running() {
        let pause =
            icon_button(ui, true, Icon::Pause, "Pause").on_hover_text("Pause the run (Space)");
        if pause.clicked() {
            live.pause();
        }
    } else {
        let tip = match live.state() {
            Some(RunState::Paused) => "Go on (Space)",
            Some(RunState::Finished | RunState::Failed(_)) => "Run again from the start (Space)",
            _ => "Run the graph as it is (Space)",
        };
        if icon_button(ui, true, Icon::Play, "Run")
            .on_hover_text(tip)
            .clicked()
        {
            live.run(doc);
        }
    }
    let step = icon_button(ui, !failed, Icon::Step, "Step")
        .on_hover_text("Process exactly one event, then pause");
    if step.clicked() {
        live.step(doc);
    }
    let advance = ui
        .add_enabled(!failed, egui::Button::new("+1 s"))
        .accessible_name("Advance 1 s")
        .on_hover_text("Advance simulated time by one second, then pause");
    if advance.clicked() {
        live.advance(doc, ADVANCE_MS);
    }
    let reset = icon_button(ui, live.is_active(), Icon::Stop, "Reset")
        .on_hover_text("End the run and clear its numbers; the graph stays as it is");
    if reset.clicked() {
        live.reset();
    }

    let speed_label = ui.label("Speed");
    let mut speed = live.speed();
    let live_only = has_brokers(&doc.graph);
    let combo = egui::ComboBox::from_id_salt("live.speed")
        .selected_text(speed.label())
        .width(56.0)
        .show_ui(ui, |ui| {
            for s in Speed::ALL {
                let allowed = !(live_only && s == Speed::Max);
                ui.add_enabled_ui(allowed, |ui| {
                    ui.selectable_value(&mut speed, s, s.label())
                        .on_disabled_hover_text(LIVE_ONLY);
                });
            }
        });
    let tip = if live_only {
        format!("Simulated time against the wall clock. {LIVE_ONLY}")
    } else {
        "Simulated time against the wall clock; max runs as fast as the machine can".to_owned()
    };
    combo
        .response
        .labelled_by(speed_label.id)
        .on_hover_text(tip);
    if speed != live.speed() {
        live.set_speed(speed);
    }

    let seed_label = ui.label("Seed");
    let invalid = live.seed_is_invalid();
    let mut field = egui::TextEdit::singleline(live.seed_text_mut())
        .desired_width(64.0)
        .hint_text(doc.graph.seed.to_string());
    if invalid {
        field = field.text_color(ui.visuals().error_fg_color);
    }
    let response = ui.add(field).labelled_by(seed_label.id);
    if response.changed() {
        live.seed_typed();
    }
    let tip = if invalid {
        format!(
            "Not a whole number: the graph's seed {} is used",
            doc.graph.seed
        )
    } else {
        match live.running_seed() {
            Some(seed) if seed != live.seed_for(&doc.graph) => {
                format!("This run uses seed {seed}; the new seed applies when the run restarts")
            }
            _ => "Same graph + same seed = the same numbers. Empty: the graph's seed".to_owned(),
        }
    };
    response.on_hover_text(tip);
}

/// The icons of the run controls, painted (the app's fonts have no media symbols).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Icon {
    Play,
    Pause,
    Step,
    Stop,
}

/// A button with `icon` painted left of `text`; its accessible name is `text`.
fn icon_button(ui: &mut egui::Ui, enabled: bool, icon: Icon, text: &str) -> egui::Response {
    // Spaces keep room for the icon inside the button.
    let response = ui
        .add_enabled(enabled, egui::Button::new(format!("      {text}")))
        .accessible_name(text);
    let mut color = ui.style().interact(&response).text_color();
    if !enabled {
        color = color.gamma_multiply(0.45);
    }
    let size = 9.0;
    let center = pos2(
        response.rect.left() + 8.0 + size / 2.0,
        response.rect.center().y,
    );
    paint_icon(
        ui.painter(),
        icon,
        Rect::from_center_size(center, Vec2::splat(size)),
        color,
    );
    response
}

fn paint_icon(painter: &egui::Painter, icon: Icon, r: Rect, color: Color32) {
    let triangle = |left: f32, right: f32| {
        vec![
            pos2(left, r.top()),
            pos2(right, r.center().y),
            pos2(left, r.bottom()),
        ]
    };
    match icon {
        Icon::Play => {
            painter.add(egui::Shape::convex_polygon(
                triangle(r.left() + 1.0, r.right()),
                color,
                Stroke::NONE,
            ));
        }
        Icon::Pause => {
            let w = r.width() * 0.32;
            painter.rect_filled(Rect::from_min_size(r.min, vec2(w, r.height())), 1.0, color);
            painter.rect_filled(
                Rect::from_min_size(pos2(r.right() - w, r.top()), vec2(w, r.height())),
                1.0,
                color,
            );
        }
        Icon::Step => {
            let bar = r.width() * 0.22;
            painter.add(egui::Shape::convex_polygon(
                triangle(r.left(), r.right() - bar - 1.0),
                color,
                Stroke::NONE,
            ));
            painter.rect_filled(
                Rect::from_min_size(pos2(r.right() - bar, r.top()), vec2(bar, r.height())),
                0.5,
                color,
            );
        }
        Icon::Stop => {
            painter.rect_filled(r.shrink(0.5), 1.5, color);
        }
    }
}

fn readout_ui(ui: &mut egui::Ui, live: &LiveSession) {
    let report = live.snapshot().map(|s| &s.report);
    clock_ui(ui, report.map_or(0.0, |r| r.sim_time_ms));
    if let Some(snapshot) = live.snapshot() {
        let rate = if snapshot.state == RunState::Running {
            format!("{} events/s", format::number(snapshot.events_per_sec))
        } else {
            format!("{} events", format::count(snapshot.report.events))
        };
        ui.weak(rate).on_hover_text(
            "Scheduler events processed per second of wall time: the engine's speed",
        );
    }
    ui.separator();
    let totals = report.map(|r| r.totals.clone()).unwrap_or_default();
    let weak = ui.visuals().weak_text_color();
    let warn = ui.visuals().warn_fg_color;
    let bad = ui.visuals().error_fg_color;
    for (name, value, color, tip) in [
        (
            "created",
            totals.created,
            None,
            "Messages from producers and requests from clients",
        ),
        (
            "delivered",
            totals.delivered,
            None,
            "Messages that reached a sink and requests answered ok",
        ),
        (
            "dropped",
            totals.dropped,
            Some(warn),
            "Dropped by full buffers (drop policies)",
        ),
        (
            "failed",
            totals.failed,
            Some(bad),
            "Failed after retries, timed out or rejected by a callee",
        ),
        ("lost", totals.lost, Some(bad), "Lost in crashes"),
    ] {
        let color = match color {
            Some(c) if value > 0 => c,
            _ => ui.visuals().text_color(),
        };
        ui.label(RichText::new(name).color(weak).small());
        // Millions in a few characters, so that a big run's counts keep to one row; the
        // exact count in the tooltip (and in the monitor's table).
        let shown = format::count_short(value);
        let tip = if value >= 1_000_000 {
            format!("{tip}: {}", format::count(value))
        } else {
            tip.to_owned()
        };
        ui.label(RichText::new(shown).color(color).monospace())
            .on_hover_text(tip);
    }
    if let Some(report) = report {
        let (text, color) = if report.conservation.ok {
            ("conserved", ok_color(ui))
        } else {
            ("NOT conserved", bad)
        };
        let tip = report.conservation.detail.clone().unwrap_or_else(|| {
            "Every message is accounted for: delivered, dropped, failed, rejected, filtered, lost or in flight"
                .to_owned()
        });
        ui.label(RichText::new(text).color(color).small())
            .on_hover_text(tip);
    }
}

/// "sim time" and the simulated clock, one widget named "sim time" whose value is the clock.
fn clock_ui(ui: &mut egui::Ui, sim_time_ms: f64) {
    let clock = format::clock(sim_time_ms);
    let caption = ui.painter().layout_no_wrap(
        "sim time".to_owned(),
        egui::TextStyle::Small.resolve(ui.style()),
        ui.visuals().weak_text_color(),
    );
    let digits = ui.painter().layout_no_wrap(
        clock.clone(),
        egui::FontId::monospace(14.0),
        ui.visuals().strong_text_color(),
    );
    let gap = 6.0;
    let size = vec2(
        caption.size().x + gap + digits.size().x,
        digits.size().y.max(caption.size().y),
    );
    let (rect, response) = ui.allocate_exact_size(size, egui::Sense::hover());
    let painter = ui.painter();
    painter.galley(
        pos2(rect.left(), rect.center().y - caption.size().y / 2.0),
        caption.clone(),
        Color32::PLACEHOLDER,
    );
    painter.galley(
        pos2(
            rect.left() + caption.size().x + gap,
            rect.center().y - digits.size().y / 2.0,
        ),
        digits,
        Color32::PLACEHOLDER,
    );
    response.widget_info(|| {
        let mut info = egui::WidgetInfo::new(egui::accesskit::Role::Timer);
        info.label = Some("sim time".to_owned());
        info.current_text_value = Some(clock.clone());
        info
    });
    response.on_hover_text("Simulated time (h:mm:ss.mmm)");
}

fn ok_color(ui: &egui::Ui) -> Color32 {
    if ui.visuals().dark_mode {
        Color32::from_rgb(0x4A, 0xDE, 0x80)
    } else {
        Color32::from_rgb(0x16, 0xA3, 0x4A)
    }
}

/// Room the run's state (`state`, the word shown now) and the Export button take at the
/// bar's end.
fn state_and_export_width(ui: &egui::Ui, state: &str) -> f32 {
    let width = |text: &str, style: egui::TextStyle| {
        ui.painter()
            .layout_no_wrap(
                text.to_owned(),
                style.resolve(ui.style()),
                egui::Color32::WHITE,
            )
            .size()
            .x
    };
    let spacing = ui.spacing();
    // The state is shown strong, a little wider than the body font measures it.
    width(state, egui::TextStyle::Body) * 1.1
        + width("Export", egui::TextStyle::Button)
        + 2.0 * spacing.button_padding.x
        + 3.0 * spacing.item_spacing.x
}

/// The run's state in a word, and its colour.
fn state_word(ui: &egui::Ui, live: &LiveSession) -> (&'static str, egui::Color32) {
    match live.state() {
        None if live.is_active() => ("starting", ui.visuals().weak_text_color()),
        None => ("not started", ui.visuals().weak_text_color()),
        Some(RunState::Running) => ("• running", ok_color(ui)),
        Some(RunState::Paused) => ("paused", ui.visuals().warn_fg_color),
        Some(RunState::Finished) => ("finished", ui.visuals().hyperlink_color),
        Some(RunState::Failed(_)) => ("failed", ui.visuals().error_fg_color),
    }
}

fn state_ui(ui: &mut egui::Ui, live: &LiveSession) {
    let (word, color) = state_word(ui, live);
    let caption = ui.label(RichText::new(word).color(color).strong());
    let pace = live.snapshot().map(|s| s.pace);
    if let Some(pace) = pace {
        caption.on_hover_text(format!("Pace: {pace:?}"));
    }
}

/// What stands between the user and a run that shows their graph: a failure, errors that
/// keep it from starting, edits it cannot take live.
fn notices_ui(
    ui: &mut egui::Ui,
    live: &mut LiveSession,
    doc: &Document,
    commands: &mut Vec<AppCommand>,
) {
    let error = ui.visuals().error_fg_color;
    let warn = ui.visuals().warn_fg_color;
    if let Some(RunState::Failed(message)) = live.state().cloned() {
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(error, format!("The run failed: {message}"));
            if ui.button("Reset the run").clicked() {
                live.reset();
            }
        });
    }
    let mut restart_shown = false;
    for notice in live.notices() {
        ui.horizontal_wrapped(|ui| {
            let color = if matches!(notice, Notice::CannotStart(_)) {
                error
            } else {
                warn
            };
            ui.colored_label(color, notice.message());
            if matches!(notice, Notice::CannotStart(_)) && ui.button("Show problems").clicked() {
                live.tab = BottomTab::Problems;
                if let Some(id) =
                    doc.diagnostics
                        .iter()
                        .find(|d| d.is_error())
                        .and_then(|d| match &d.place {
                            Place::Node { id, .. } | Place::Fault { node: id, .. } => {
                                Some(id.clone())
                            }
                            _ => None,
                        })
                {
                    commands.push(AppCommand::FocusNode(id));
                }
            }
            if notice.restart_helps() && !restart_shown {
                restart_shown = true;
                let restart = ui
                    .button("Restart")
                    .on_hover_text("Start the run again from the graph as it is now");
                if restart.clicked() {
                    live.restart(doc);
                }
            }
            if matches!(notice, Notice::LiveOnly(_))
                && ui
                    .button("Run at 1×")
                    .on_hover_text("Set the speed to 1× and run")
                    .clicked()
            {
                live.set_speed(Speed::X1);
                live.dismiss(&notice);
                live.run(doc);
            }
            if matches!(
                notice,
                Notice::Refused(_) | Notice::CommandRefused(_) | Notice::LiveOnly(_)
            ) && ui.button("Dismiss").clicked()
            {
                live.dismiss(&notice);
            }
        });
    }
}
