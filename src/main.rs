use std::process::ExitCode;

mod cli;

// Reading leads allocates many small strings on every core; mimalloc's per-thread heaps make
// that markedly cheaper than the system allocator (measured in docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Deeply nested input is refused by the parser, but the checker and formatter still recurse
/// over trees; a generous stack keeps the worst legal file far from the limit.
const STACK: usize = 64 * 1024 * 1024;

fn main() -> ExitCode {
    let worker = std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(cli::main);
    match worker.map(|h| h.join()) {
        Ok(Ok(code)) => code,
        _ => {
            eprintln!("error: funnelc stopped unexpectedly; please report this with the input");
            ExitCode::from(101)
        }
    }
}
