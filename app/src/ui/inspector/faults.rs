//! The fault schedule: one card per fault (node, kind, when, and the kind's parameter),
//! with add and remove. Shown for the whole graph, and on a node for its own faults.

use flowbench_engine::model::{Fault, FaultKind};
use flowbench_engine::{Diagnostic, Graph, NodeKind, Place};

use super::fields::{Memory, NUMBER_WIDTH, Num, Rows, format_ms, grid};

/// A change to the schedule.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultEdit {
    Set(usize, Fault),
    Remove(usize),
    Add(Fault),
}

const KINDS: [(FaultKind, &str, &str); 5] = [
    (
        FaultKind::Fail,
        "fail",
        "The node fails a share (rate) of its work",
    ),
    (FaultKind::Slow, "slow", "Service time × factor"),
    (
        FaultKind::Crash,
        "crash",
        "The node is down; a non-durable queue loses its waiting messages",
    ),
    (
        FaultKind::Stop,
        "stop",
        "A consumer stops taking messages, which back up",
    ),
    (
        FaultKind::Replay,
        "replay",
        "An event log re-delivers from the oldest kept event to one consumer, or all",
    ),
];

pub fn kind_name(kind: FaultKind) -> &'static str {
    KINDS.iter().find(|k| k.0 == kind).map_or("?", |k| k.1)
}

/// `fault` as kind `kind`, keeping what still applies: `rate` only for fail, `factor`
/// (2 unless set) only for slow, `consumer` and no end only for replay.
pub fn with_kind(fault: &Fault, kind: FaultKind) -> Fault {
    Fault {
        kind,
        until_ms: if kind == FaultKind::Replay {
            None
        } else {
            fault.until_ms
        },
        rate: if kind == FaultKind::Fail {
            fault.rate
        } else {
            None
        },
        factor: if kind == FaultKind::Slow {
            Some(fault.factor.unwrap_or(2.0))
        } else {
            None
        },
        consumer: if kind == FaultKind::Replay {
            fault.consumer.clone()
        } else {
            None
        },
        ..fault.clone()
    }
}

/// One line saying what the fault does and when.
pub fn summary(fault: &Fault) -> String {
    let when = match fault.until_ms {
        _ if fault.kind == FaultKind::Replay => format!("at {}", format_ms(fault.at_ms)),
        Some(until) => format!("{} – {}", format_ms(fault.at_ms), format_ms(until)),
        None => format!("from {}", format_ms(fault.at_ms)),
    };
    format!("{} {} · {when}", kind_name(fault.kind), fault.node)
}

/// A new fault on `node` (or on the graph's first service), ten seconds from ten seconds in.
pub fn new_fault(graph: &Graph, node: Option<&str>) -> Fault {
    let node = node
        .map(str::to_owned)
        .or_else(|| {
            graph
                .nodes
                .iter()
                .find(|n| n.kind() == Some(NodeKind::Service))
                .map(|n| n.id.clone())
        })
        .or_else(|| graph.nodes.first().map(|n| n.id.clone()))
        .unwrap_or_default();
    Fault {
        node,
        kind: FaultKind::Fail,
        at_ms: 10_000.0,
        until_ms: Some(20_000.0),
        rate: None,
        factor: None,
        consumer: None,
    }
}

/// The schedule (or the faults on `only_node`); returns the change made, if any.
pub fn faults_ui(
    ui: &mut egui::Ui,
    memory: &mut Memory,
    graph: &Graph,
    diagnostics: &[Diagnostic],
    only_node: Option<&str>,
) -> Option<FaultEdit> {
    let mut edit = None;
    let shown: Vec<usize> = (0..graph.faults.len())
        .filter(|&i| only_node.is_none_or(|id| graph.faults[i].node == id))
        .collect();
    if shown.is_empty() {
        ui.weak(if only_node.is_some() {
            "No fault is scheduled on this node."
        } else {
            "No fault is scheduled. Faults make a node fail, slow down, crash or stop for a while."
        });
    }
    for i in shown {
        let fault = &graph.faults[i];
        ui.push_id(("fault card", i), |ui| {
            egui::Frame::group(ui.style())
                .inner_margin(6.0)
                .show(ui, |ui| {
                    ui.set_width(ui.available_width());
                    ui.horizontal(|ui| {
                        ui.strong(format!("fault {i}"));
                        ui.weak(summary(fault));
                        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                            let remove = ui
                                .small_button("×")
                                .accessible_name(format!("remove fault {i}"));
                            if remove.on_hover_text("Remove this fault").clicked() {
                                edit = Some(FaultEdit::Remove(i));
                            }
                        });
                    });
                    if let Some(changed) = fault_rows(ui, memory, graph, diagnostics, i, fault) {
                        edit = Some(FaultEdit::Set(i, changed));
                    }
                });
        });
    }
    let add = ui
        .button("+ Add fault")
        .on_hover_text("Schedule a fault: fail, slow, crash, stop or replay a node for a while");
    if add.clicked() {
        edit = Some(FaultEdit::Add(new_fault(graph, only_node)));
    }
    edit
}

/// The fields of fault `i`; returns the changed fault.
fn fault_rows(
    ui: &mut egui::Ui,
    memory: &mut Memory,
    graph: &Graph,
    diagnostics: &[Diagnostic],
    i: usize,
    fault: &Fault,
) -> Option<Fault> {
    let notes = diagnostics.iter().filter_map(|d| match &d.place {
        Place::Fault { index, field, .. } if *index == i => Some((field.as_deref(), d)),
        _ => None,
    });
    let mut rows = Rows::new(format!("fault {i}"), memory)
        .with_notes(notes)
        .with_prefix(format!("fault {i} "));
    let mut f = fault.clone();
    grid(("fault", i), ui, |ui| {
        rows.row(
            ui,
            "node",
            "node",
            "The node the fault hits",
            |rows, ui, label| {
                let before = f.node.clone();
                let response = egui::ComboBox::from_id_salt(("fault node", i))
                    .selected_text(f.node.as_str())
                    .width(NUMBER_WIDTH + 60.0)
                    .show_ui(ui, |ui| {
                        for node in &graph.nodes {
                            ui.selectable_value(&mut f.node, node.id.clone(), node.id.as_str());
                        }
                    })
                    .response;
                rows.name(response, label, "node");
                if f.node != before {
                    f.consumer = None;
                    rows.change("node");
                }
            },
        );
        let mut kind = f.kind;
        rows.choice(ui, "kind", "What happens to the node", &mut kind, &KINDS);
        if kind != f.kind {
            f = with_kind(&f, kind);
        }
        rows.number(
            ui,
            "at_ms",
            "When the fault starts, in simulated milliseconds from the start of the run.",
            &mut f.at_ms,
            Num::MS,
        );
        if f.kind == FaultKind::Replay {
            rows.row(
                ui,
                "until_ms",
                "until_ms",
                "A replay happens once, at at_ms.",
                |_, ui, _| {
                    ui.weak("does not apply to a replay");
                },
            );
        } else {
            let default_end = f.at_ms + 10_000.0;
            rows.optional_number(
                ui,
                "until_ms",
                "When the fault ends, in simulated milliseconds. Null = until the end of the run.",
                &mut f.until_ms,
                default_end,
                "to the end",
                Num::MS,
            );
        }
        match f.kind {
            FaultKind::Fail => {
                let mut rate = f.rate.unwrap_or(1.0);
                rows.number(
                    ui,
                    "rate",
                    "Share of the node's work that fails, 0 to 1. Default 1 (all).",
                    &mut rate,
                    Num::PROBABILITY,
                );
                if rows.changed.as_deref() == Some("rate") {
                    f.rate = Some(rate);
                }
            }
            FaultKind::Slow => {
                let mut factor = f.factor.unwrap_or(2.0);
                rows.number(
                    ui,
                    "factor",
                    "Service time multiplier while the fault lasts (5 = five times slower).",
                    &mut factor,
                    Num::FACTOR,
                );
                if rows.changed.as_deref() == Some("factor") {
                    f.factor = Some(factor);
                }
            }
            FaultKind::Replay => {
                let consumers: Vec<&str> = graph
                    .edges_from(&f.node)
                    .filter(|(_, e)| e.port == "out")
                    .map(|(_, e)| e.to.as_str())
                    .collect();
                rows.row(
                    ui,
                    "consumer",
                    "consumer",
                    "The consumer (a node the log feeds) to rewind; all consumers when none is chosen",
                    |rows, ui, label| {
                        let before = f.consumer.clone();
                        let shown = f.consumer.clone().unwrap_or_else(|| "all consumers".to_owned());
                        let response = egui::ComboBox::from_id_salt(("fault consumer", i))
                            .selected_text(shown)
                            .width(NUMBER_WIDTH + 60.0)
                            .show_ui(ui, |ui| {
                                ui.selectable_value(&mut f.consumer, None, "all consumers");
                                for id in &consumers {
                                    ui.selectable_value(&mut f.consumer, Some((*id).to_owned()), *id);
                                }
                            })
                            .response;
                        rows.name(response, label, "consumer");
                        if f.consumer != before {
                            rows.change("consumer");
                        }
                    },
                );
            }
            FaultKind::Crash | FaultKind::Stop => {}
        }
    });
    (f != *fault).then_some(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Changing a fault's kind keeps only the parameters the new kind uses.
    #[test]
    fn changing_kind_keeps_what_applies() {
        let fail = Fault {
            node: "w".into(),
            kind: FaultKind::Fail,
            at_ms: 100.0,
            until_ms: Some(200.0),
            rate: Some(0.5),
            factor: None,
            consumer: None,
        };
        let slow = with_kind(&fail, FaultKind::Slow);
        assert_eq!(
            (slow.rate, slow.factor, slow.until_ms),
            (None, Some(2.0), Some(200.0))
        );
        let replay = with_kind(&slow, FaultKind::Replay);
        assert_eq!((replay.factor, replay.until_ms), (None, None));
        assert_eq!(with_kind(&fail, FaultKind::Fail), fail);
        let graph = Graph::default();
        let g = Graph {
            faults: vec![fail.clone(), slow, replay],
            ..graph
        };
        assert!(flowbench_engine::validate(&g).iter().all(|d| !matches!(
            &d.place,
            Place::Fault { field: Some(f), .. } if f == "rate" || f == "factor"
        )));
    }

    /// The summary line reads like a schedule.
    #[test]
    fn summaries_read_like_a_schedule() {
        let mut f = new_fault(&Graph::default(), Some("payment"));
        assert_eq!(summary(&f), "fail payment · 10 s – 20 s");
        f.until_ms = None;
        assert_eq!(summary(&f), "fail payment · from 10 s");
    }
}
