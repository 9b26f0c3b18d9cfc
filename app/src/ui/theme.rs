//! Light and dark themes, following the system unless the user picks one.

/// Sets up fonts and styles once at start-up.
pub fn install(ctx: &egui::Context) {
    ctx.options_mut(|o| o.theme_preference = egui::ThemePreference::System);
    // The canvas draws its node icons from SVG.
    egui_extras::install_image_loaders(ctx);
}

/// The theme switch of the View menu.
pub fn menu_ui(ui: &mut egui::Ui) {
    let mut preference = ui.ctx().options(|o| o.theme_preference);
    ui.label("Theme");
    let changed = [
        (egui::ThemePreference::System, "Follow the system"),
        (egui::ThemePreference::Light, "Light"),
        (egui::ThemePreference::Dark, "Dark"),
    ]
    .into_iter()
    .any(|(value, label)| ui.radio_value(&mut preference, value, label).changed());
    if changed {
        ui.ctx().set_theme(preference);
    }
}
