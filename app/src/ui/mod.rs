//! The designer window. For now a read-only view of one graph file: its name, its nodes and
//! the problems validation finds.

use std::path::{Path, PathBuf};

use flowbench_engine::{Diagnostic, Graph};

use crate::cli::load;

/// The graph shown when the designer starts without a file.
const SAMPLE_NAME: &str = "mm1.json (sample)";
const SAMPLE_GRAPH: &str = include_str!("../../../sample-graphs/mm1.json");

/// Opens the designer on `path`, or on a sample graph, and returns when the window closes.
pub fn run_designer(path: Option<PathBuf>) -> anyhow::Result<()> {
    let document = match &path {
        Some(path) => Document::from_file(path),
        None => Document::from_text(SAMPLE_NAME, SAMPLE_GRAPH),
    };
    let title = format!("Flowbench — {}", document.title);
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(title.clone())
            .with_inner_size([720.0, 520.0]),
        ..Default::default()
    };
    eframe::run_native(
        "flowbench",
        options,
        Box::new(|_cc| Ok(Box::new(Designer { document }))),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the designer window ({title}): {e}"))
}

/// What the window shows about one file.
pub struct Document {
    /// The file name as shown in the window title.
    pub title: String,
    /// The graph and its diagnostics, or the one line saying why the file gave no graph.
    pub content: Result<(Graph, Vec<Diagnostic>), String>,
}

impl Document {
    pub fn from_file(path: &Path) -> Document {
        Document {
            title: path.display().to_string(),
            content: load::load(path).map_err(|e| e.line(path)),
        }
    }

    pub fn from_text(title: &str, text: &str) -> Document {
        let content = Graph::from_json_str(text)
            .map(|graph| {
                let diagnostics = flowbench_engine::validate(&graph);
                (graph, diagnostics)
            })
            .map_err(|e| format!("{title}:{e}"));
        Document {
            title: title.to_owned(),
            content,
        }
    }
}

struct Designer {
    document: Document,
}

impl eframe::App for Designer {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        egui::CentralPanel::default().show(ui, |ui| document_ui(ui, &self.document));
    }
}

fn document_ui(ui: &mut egui::Ui, document: &Document) {
    let (graph, diagnostics) = match &document.content {
        Ok(content) => content,
        Err(problem) => {
            ui.heading(&document.title);
            ui.label("This file could not be read as a graph:");
            ui.colored_label(ui.visuals().error_fg_color, problem);
            return;
        }
    };
    ui.heading(if graph.name.is_empty() {
        "(unnamed graph)"
    } else {
        &graph.name
    });
    if !graph.description.is_empty() {
        ui.label(&graph.description);
    }
    ui.separator();
    egui::ScrollArea::vertical().show(ui, |ui| {
        ui.strong(format!("Nodes ({})", graph.nodes.len()));
        for node in &graph.nodes {
            ui.label(format!("{} — {}", node.display_name(), node.kind_name()));
        }
        ui.add_space(8.0);
        ui.strong(format!("Problems ({})", diagnostics.len()));
        if diagnostics.is_empty() {
            ui.label("No problems found.");
        }
        for diagnostic in diagnostics {
            let color = if diagnostic.is_error() {
                ui.visuals().error_fg_color
            } else {
                ui.visuals().warn_fg_color
            };
            ui.colored_label(color, diagnostic.to_string());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sample the designer opens without a file is a graph, not an error.
    #[test]
    fn sample_graph_loads() {
        let document = Document::from_text(SAMPLE_NAME, SAMPLE_GRAPH);
        let (graph, _) = document.content.expect("sample parses");
        assert_eq!(graph.name, "M/M/1 queue");
        assert_eq!(graph.nodes.len(), 4);
    }

    /// A missing file gives a document that says so, naming the file.
    #[test]
    fn missing_file_is_shown_not_fatal() {
        let document = Document::from_file(Path::new("no/such/graph.json"));
        let problem = document.content.expect_err("missing file");
        assert!(
            problem.starts_with("no/such/graph.json: cannot read:"),
            "{problem}"
        );
    }
}
