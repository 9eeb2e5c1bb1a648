//! Text laid out for a terminal: the explanations of `funnelc check --explain`.

/// Words joined into lines of at most `width` characters. A span of code in backticks is
/// kept on one line, and a longer one stands alone.
pub(super) fn wrap(text: &str, width: usize) -> String {
    let mut units: Vec<String> = Vec::new();
    let mut in_code = false;
    for word in text.split_whitespace() {
        match units.last_mut() {
            Some(last) if in_code => {
                last.push(' ');
                last.push_str(word);
            }
            _ => units.push(word.to_string()),
        }
        if word.matches('`').count() % 2 == 1 {
            in_code = !in_code;
        }
    }
    let mut out = String::new();
    let mut line_len = 0;
    for word in &units {
        let len = word.chars().count();
        if line_len > 0 && line_len + 1 + len > width {
            out.push('\n');
            line_len = 0;
        }
        if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += len;
    }
    out.push('\n');
    out
}

/// A block of source set off by four spaces, as code in a terminal (and in Markdown).
pub(super) fn indent(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_string()
            } else {
                format!("    {l}\n")
            }
        })
        .collect()
}
