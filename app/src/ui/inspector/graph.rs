//! The inspector with nothing selected: the graph's header, a summary of what it holds,
//! and its fault schedule.

use std::collections::BTreeMap;

use flowbench_engine::{NodeKind, Place};

use super::faults::{FaultEdit, faults_ui};
use super::fields::{Memory, NUMBER_WIDTH, grid, note, section};
use crate::ui::Document;

pub fn graph_ui(ui: &mut egui::Ui, doc: &mut Document, memory: &mut Memory) {
    ui.heading("Graph");
    ui.weak("Nothing is selected: these settings belong to the whole graph.");
    ui.add_space(4.0);
    for d in doc
        .diagnostics
        .iter()
        .filter(|d| matches!(d.place, Place::Graph { .. }))
    {
        note(ui, d.severity, format!("{}: {}", d.place, d.message));
    }
    section(ui, "Header", |ui| header_ui(ui, doc));
    section(ui, "Summary", |ui| summary_ui(ui, doc));
    section(ui, "Fault schedule", |ui| {
        let edit = faults_ui(ui, memory, &doc.graph, &doc.diagnostics, None);
        apply_fault_edit(doc, edit);
    });
}

/// Applies a change of the fault schedule to the document.
pub fn apply_fault_edit(doc: &mut Document, edit: Option<FaultEdit>) {
    match edit {
        Some(FaultEdit::Set(i, fault)) => doc.set_fault(i, fault),
        Some(FaultEdit::Remove(i)) => doc.remove_fault(i),
        Some(FaultEdit::Add(fault)) => doc.add_fault(fault),
        None => {}
    }
}

fn header_ui(ui: &mut egui::Ui, doc: &mut Document) {
    grid("graph header", ui, |ui| {
        let label = ui
            .label("name")
            .on_hover_text("The graph's title, shown in reports");
        let mut name = doc.graph.name.clone();
        let edit = egui::TextEdit::singleline(&mut name).desired_width(f32::INFINITY);
        if ui.add(edit).labelled_by(label.id).changed() {
            doc.edit_header("name", |g| g.name = name);
        }
        ui.end_row();

        let label = ui
            .label("description")
            .on_hover_text("What the graph shows and what to watch when it runs");
        let mut description = doc.graph.description.clone();
        let edit = egui::TextEdit::multiline(&mut description)
            .desired_rows(4)
            .desired_width(f32::INFINITY);
        let changed = egui::ScrollArea::vertical()
            .id_salt("description")
            .max_height(120.0)
            .show(ui, |ui| ui.add(edit).labelled_by(label.id).changed())
            .inner;
        if changed {
            doc.edit_header("description", |g| g.description = description);
        }
        ui.end_row();

        let label = ui.label("seed").on_hover_text(
            "Seed of every node's random stream: the same graph with the same seed gives the same \
             report, number for number. Default 0.",
        );
        let mut seed = doc.graph.seed;
        let drag = egui::DragValue::new(&mut seed)
            .speed(1.0)
            .min_size(egui::vec2(NUMBER_WIDTH, 0.0));
        if ui.add(drag).labelled_by(label.id).changed() {
            doc.edit_header("seed", |g| g.seed = seed);
        }
        ui.end_row();
    });
}

fn summary_ui(ui: &mut egui::Ui, doc: &Document) {
    let g = &doc.graph;
    let mut per_kind: BTreeMap<NodeKind, usize> = BTreeMap::new();
    let mut unknown = 0;
    for node in &g.nodes {
        match node.kind() {
            Some(kind) => *per_kind.entry(kind).or_default() += 1,
            None => unknown += 1,
        }
    }
    grid("graph summary", ui, |ui| {
        ui.label("nodes");
        ui.vertical(|ui| {
            ui.label(g.nodes.len().to_string());
            let mut parts: Vec<String> = per_kind
                .iter()
                .map(|(kind, n)| format!("{n} {kind}"))
                .collect();
            if unknown > 0 {
                parts.push(format!("{unknown} not understood"));
            }
            ui.horizontal_wrapped(|ui| {
                ui.spacing_mut().item_spacing.x = 0.0;
                for (i, part) in parts.iter().enumerate() {
                    let text = if i + 1 < parts.len() {
                        format!("{part} · ")
                    } else {
                        part.clone()
                    };
                    ui.weak(text);
                }
            });
        });
        ui.end_row();
        ui.label("edges");
        ui.label(g.edges.len().to_string());
        ui.end_row();
        ui.label("faults");
        ui.label(g.faults.len().to_string());
        ui.end_row();
        ui.label("problems");
        let errors = doc.diagnostics.iter().filter(|d| d.is_error()).count();
        let warnings = doc.diagnostics.len() - errors;
        if errors + warnings == 0 {
            ui.label("none: ready to run");
        } else {
            ui.horizontal(|ui| {
                if errors > 0 {
                    ui.colored_label(ui.visuals().error_fg_color, format!("{errors} errors"));
                }
                if warnings > 0 {
                    ui.colored_label(ui.visuals().warn_fg_color, format!("{warnings} warnings"));
                }
            });
        }
        ui.end_row();
    });
}
