//! The rule front end on arbitrary text: parsing, checking, compiling and rendering the
//! diagnostics never panic, and formatting round-trips: a file that formats reads back to
//! the same tree with the same comments, formats to itself, and checks the same way.
#![no_main]

use funnelc::diag;
use funnelc::syntax::fmt::format_source;
use funnelc::syntax::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let compiled = funnelc::compile(src, "f.funnel");
    let _ = diag::render_human(&compiled.diagnostics, "f.funnel", src, true);
    let _ = diag::render_json(&compiled.diagnostics, "f.funnel", src);
    let errors = compiled.has_errors();
    if !errors {
        assert!(compiled.plan().is_some(), "a file that checks must compile");
    }
    let Ok(out) = format_source(src) else {
        return;
    };
    let (a, b) = (parse(src), parse(&out));
    assert_eq!(
        b.file.without_spans(),
        a.file.without_spans(),
        "formatting changed the tree:\n{out}"
    );
    let texts = |c: &[funnelc::syntax::scan::Comment]| -> Vec<String> {
        c.iter().map(|c| c.text.clone()).collect()
    };
    assert_eq!(texts(&b.comments), texts(&a.comments), "comments:\n{out}");
    assert_eq!(format_source(&out).ok().as_deref(), Some(out.as_str()), "not idempotent");
    let again = funnelc::compile(&out, "f.funnel");
    assert_eq!(again.has_errors(), errors, "formatting changed whether the file checks:\n{out}");
});
