//! `matches` patterns: built with bounded memory, by the checker and the compiler alike.
//!
//! The regex crate's default limit lets one pattern take about 14 MB compiled, and refusing
//! a larger one costs seconds of building first. Here each pattern's compiled program is
//! capped at [`PATTERN_LIMIT`] (an oversized one is refused after milliseconds), its lazy
//! DFA cache at [`CACHE_LIMIT`] per search thread, and all the patterns of a file together at
//! [`TOTAL_LIMIT`].

/// The most one compiled pattern may take (the regex crate's `size_limit`). `\w{40}`, forty
/// Unicode word characters, takes about 2.2 MB; `[a-z]{5000}` 0.25 MB.
pub const PATTERN_LIMIT: usize = 2 << 20;
/// The lazy DFA's cache per pattern and search thread (`dfa_size_limit`); past it the search
/// goes on more slowly, never failing.
pub const CACHE_LIMIT: usize = 1 << 20;
/// The most all the patterns of one file may take compiled, together.
pub const TOTAL_LIMIT: usize = 16 << 20;

/// Builds a pattern as evaluation uses it.
pub fn build(pattern: &str) -> Result<regex::Regex, regex::Error> {
    regex::RegexBuilder::new(pattern)
        .size_limit(PATTERN_LIMIT)
        .dfa_size_limit(CACHE_LIMIT)
        .build()
}

/// The memory a pattern takes compiled, in bytes, built the way the regex crate builds it
/// (with the same limits), or why it cannot be built: the last line of the regex crate's
/// message.
pub fn measure(pattern: &str) -> Result<usize, String> {
    use regex_automata::meta;
    let config = meta::Config::new()
        .nfa_size_limit(Some(PATTERN_LIMIT))
        .hybrid_cache_capacity(CACHE_LIMIT);
    match meta::Regex::builder().configure(config).build(pattern) {
        Ok(r) => Ok(r.memory_usage()),
        // The regex crate words the error best (where a syntax mistake is, which limit).
        Err(e) => Err(build(pattern)
            .err()
            .map_or_else(|| e.to_string(), |e| reason(&e))),
    }
}

fn reason(e: &regex::Error) -> String {
    match e {
        regex::Error::CompiledTooBig(limit) => format!(
            "compiled, it would take more than {} MB (the limit of one pattern)",
            limit >> 20
        ),
        other => other
            .to_string()
            .lines()
            .last()
            .unwrap_or("")
            .trim()
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_oversized_pattern_is_refused_quickly() {
        let started = std::time::Instant::now();
        let e = measure(r"\w{10000}").err().unwrap_or_default();
        assert!(e.contains("more than 2 MB"), "{e}");
        // Seconds with the regex crate's default limit; milliseconds here (a debug build is
        // slower, so the bound is loose).
        assert!(started.elapsed().as_secs() < 5);
        assert!(measure(r"@(gmail|yahoo)\.com$").is_ok_and(|n| n < 100_000));
        assert!(measure(r"\w{40}").is_ok_and(|n| n > 1 << 20 && n < PATTERN_LIMIT * 2));
        assert!(measure("(").is_err_and(|e| e.contains("unclosed group")));
    }
}
