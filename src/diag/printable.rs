//! Text from files and data made safe to print on a terminal: a lead id or a trait value
//! holding `ESC[2J` or a newline must show as those characters, not clear the screen or fake
//! a line of output. Used by every human-readable output (tables, explanations, diagnostics,
//! test results); machine formats (JSON, CSV) carry the text as it is.

use std::borrow::Cow;

/// Characters that would act on the terminal rather than show: controls (C0, DEL, C1), and
/// the bidirectional overrides and isolates that reorder what follows them.
fn acts(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every such character written as an escape: `\n`, `\r`, `\t`, else `\u{1b}`.
/// Unchanged (and not copied) when there is none.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(acts) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if acts(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Like [`printable`], but line breaks stay: for text that is ours and may span lines (a
/// diagnostic's message or help) while quoting the user's.
pub fn printable_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c != '\n' && acts(c)) {
        return Cow::Borrowed(text);
    }
    let lines: Vec<Cow<'_, str>> = text.split('\n').map(printable).collect();
    Cow::Owned(lines.join("\n"))
}

/// A source file for the snippet of a diagnostic: each acting character replaced by as many
/// `?` as it has bytes, so that every offset into the file still points at the same place.
/// Line breaks (`\n`, and `\r` before one) and tabs stay: the renderer lays them out.
pub fn printable_source(source: &str) -> Cow<'_, str> {
    let keep = |c: char, next: Option<char>| {
        !acts(c) || c == '\n' || c == '\t' || (c == '\r' && next == Some('\n'))
    };
    let mut chars = source.chars().peekable();
    let mut clean = true;
    while let Some(c) = chars.next() {
        if !keep(c, chars.peek().copied()) {
            clean = false;
            break;
        }
    }
    if clean {
        return Cow::Borrowed(source);
    }
    let mut out = String::with_capacity(source.len());
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        if keep(c, chars.peek().copied()) {
            out.push(c);
        } else {
            out.extend(std::iter::repeat_n('?', c.len_utf8()));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_overrides_are_escaped() {
        assert!(matches!(printable("plain é ✓"), Cow::Borrowed(_)));
        assert_eq!(printable("a\x1b[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(printable("x\ny\tz\r"), "x\\ny\\tz\\r");
        assert_eq!(printable("\u{7f}\u{85}\u{202e}"), "\\u{7f}\\u{85}\\u{202e}");
        assert_eq!(printable_lines("one `\x1b`\ntwo"), "one `\\u{1b}`\ntwo");
    }

    #[test]
    fn a_cleaned_source_keeps_every_offset() {
        let src = "a \"\x1b[31m\u{85}\u{202e}\" # x\r\nb\rc\td\n";
        let out = printable_source(src);
        assert_eq!(out.len(), src.len());
        assert_eq!(out, "a \"?[31m?????\" # x\r\nb?c\td\n");
        for (i, _) in src.char_indices() {
            assert!(out.is_char_boundary(i), "offset {i}");
        }
    }
}
