//! Keyboard shortcuts: one table drives both the handling and the F1 sheet.

use egui::{Key, KeyboardShortcut, Modifiers};

use crate::ui::{AppCommand, FlowbenchApp};

/// Every shortcut: keys, what it does, the command it sends.
pub fn table() -> Vec<(KeyboardShortcut, &'static str, AppCommand)> {
    let cmd = Modifiers::COMMAND;
    let cmd_shift = Modifiers::COMMAND | Modifiers::SHIFT;
    vec![
        (
            KeyboardShortcut::new(cmd, Key::N),
            "New graph",
            AppCommand::New,
        ),
        (
            KeyboardShortcut::new(cmd, Key::O),
            "Open…",
            AppCommand::Open,
        ),
        (
            KeyboardShortcut::new(cmd_shift, Key::S),
            "Save as…",
            AppCommand::SaveAs,
        ),
        (KeyboardShortcut::new(cmd, Key::S), "Save", AppCommand::Save),
        (
            KeyboardShortcut::new(cmd_shift, Key::Z),
            "Redo",
            AppCommand::Redo,
        ),
        (KeyboardShortcut::new(cmd, Key::Y), "Redo", AppCommand::Redo),
        (KeyboardShortcut::new(cmd, Key::Z), "Undo", AppCommand::Undo),
        (
            KeyboardShortcut::new(cmd, Key::D),
            "Duplicate selection",
            AppCommand::Duplicate,
        ),
        (
            KeyboardShortcut::new(cmd, Key::A),
            "Select all",
            AppCommand::SelectAll,
        ),
        (
            KeyboardShortcut::new(cmd, Key::L),
            "Auto layout",
            AppCommand::AutoLayout,
        ),
        (
            KeyboardShortcut::new(Modifiers::NONE, Key::Delete),
            "Delete selection",
            AppCommand::Delete,
        ),
        // Before plain F, which would otherwise take Ctrl+F too.
        (
            KeyboardShortcut::new(cmd, Key::F),
            "Find node",
            AppCommand::Find,
        ),
        (
            KeyboardShortcut::new(Modifiers::NONE, Key::F),
            "Fit graph in view",
            AppCommand::FitView,
        ),
        (
            KeyboardShortcut::new(Modifiers::NONE, Key::Space),
            "Run or pause the graph",
            AppCommand::ToggleRun,
        ),
        (
            KeyboardShortcut::new(Modifiers::NONE, Key::F1),
            "Show this sheet",
            AppCommand::ShowShortcuts,
        ),
    ]
}

/// Mouse gestures, for the sheet.
const GESTURES: [(&str, &str); 9] = [
    ("Drag background / middle mouse", "Pan"),
    ("Scroll", "Pan"),
    ("Ctrl + scroll / pinch", "Zoom at the cursor"),
    ("Click / Shift+click", "Select / add to selection"),
    ("Drag on background with Shift", "Rubber-band select"),
    ("Drag from an output port to a node", "Connect"),
    ("Double-click a node", "Rename in place"),
    ("Right-click a node", "Context menu"),
    (
        "Ctrl+C / Ctrl+X / Ctrl+V",
        "Copy, cut, paste (as graph JSON)",
    ),
];

/// Turns this frame's key presses into commands, unless a text field has the keyboard.
pub fn handle(app: &mut FlowbenchApp, ctx: &egui::Context) {
    // Copy, cut and paste arrive as events rather than key presses.
    let typing = ctx.egui_wants_keyboard_input();
    let events = ctx.input(|i| i.events.clone());
    for event in events {
        match event {
            egui::Event::Copy if !typing => app.commands.push(AppCommand::Copy),
            egui::Event::Cut if !typing => app.commands.push(AppCommand::Cut),
            egui::Event::Paste(text) if !typing => {
                let offset = [40.0, 40.0];
                match app.doc.paste_json(&text, offset) {
                    Ok(n) => app
                        .commands
                        .push(AppCommand::Status(format!("Pasted {n} nodes"))),
                    Err(e) => app.commands.push(AppCommand::Status(e)),
                }
            }
            _ => {}
        }
    }
    if typing {
        // Text fields keep their own Ctrl+Z; only the file shortcuts stay global.
        for (shortcut, _, command) in table() {
            let global = matches!(
                command,
                AppCommand::Save | AppCommand::SaveAs | AppCommand::Open
            );
            if global && ctx.input_mut(|i| i.consume_shortcut(&shortcut)) {
                app.commands.push(command);
            }
        }
        return;
    }
    for (shortcut, _, command) in table() {
        if ctx.input_mut(|i| i.consume_shortcut(&shortcut)) {
            app.commands.push(command);
        }
    }
    if ctx.input_mut(|i| i.consume_key(Modifiers::NONE, Key::Backspace)) {
        app.commands.push(AppCommand::Delete);
    }
}

/// The F1 sheet.
pub fn window(ctx: &egui::Context, open: &mut bool) {
    egui::Window::new("Keyboard shortcuts")
        .open(open)
        .collapsible(false)
        .resizable(false)
        .show(ctx, |ui| {
            egui::Grid::new("shortcuts").striped(true).show(ui, |ui| {
                for (shortcut, what, _) in table() {
                    ui.monospace(ctx.format_shortcut(&shortcut));
                    ui.label(what);
                    ui.end_row();
                }
                for (keys, what) in GESTURES {
                    ui.monospace(keys);
                    ui.label(what);
                    ui.end_row();
                }
            });
        });
}
