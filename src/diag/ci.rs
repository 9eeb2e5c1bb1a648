//! Diagnostics for CI systems: GitHub Actions workflow commands (annotations on the pull
//! request) and SARIF 2.1.0 (code scanning). The same diagnostics as the human and JSON
//! output, positions from the same [`LineIndex`].

use super::{Diagnostic, LineIndex, Severity};

/// One workflow command per diagnostic:
/// `::error file=F,line=L,col=C,endLine=L2,endColumn=C2,title=CODE::MESSAGE`, with the label
/// and help on further lines of the message.
pub fn render_github(diags: &[Diagnostic], file: &str, source: &str) -> String {
    let index = LineIndex::new(source);
    let mut out = String::new();
    for d in diags {
        let (line, col) = index.line_col(source, d.span.start);
        let (end_line, end_col) = index.line_col(source, d.span.end);
        let kind = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut message = d.message.clone();
        if let Some(l) = &d.label {
            message.push_str(&format!("\n{l}"));
        }
        if let Some(h) = &d.help {
            message.push_str(&format!("\nhelp: {h}"));
        }
        out.push_str(&format!(
            "::{kind} file={},line={line},col={col},endLine={end_line},endColumn={end_col},title={}::{}\n",
            property(file),
            property(d.code.as_str()),
            data(&message)
        ));
    }
    out
}

/// The message of a workflow command: `%`, CR and LF escaped.
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A property of a workflow command: also `:` and `,` escaped.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

/// A SARIF 2.1.0 log of the diagnostics of several files, one run of funnelc: every code as a
/// rule (its summary and explanation), every diagnostic as a result with its place, its
/// secondary places as related locations, and its certain fix.
pub fn render_sarif(files: &[(String, String, Vec<Diagnostic>)]) -> serde_json::Value {
    use serde_json::json;
    let rules: Vec<serde_json::Value> = super::Code::ALL
        .iter()
        .map(|c| {
            json!({
                "id": c.as_str(),
                "shortDescription": { "text": c.summary() },
                "fullDescription": { "text": c.explanation() },
                "defaultConfiguration": { "level": level(c.severity()) },
            })
        })
        .collect();
    let mut results = Vec::new();
    for (file, source, diags) in files {
        let index = LineIndex::new(source);
        let region = |s: crate::span::Span| {
            let (line, col) = index.line_col(source, s.start);
            let (end_line, end_col) = index.line_col(source, s.end);
            json!({
                "startLine": line, "startColumn": col,
                "endLine": end_line, "endColumn": end_col,
            })
        };
        let location = |s: crate::span::Span| {
            json!({
                "physicalLocation": {
                    "artifactLocation": { "uri": file },
                    "region": region(s),
                }
            })
        };
        for d in diags {
            let mut text = d.message.clone();
            if let Some(h) = &d.help {
                text.push_str(&format!(" (help: {h})"));
            }
            let mut result = json!({
                "ruleId": d.code.as_str(),
                "ruleIndex": super::Code::ALL.iter().position(|c| *c == d.code),
                "level": level(d.severity),
                "message": { "text": text },
                "locations": [location(d.span)],
            });
            if !d.secondary.is_empty() {
                result["relatedLocations"] = d
                    .secondary
                    .iter()
                    .enumerate()
                    .map(|(i, (s, label))| {
                        let mut l = location(*s);
                        l["id"] = json!(i);
                        l["message"] = json!({ "text": label });
                        l
                    })
                    .collect();
            }
            if let Some((s, replacement)) = d.certain_fix(source) {
                result["fixes"] = json!([{
                    "description": { "text": format!("replace with `{replacement}`") },
                    "artifactChanges": [{
                        "artifactLocation": { "uri": file },
                        "replacements": [{
                            "deletedRegion": region(s),
                            "insertedContent": { "text": replacement },
                        }],
                    }],
                }]);
            }
            results.push(result);
        }
    }
    json!({
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "funnelc",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "results": results,
        }],
    })
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::diag::Code;
    use crate::span::Span;

    #[test]
    fn github_commands_escape_their_fields() {
        let src = "ab\ncd\n";
        let d = Diagnostic::error(Code::Syntax, Span::new(3, 5), "50% done, a:b\nnext").help("h");
        let out = render_github(&[d], "dir,x:y.funnel", src);
        assert_eq!(
            out,
            "::error file=dir%2Cx%3Ay.funnel,line=2,col=1,endLine=2,endColumn=3,\
             title=funnel%3A%3Asyntax::50%25 done, a:b%0Anext%0Ahelp: h\n"
        );
    }

    #[test]
    fn sarif_has_rules_results_related_locations_and_fixes() {
        let src = "stage MCL {}\nmove MCX -> MCL\n";
        let d = Diagnostic::error(Code::UnknownStage, Span::new(18, 21), "unknown stage `MCX`")
            .with(Span::new(6, 9), "declared here")
            .help("did you mean `MCL`?");
        let log = render_sarif(&[("r.funnel".into(), src.into(), vec![d])]);
        let run = &log["runs"][0];
        assert_eq!(
            run["tool"]["driver"]["rules"].as_array().unwrap().len(),
            Code::ALL.len()
        );
        let r = &run["results"][0];
        assert_eq!(r["ruleId"], "funnel::unknown_stage");
        assert_eq!(
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            2
        );
        assert_eq!(r["relatedLocations"][0]["message"]["text"], "declared here");
        let rep = &r["fixes"][0]["artifactChanges"][0]["replacements"][0];
        assert_eq!(rep["insertedContent"]["text"], "MCL");
        assert_eq!(rep["deletedRegion"]["startColumn"], 6);
    }
}
