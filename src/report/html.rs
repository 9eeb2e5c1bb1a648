//! The report as one self-contained HTML page: inline CSS, an inline SVG funnel chart, and
//! every section as a table. No scripts, fonts or images from anywhere: it opens offline and
//! can be mailed as it is. The chart has a text alternative (its title and description list
//! every stage and count), band colours come with the band's name, and colours keep a
//! contrast ratio above 7:1 on their backgrounds.

use super::model::{thousands, Report};
use super::render::{sections, Fmt};

/// `<`, `>`, `&`, `"` and `'` escaped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;color:#1a1a1a;background:#fff;margin:2rem auto;max-width:60rem;padding:0 1rem;line-height:1.4}
/* Captions name each table for screen readers; the heading above shows the same words. */
h1{font-size:1.6rem;margin-bottom:.2rem}
h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #767676;padding-bottom:.2rem}
p.meta{color:#3d3d3d;margin-top:0}
table{border-collapse:collapse;margin:.5rem 0;font-variant-numeric:tabular-nums}
caption{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
th,td{border-bottom:1px solid #c8c8c8;padding:.25rem .6rem;text-align:left}
th{background:#f0f0f0}
td.num{text-align:right}
tr.low td{background:#fde8e8;color:#7a1010}
tr.mid td{background:#fff4d6;color:#5a4100}
tr.high td{background:#e3f6e9;color:#0f4a24}
.note{color:#3d3d3d;font-size:.95rem}
svg text{font-family:inherit}
ul.warnings li{color:#5a4100}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}table{break-inside:avoid}tr.low td,tr.mid td,tr.high td{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
";

/// The funnel as horizontal bars, widest first, each labelled with its stage and count.
fn funnel_svg(r: &Report) -> String {
    let top = r.stages.first().map_or(0, |s| s.reached).max(1) as f64;
    let (w, bar_h, gap, label_w) = (720.0, 34.0, 8.0, 160.0);
    let h = r.stages.len() as f64 * (bar_h + gap) + gap;
    let desc: Vec<String> = r
        .stages
        .iter()
        .map(|s| format!("{} {}", s.name, thousands(s.reached)))
        .collect();
    let mut svg = format!(
        "<svg id=\"funnel-chart\" role=\"img\" aria-labelledby=\"funnel-title funnel-desc\" \
         viewBox=\"0 0 {w} {h}\" width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"funnel-title\">Funnel: leads that reached each stage</title>\
         <desc id=\"funnel-desc\">{}</desc>",
        escape(&desc.join(", "))
    );
    let span = w - label_w - 10.0;
    for (i, s) in r.stages.iter().enumerate() {
        let y = gap + i as f64 * (bar_h + gap);
        let bw = (s.reached as f64 / top * span).max(2.0);
        let x = label_w + (span - bw) / 2.0;
        let pct = s
            .from_first
            .map(|v| format!(" · {:.1}%", v * 100.0))
            .unwrap_or_default();
        // The count goes inside a bar wide enough for it (white on blue), else just right of
        // the bar (dark on white): never dark on the bar.
        let inside = bw > 140.0;
        let (tx, anchor, fill) = if inside {
            (label_w + span / 2.0, "middle", "#ffffff")
        } else {
            (x + bw + 8.0, "start", "#1a1a1a")
        };
        svg.push_str(&format!(
            "<g class=\"stage\"><text x=\"0\" y=\"{ty:.1}\" font-size=\"15\" fill=\"#1a1a1a\">{name}</text>\
             <rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{bar_h}\" rx=\"3\" fill=\"#1f4e79\"/>\
             <text x=\"{tx:.1}\" y=\"{ty:.1}\" font-size=\"14\" text-anchor=\"{anchor}\" fill=\"{fill}\">{count}{pct}</text></g>",
            ty = y + bar_h / 2.0 + 5.0,
            name = escape(&s.name),
            count = thousands(s.reached),
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// Dark, distinct line colours (each above 4.5:1 on white), cycled.
const SERIES: [&str; 6] = [
    "#1f4e79", "#8b1a1a", "#1d5e2a", "#6b3fa0", "#7a4a00", "#0b5d66",
];

/// First entries into each stage per period, one line per stage; `None` with fewer than two
/// periods (a trend needs two points).
fn trend_svg(r: &Report) -> Option<String> {
    if r.periods.len() < 2 {
        return None;
    }
    let max = r
        .periods
        .iter()
        .flat_map(|p| p.entries.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let (w, h, left, bottom, top, legend) = (720.0, 260.0, 50.0, 30.0, 10.0, 110.0);
    let plot_w = w - left - legend;
    let plot_h = h - bottom - top;
    let n = r.periods.len();
    let x = |i: usize| left + plot_w * i as f64 / (n - 1) as f64;
    let y = |v: u64| top + plot_h * (1.0 - v as f64 / max);
    let desc: Vec<String> = r
        .stages
        .iter()
        .enumerate()
        .map(|(s, st)| {
            let values: Vec<String> = r
                .periods
                .iter()
                .map(|p| format!("{} {}", p.period, p.entries.get(s).copied().unwrap_or(0)))
                .collect();
            format!("{}: {}", st.name, values.join(", "))
        })
        .collect();
    let mut svg = format!(
        "<svg id=\"trend-chart\" role=\"img\" aria-labelledby=\"trend-title trend-desc\" \
         viewBox=\"0 0 {w} {h}\" width=\"100%\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"trend-title\">First entries into each stage per {}</title>\
         <desc id=\"trend-desc\">{}</desc>\
         <line x1=\"{left}\" y1=\"{b:.1}\" x2=\"{r:.1}\" y2=\"{b:.1}\" stroke=\"#767676\"/>\
         <text x=\"{lx:.1}\" y=\"{ty:.1}\" font-size=\"12\" text-anchor=\"end\" fill=\"#1a1a1a\">{}</text>\
         <text x=\"{lx:.1}\" y=\"{b:.1}\" font-size=\"12\" text-anchor=\"end\" fill=\"#1a1a1a\">0</text>",
        escape(&r.period),
        escape(&desc.join("; ")),
        thousands(max as u64),
        b = top + plot_h,
        r = left + plot_w,
        lx = left - 6.0,
        ty = top + 10.0,
    );
    for (i, p) in r.periods.iter().enumerate() {
        // Every label when they fit, else the first, last and every few between.
        let every = n.div_ceil(8);
        if i % every == 0 || i + 1 == n {
            svg.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#1a1a1a\">{}</text>",
                x(i),
                h - 10.0,
                escape(&p.period)
            ));
        }
    }
    for (s, st) in r.stages.iter().enumerate() {
        let colour = SERIES[s % SERIES.len()];
        let points: Vec<String> = r
            .periods
            .iter()
            .enumerate()
            .map(|(i, p)| {
                format!(
                    "{:.1},{:.1}",
                    x(i),
                    y(p.entries.get(s).copied().unwrap_or(0))
                )
            })
            .collect();
        // Dashes tell lines apart without colour.
        let dash = ["", "6 3", "2 3", "8 3 2 3", "1 2", "10 4"][s % 6];
        svg.push_str(&format!(
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" stroke-dasharray=\"{dash}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" fill=\"{colour}\">{}</text>",
            points.join(" "),
            left + plot_w + 10.0,
            top + 14.0 + 16.0 * s as f64,
            escape(&st.name)
        ));
    }
    svg.push_str("</svg>");
    Some(svg)
}

/// The whole page.
pub fn html(r: &Report) -> String {
    let title = format!(
        "{} report",
        r.funnel.clone().unwrap_or_else(|| "Funnel".into())
    );
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(&format!("<title>{}</title>\n", escape(&title)));
    out.push_str(&format!("<style>{STYLE}</style>\n</head>\n<body>\n"));
    out.push_str(&format!("<h1>{}</h1>\n", escape(&title)));
    out.push_str(&format!(
        "<p class=\"meta\">As of {} · leads that entered the funnel from {} to {}</p>\n",
        escape(&r.as_of),
        escape(&r.range.from),
        escape(&r.range.to)
    ));
    out.push_str("<h2 id=\"funnel\">Funnel</h2>\n<figure>\n");
    out.push_str(&funnel_svg(r));
    out.push_str("\n</figure>\n");
    if let Some(trend) = trend_svg(r) {
        out.push_str(&format!(
            "<h2 id=\"trend\">Entries per {}</h2>\n<figure>\n{trend}\n</figure>\n",
            escape(&r.period)
        ));
    }
    for s in sections(r, Fmt::PEOPLE) {
        out.push_str(&format!(
            "<h2 id=\"{}\">{}</h2>\n<table>\n<caption>{}</caption>\n",
            escape(&s.id),
            escape(&s.title),
            escape(&s.title)
        ));
        if s.header.iter().any(|h| !h.is_empty()) {
            out.push_str("<thead><tr>");
            for h in &s.header {
                out.push_str(&format!("<th scope=\"col\">{}</th>", escape(h)));
            }
            out.push_str("</tr></thead>\n");
        }
        out.push_str("<tbody>\n");
        for (row, tone) in s.rows.iter().zip(&s.tones) {
            match tone {
                Some(t) => out.push_str(&format!("<tr class=\"{}\">", escape(t))),
                None => out.push_str("<tr>"),
            }
            for (i, c) in row.iter().enumerate() {
                if i == 0 {
                    out.push_str(&format!("<th scope=\"row\">{}</th>", escape(c)));
                } else {
                    let num = c
                        .chars()
                        .next()
                        .is_some_and(|ch| ch.is_ascii_digit() || "$+−—".contains(ch));
                    out.push_str(&format!(
                        "<td{}>{}</td>",
                        if num { " class=\"num\"" } else { "" },
                        escape(c)
                    ));
                }
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n</table>\n");
        if let Some(n) = &s.note {
            out.push_str(&format!("<p class=\"note\">{}</p>\n", escape(n)));
        }
    }
    if !r.warnings.is_empty() {
        out.push_str("<h2 id=\"warnings\">Warnings</h2>\n<ul class=\"warnings\">\n");
        for w in &r.warnings {
            out.push_str(&format!("<li>{}</li>\n", escape(w)));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}
