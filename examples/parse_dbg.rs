fn main() {
    let path = std::env::args().nth(1).unwrap();
    let src = std::fs::read_to_string(&path).unwrap();
    let p = funnelc::syntax::parse(&src);
    println!("{} items", p.file.items.len());
    print!("{}", funnelc::diag::render_human(&p.diagnostics, &path, &src, false));
}
