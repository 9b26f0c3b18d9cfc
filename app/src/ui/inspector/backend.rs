//! Where a channel lives and which process runs a node: a queue, topic or event log runs in
//! the embedded engine or on the one broker that fits its kind (RabbitMQ, NATS, JetStream),
//! with that broker's address and names; any node may be tagged with the process that runs
//! it when one graph runs as several cooperating `flowbench` processes.

use flowbench_engine::model::{Backend, JetStreamBackend, NatsBackend, RabbitMqBackend};
use flowbench_engine::{Diagnostic, NodeConfig, NodeKind};

use super::fields::{Num, Rows, grid};
use crate::ui::Document;
use crate::ui::canvas::summary::broker_title;
use crate::ui::document::MergeKey;

/// Whether nodes of `kind` may live on a broker.
pub fn has_broker(kind: NodeKind) -> bool {
    matches!(kind, NodeKind::Queue | NodeKind::Topic | NodeKind::EventLog)
}

/// The broker that fits a channel of `kind`, with its defaults and the channel named after
/// the node (`id`) so that it validates as chosen.
pub fn fitting_backend(kind: NodeKind, id: &str) -> Option<Backend> {
    match kind {
        NodeKind::Queue => Some(Backend::RabbitMq(RabbitMqBackend {
            queue: id.to_owned(),
            ..RabbitMqBackend::default()
        })),
        NodeKind::Topic => Some(Backend::Nats(NatsBackend {
            subject: id.to_owned(),
            ..NatsBackend::default()
        })),
        NodeKind::EventLog => Some(Backend::JetStream(JetStreamBackend {
            stream: stream_name(id),
            subject: id.to_owned(),
            ..JetStreamBackend::default()
        })),
        _ => None,
    }
}

/// A JetStream stream name from a node id: upper case, `.` (not allowed in stream names)
/// as `_`.
fn stream_name(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c == '.' {
                '_'
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect()
}

fn backend_mut(config: &mut NodeConfig) -> Option<&mut Option<Backend>> {
    match config {
        NodeConfig::Queue(c) => Some(&mut c.backend),
        NodeConfig::Topic(c) => Some(&mut c.backend),
        NodeConfig::EventLog(c) => Some(&mut c.backend),
        _ => None,
    }
}

const KIND_HELP: &str = "Where the channel lives. Flowbench engine: inside this run. A broker: on a \
                         real RabbitMQ, NATS or JetStream server, so that one graph can run as \
                         several flowbench processes (on one machine or several) sharing the \
                         channel. Channels on a broker run live only (1×, 10×, 100×).";

/// The "Broker" section of a queue, topic or event log: the combo choosing where it runs
/// and, on a broker, its address and names. Each change is one undoable edit.
pub fn broker_ui(ui: &mut egui::Ui, doc: &mut Document, rows: &mut Rows, id: &str) {
    let Some((kind, mut config)) = doc
        .node(id)
        .and_then(|n| Some((n.kind()?, n.config.clone())))
    else {
        return;
    };
    let Some(backend) = backend_mut(&mut config) else {
        return;
    };
    let Some(fitting) = fitting_backend(kind, id) else {
        return;
    };
    // What was set aside when switching back to the engine, to restore on switching again.
    let aside_id = ui.scope_id().with(("broker set aside", id));
    grid("broker", ui, |ui| {
        rows.row(
            ui,
            "backend.kind",
            "runs on",
            KIND_HELP,
            |rows, ui, label| {
                let current = backend.as_ref().map_or("Flowbench engine", broker_title_of);
                let mut on_broker = backend.is_some();
                let response = egui::ComboBox::from_id_salt(("broker kind", id))
                    .selected_text(current)
                    .width(140.0)
                    .show_ui(ui, |ui| {
                        ui.selectable_value(&mut on_broker, false, "Flowbench engine")
                            .on_hover_text("The channel lives inside this run (every pace)");
                        ui.selectable_value(&mut on_broker, true, broker_title_of(&fitting))
                            .on_hover_text(format!(
                                "The channel lives on a {} server; live runs only",
                                broker_title_of(&fitting)
                            ));
                    })
                    .response;
                rows.name(response.on_hover_text(KIND_HELP), label, "backend.kind");
                if on_broker != backend.is_some() {
                    if on_broker {
                        let aside: Option<Backend> = ui.data(|d| d.get_temp(aside_id));
                        *backend = Some(
                            aside
                                .filter(|b| b.kind_name() == fitting.kind_name())
                                .unwrap_or_else(|| fitting.clone()),
                        );
                    } else {
                        if let Some(b) = backend.take() {
                            ui.data_mut(|d| d.insert_temp(aside_id, b));
                        }
                    }
                    rows.change("backend");
                }
            },
        );
        match backend {
            None => {}
            Some(Backend::RabbitMq(b)) => {
                url_row(
                    rows,
                    ui,
                    &mut b.url,
                    "amqp://guest:guest@127.0.0.1:5672/%2f",
                );
                text_row(
                    rows,
                    ui,
                    "backend.queue",
                    "queue",
                    "The queue's name on the broker, declared if missing: at most 255 bytes, \
                     not starting 'amq.'. Processes naming the same queue compete for its \
                     messages.",
                    &mut b.queue,
                    "orders",
                );
                rows.row(
                    ui,
                    "backend.durable",
                    "durable",
                    DURABLE_HELP,
                    |rows, ui, label| {
                        let response = ui
                            .checkbox(&mut b.durable, "survives a broker restart")
                            .on_hover_text(DURABLE_HELP);
                        if rows.name(response, label, "backend.durable").changed() {
                            rows.change("backend.durable");
                        }
                    },
                );
                rows.number_as(
                    ui,
                    "backend.prefetch",
                    "prefetch",
                    "Unacknowledged messages one consuming process holds at most (1 to 65535). \
                     Default 100.",
                    &mut b.prefetch,
                    Num::COUNT.max(f64::from(u16::MAX)),
                );
            }
            Some(Backend::Nats(b)) => {
                url_row(rows, ui, &mut b.url, "nats://127.0.0.1:4222");
                text_row(
                    rows,
                    ui,
                    "backend.subject",
                    "subject",
                    SUBJECT_HELP,
                    &mut b.subject,
                    "events.orders",
                );
            }
            Some(Backend::JetStream(b)) => {
                url_row(rows, ui, &mut b.url, "nats://127.0.0.1:4222");
                text_row(
                    rows,
                    ui,
                    "backend.stream",
                    "stream",
                    "The stream's name: letters, digits, '_' and '-'; created if missing.",
                    &mut b.stream,
                    "ORDERS",
                );
                text_row(
                    rows,
                    ui,
                    "backend.subject",
                    "subject",
                    "The subject the stream captures. Ending in a wildcard ('orders.>'), events \
                     are published with the wildcard replaced by this node's id.",
                    &mut b.subject,
                    "orders.>",
                );
            }
        }
    });
    if config.backend().is_some() {
        ui.add_space(2.0);
        ui.add(
            egui::Label::new(
                egui::RichText::new(
                    "Live runs only (1×, 10×, 100×). Processes that share this channel on the \
                     broker share its messages.",
                )
                .weak()
                .small(),
            )
            .wrap(),
        );
    }
    if let Some(field) = rows.changed.clone() {
        doc.set_config(id, &field, config);
    }
}

const DURABLE_HELP: &str = "Declared durable and messages published persistent: the queue and \
                            what waits in it survive a broker restart. Default true.";

const SUBJECT_HELP: &str = "The subject messages are published on and subscribed to: \
                            dot-separated tokens, '*' a whole token, '>' only last.";

fn broker_title_of(backend: &Backend) -> &'static str {
    broker_title(backend.kind_name())
}

fn url_row(rows: &mut Rows, ui: &mut egui::Ui, url: &mut String, example: &str) {
    let help = format!(
        "The broker's address, e.g. {example}. A password in it is shown as *** in reports."
    );
    text_row(rows, ui, "backend.url", "url", &help, url, example);
}

/// A text field written to the config as it is typed.
fn text_row(
    rows: &mut Rows,
    ui: &mut egui::Ui,
    field: &str,
    shown: &str,
    help: &str,
    value: &mut String,
    hint: &str,
) {
    rows.row(ui, field, shown, help, |rows, ui, label| {
        let edit = egui::TextEdit::singleline(value)
            .hint_text(hint)
            .desired_width(f32::INFINITY);
        let response = ui.add(edit).on_hover_text(help);
        if rows.name(response, label, field).changed() {
            rows.change(field);
        }
    });
}

const PROCESS_HELP: &str = "The process that runs this node when one graph runs as several \
                            flowbench processes (flowbench run --process NAME): letters, digits, \
                            '_', '.' and '-'. Empty: every process that runs the whole graph.";

/// The node's optional process tag; empty clears it. One undoable edit per burst of typing.
pub fn process_ui(
    ui: &mut egui::Ui,
    doc: &mut Document,
    id: &str,
    notes: &[(Option<&str>, &Diagnostic)],
) {
    let current = doc
        .node(id)
        .and_then(|n| n.process.clone())
        .unwrap_or_default();
    grid("process", ui, |ui| {
        let label = ui.label("process").on_hover_text(PROCESS_HELP);
        let mut text = current.clone();
        let edit = egui::TextEdit::singleline(&mut text)
            .hint_text("every process")
            .desired_width(f32::INFINITY);
        let response = ui
            .add(edit)
            .on_hover_text(PROCESS_HELP)
            .labelled_by(label.id);
        if response.changed() && text != current {
            set_process(doc, id, &text);
        }
        ui.end_row();
        for (field, d) in notes {
            if *field == Some("process") {
                ui.label("");
                super::fields::note(ui, d.severity, &d.message);
                ui.end_row();
            }
        }
    });
}

/// Sets node `id`'s process tag; an empty (or blank) text removes it.
pub fn set_process(doc: &mut Document, id: &str, text: &str) {
    let process = Some(text.trim().to_owned()).filter(|p| !p.is_empty());
    let key = MergeKey(format!("process:{id}"));
    doc.edit("Change process", Some(key), |g| {
        if let Some(node) = g.nodes.iter_mut().find(|n| n.id == id) {
            node.process = process;
        }
    });
}
