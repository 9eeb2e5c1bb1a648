//! Times the stages of `check` on one file: `cargo run --release --example parse_dbg FILE`.
fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: parse_dbg FILE");
        return;
    };
    let Ok(src) = std::fs::read_to_string(&path) else {
        eprintln!("cannot read {path}");
        return;
    };
    let t = std::time::Instant::now();
    let p = funnelc::syntax::parse(&src);
    let parsed = t.elapsed();
    let c = funnelc::check::check(&p.file, &src);
    let checked = t.elapsed() - parsed;
    println!(
        "{} items, {} diagnostics; parse {:?}, check {:?}",
        p.file.items.len(),
        c.diagnostics.len() + p.diagnostics.len(),
        parsed,
        checked
    );
}
