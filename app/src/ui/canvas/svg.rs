//! The graph as an SVG drawing, with the canvas's geometry and look: node boxes with icons,
//! names and config lines, port handles, edges with arrowheads and port names, calls dashed.

use std::fmt::Write as _;

use egui::{Pos2, Rect};
use flowbench_engine::Graph;

use super::geometry::{NODE_SIZE, PORT_RADIUS, Scene, arrowhead, bezier_point, curve_bounds};
use super::icons;
use super::style::{self, Palette, css};

/// Margin around the graph.
const MARGIN: f32 = 32.0;
/// Fonts tried in order; close to what the canvas uses.
const FONTS: &str = "Ubuntu, 'Segoe UI', 'Helvetica Neue', Helvetica, Arial, sans-serif";
/// Rough width of a character relative to the font size, to shorten long names.
const CHAR_WIDTH: f32 = 0.56;

/// The whole graph as a standalone SVG document.
pub fn export_svg(graph: &Graph, dark: bool) -> String {
    let scene = Scene::build(graph, &[]);
    let p = Palette::new(dark);
    let mut bounds = scene
        .bounds()
        .unwrap_or(Rect::from_min_size(Pos2::ZERO, NODE_SIZE));
    // Edges going backwards swing out beside the nodes.
    for e in &scene.edges {
        bounds = bounds.union(curve_bounds(&scene.edge_curve(e)));
    }
    let bounds = bounds.expand(MARGIN);
    let mut out = String::new();
    let _ = writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="{x} {y} {w} {h}" font-family="{FONTS}">"#,
        x = n(bounds.min.x),
        y = n(bounds.min.y),
        w = n(bounds.width()),
        h = n(bounds.height()),
    );
    if !graph.name.is_empty() {
        let _ = writeln!(out, "  <title>{}</title>", escape(&graph.name));
    }
    let _ = writeln!(
        out,
        r#"  <rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>"#,
        n(bounds.min.x),
        n(bounds.min.y),
        n(bounds.width()),
        n(bounds.height()),
        css(p.background)
    );

    out.push_str("  <g fill=\"none\" stroke-width=\"1.5\" stroke-linecap=\"round\">\n");
    for e in &scene.edges {
        let c = scene.edge_curve(e);
        let color = css(p.edge_color(e.call));
        let dash = if e.call {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        let _ = writeln!(
            out,
            r#"    <path d="M{} {} C{} {} {} {} {} {}" stroke="{color}"{dash}/>"#,
            n(c[0].x),
            n(c[0].y),
            n(c[1].x),
            n(c[1].y),
            n(c[2].x),
            n(c[2].y),
            n(c[3].x),
            n(c[3].y)
        );
        let [tip, a, b] = arrowhead(scene.nodes[e.to].rect.left_center());
        let _ = writeln!(
            out,
            r#"    <polygon points="{},{} {},{} {},{}" fill="{color}" stroke="none"/>"#,
            n(tip.x),
            n(tip.y),
            n(a.x),
            n(a.y),
            n(b.x),
            n(b.y)
        );
    }
    out.push_str("  </g>\n");

    for e in &scene.edges {
        let Some(label) = &e.label else { continue };
        let at = bezier_point(&scene.edge_curve(e), 0.5);
        let width = label.chars().count() as f32 * style::SMALL_SIZE * CHAR_WIDTH + 8.0;
        let _ = writeln!(
            out,
            r#"  <rect x="{}" y="{}" width="{}" height="{}" rx="4" fill="{}"/>"#,
            n(at.x - width / 2.0),
            n(at.y - 7.0),
            n(width),
            n(14.0),
            css(p.label_fill)
        );
        let _ = writeln!(
            out,
            r#"  <text x="{}" y="{}" font-size="{}" text-anchor="middle" dominant-baseline="central" fill="{}" stroke="none">{}</text>"#,
            n(at.x),
            n(at.y),
            n(style::SMALL_SIZE),
            css(p.edge_color(e.call)),
            escape(label)
        );
    }

    for node in &scene.nodes {
        let r = node.rect;
        let accent = css(p.accent(node.kind));
        let _ = writeln!(out, r#"  <g id="node-{}">"#, escape(&node.id));
        let _ = writeln!(
            out,
            r#"    <rect x="{}" y="{}" width="{}" height="{}" rx="{}" fill="{}" stroke="{}"/>"#,
            n(r.min.x + 0.5),
            n(r.min.y + 0.5),
            n(r.width() - 1.0),
            n(r.height() - 1.0),
            n(style::NODE_RADIUS),
            css(p.node_fill),
            css(p.node_border)
        );
        let tile_x = r.min.x + style::TILE_MARGIN;
        let tile_y = r.center().y - style::TILE_SIZE / 2.0;
        let _ = writeln!(
            out,
            r#"    <rect x="{}" y="{}" width="{ts}" height="{ts}" rx="6" fill="{}"/>"#,
            n(tile_x),
            n(tile_y),
            css(p.accent_soft(node.kind)),
            ts = n(style::TILE_SIZE)
        );
        if let Some(kind) = node.kind {
            let scale = style::ICON_SIZE / 24.0;
            let inset = (style::TILE_SIZE - style::ICON_SIZE) / 2.0;
            let _ = writeln!(
                out,
                r#"    <g transform="translate({} {}) scale({})" fill="none" stroke="{accent}" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">{}</g>"#,
                n(tile_x + inset),
                n(tile_y + inset),
                n(scale),
                icons::inner(icons::svg(kind)).replace('\n', "")
            );
        }
        let left = r.min.x + style::TEXT_LEFT;
        let room = NODE_SIZE.x - style::TEXT_LEFT - style::TEXT_RIGHT;
        let (title, title_size) = shorten(&node.title, style::TITLE_SIZE, room);
        if node.summary.is_empty() {
            text(&mut out, left, r.center().y, title_size, p.text, &title);
        } else {
            text(
                &mut out,
                left,
                r.center().y - 8.0,
                title_size,
                p.text,
                &title,
            );
            let (summary, size) = shorten(&node.summary, style::SUMMARY_SIZE, room);
            text(
                &mut out,
                left,
                r.center().y + 9.0,
                size,
                p.text_weak,
                &summary,
            );
        }
        // Only ports with edges: free ones are editing handles.
        for (i, port) in node
            .ports
            .iter()
            .enumerate()
            .filter(|(i, _)| node.wired[*i])
        {
            let c = node.port_pos(i);
            let call = node.kind.is_some_and(|k| k.is_call_port(port));
            let _ = writeln!(
                out,
                r#"    <circle cx="{}" cy="{}" r="{}" fill="{}" stroke="{}" stroke-width="1.5"/>"#,
                n(c.x),
                n(c.y),
                n(PORT_RADIUS),
                css(p.edge_color(call)),
                css(p.node_fill)
            );
        }
        out.push_str("  </g>\n");
    }
    out.push_str("</svg>\n");
    out
}

/// One line of text whose vertical middle is at `y`.
fn text(out: &mut String, x: f32, y: f32, size: f32, color: egui::Color32, content: &str) {
    let _ = writeln!(
        out,
        r#"    <text x="{}" y="{}" font-size="{}" dominant-baseline="central" fill="{}" stroke="none">{}</text>"#,
        n(x),
        n(y),
        n(size),
        css(color),
        escape(content)
    );
}

/// `text` in about `width` at font `size`, with the size to set it in: a little smaller when
/// that lets all of it fit (as on the canvas), else cut with an ellipsis at `size`.
fn shorten(text: &str, size: f32, width: f32) -> (String, f32) {
    let fits = |size: f32| (width / (size * CHAR_WIDTH)).floor() as usize;
    let len = text.chars().count();
    if len <= fits(size) {
        (text.to_owned(), size)
    } else if len <= fits(size * style::SMALLEST_FIT) {
        (text.to_owned(), size * style::SMALLEST_FIT)
    } else {
        let mut short: String = text.chars().take(fits(size).saturating_sub(1)).collect();
        short.push('…');
        (short, size)
    }
}

/// A coordinate with at most two decimals.
fn n(x: f32) -> String {
    let s = format!("{x:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every sample exports to well-formed SVG that names every node, in both themes.
    #[test]
    fn well_formed_and_complete() {
        // The samples, and those in folders (brokers/…).
        let samples = crate::test_support::sample_graphs();
        assert!(samples.iter().any(|(n, _)| n.starts_with("brokers")));
        for (name, graph) in samples {
            for dark in [false, true] {
                let svg = export_svg(&graph, dark);
                let doc =
                    roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{name}: {e}"));
                let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
                for node in &graph.nodes {
                    let id = format!("node-{}", node.id);
                    assert!(
                        doc.descendants()
                            .any(|n| n.attribute("id") == Some(id.as_str())),
                        "{name}: {id}"
                    );
                    let shown = node.display_name();
                    assert!(
                        texts.iter().any(|t| *t == shown || t.ends_with('…')),
                        "{name}: {shown}"
                    );
                }
            }
        }
    }

    /// Calls are dashed, messages solid; every edge has an arrowhead; odd text is escaped.
    #[test]
    fn calls_dashed_and_text_escaped() {
        let graph = Graph::from_json_str(
            r#"{"format": "flowbench.graph", "version": 1, "name": "a <b> & 'c'",
              "nodes": [{"id": "c", "kind": "client", "label": "<web & app>"},
                        {"id": "s", "kind": "service"}, {"id": "d", "kind": "sink"}],
              "edges": [{"from": "c", "to": "s"}, {"from": "s", "to": "d"}]}"#,
        )
        .unwrap();
        let svg = export_svg(&graph, false);
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let paths: Vec<_> = doc
            .descendants()
            .filter(|n| n.has_tag_name("path") && n.attribute("d").is_some_and(|d| d.contains('C')))
            .collect();
        assert_eq!(paths.len(), 2);
        assert_eq!(
            paths
                .iter()
                .filter(|p| p.attribute("stroke-dasharray").is_some())
                .count(),
            1
        );
        assert_eq!(
            doc.descendants()
                .filter(|n| n.has_tag_name("polygon"))
                .count(),
            2
        );
        assert!(doc.descendants().any(|n| n.text() == Some("<web & app>")));
        assert!(doc.descendants().any(|n| n.text() == Some("a <b> & 'c'")));
    }

    /// Long names are shortened to fit their box; names a little too long are set smaller.
    #[test]
    fn long_names_are_shortened() {
        let size = style::TITLE_SIZE;
        let (short, at) = shorten("a-very-long-service-name-indeed", size, 98.0);
        assert!(
            short.ends_with('…') && short.chars().count() < 20,
            "{short}"
        );
        assert_eq!(at, size);
        assert_eq!(shorten("worker", size, 98.0), ("worker".to_owned(), size));
        let fits = (98.0 / (size * CHAR_WIDTH)).floor() as usize;
        let nearly = "n".repeat(fits + 1);
        assert_eq!(
            shorten(&nearly, size, 98.0),
            (nearly.clone(), size * style::SMALLEST_FIT)
        );
    }
}
