//! `funnel::unreachable_grade`: a grade no lead can be given, since it starts above the most
//! the score can reach.

use super::fmt_num;
use crate::check::symbols::*;
use crate::diag::{Code, Diagnostic};
use crate::syntax::ast::*;

/// `funnel::unreachable_grade` on every grade that starts above the most its score reaches.
pub(super) fn check(file: &File, sym: &Symbols, diags: &mut Vec<Diagnostic>) {
    for item in &file.items {
        let Item::Score(s) = item else { continue };
        if let Some(info) = sym.scores.get(&s.name.text) {
            for g in &s.grades {
                if let Some(u) = info.upper().filter(|u| g.from.value > *u) {
                    diags.push(
                        Diagnostic::warning(
                            Code::UnreachableGrade,
                            g.from.span,
                            format!(
                                "grade `{}` needs {} but `{}` reaches at most {}",
                                g.label.text,
                                fmt_num(g.from.value),
                                s.name.text,
                                fmt_num(u)
                            ),
                        )
                        .help("lower the grade's threshold"),
                    );
                }
            }
        }
    }
}
