//! "Did you mean ...?": the closest declared name to a misspelt one.

/// The candidate closest to `name`, if it is close enough to be a plausible typo.
pub fn closest<'a, I>(name: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    // A very long name is not a typo of a short one; skip the quadratic distance.
    if name.len() > 128 {
        return None;
    }
    let lower = name.to_ascii_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for cand in candidates {
        if cand.len() > 128 {
            continue;
        }
        let dist = strsim::damerau_levenshtein(&lower, &cand.to_ascii_lowercase());
        // Allow about one edit per three characters, at least one.
        // Names of one or two characters (grade labels) only match up to case.
        let floor = usize::from(name.len() >= 3);
        let allowed = (name.len().max(cand.len()) / 3).max(floor);
        if dist <= allowed && best.is_none_or(|(d, c)| dist < d || (dist == d && cand < c)) {
            best = Some((dist, cand));
        }
    }
    best.map(|(_, c)| c)
}

/// `help: did you mean `x`?` when there is a close name.
pub fn did_you_mean<'a, I>(name: &str, candidates: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    closest(name, candidates).map(|c| format!("did you mean `{c}`?"))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos() {
        let names = ["email.opened", "email.sent", "page.viewed"];
        assert_eq!(closest("email.opend", names), Some("email.opened"));
        assert_eq!(closest("Email.Sent", names), Some("email.sent"));
        assert_eq!(closest("pageviewed", names), Some("page.viewed"));
        assert_eq!(closest("webinar.attended", names), None);
    }

    #[test]
    fn ties_break_by_name() {
        assert_eq!(closest("abc", ["abd", "abb"]), Some("abb"));
        assert_eq!(closest("E", ["A", "B"]), None);
        assert_eq!(closest("a", ["A", "B"]), Some("A"));
    }
}
