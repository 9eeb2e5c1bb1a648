//! The registry of diagnostic codes: for each, the stable string that output and editors match
//! on, its severity, a one-line summary and an explanation with an example of the mistake and
//! its fix (`funnelc check --explain CODE`, and `docs/diagnostics.md`).
//!
//! A new code is one entry in the `codes!` list below. The order of the list is the order
//! `--explain` and the documentation show: errors, then warnings, related codes together.

use std::fmt;

use super::wrap::{indent, wrap};

use super::Severity;

/// What the registry knows about one code.
struct Entry {
    code: &'static str,
    severity: Severity,
    summary: &'static str,
    explanation: &'static str,
    mistake: &'static str,
    fix: &'static str,
}

macro_rules! codes {
    ($(
        $variant:ident = $code:literal, $severity:ident {
            summary: $summary:literal,
            explanation: $explanation:literal,
            mistake: $mistake:literal,
            fix: $fix:literal $(,)?
        }
    )*) => {
        /// A diagnostic code. Shown and serialized as its stable string, `funnel::...`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Code {
            $(
                #[doc = $summary]
                $variant,
            )*
        }

        impl Code {
            /// Every code, in the order `--explain` and the documentation list them.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            fn entry(self) -> &'static Entry {
                match self {
                    $(Code::$variant => &Entry {
                        code: $code,
                        severity: Severity::$severity,
                        summary: $summary,
                        explanation: $explanation,
                        mistake: $mistake,
                        fix: $fix,
                    },)*
                }
            }
        }
    };
}

codes! {
    Syntax = "funnel::syntax", Error {
        summary: "the text does not follow the grammar",
        explanation: "The file could not be read at this point. The usual causes are a misspelt \
            keyword, a missing word such as `when`, a single `=` where `==` compares, or curly \
            quotes pasted from a word processor. The message says what was expected there.",
        mistake: r#"schema { trait region: text }
stage MCL { enter when region = "us-east" }
"#,
        fix: r#"schema { trait region: text }
stage MCL { enter when region == "us-east" }
"#,
    }
    Unbalanced = "funnel::unbalanced", Error {
        summary: "a bracket is never closed, or closes nothing",
        explanation: "Every `(`, `[` and `{` needs its closing partner, in order. Brackets are \
            matched before anything else is read, so a missing one is reported where it was \
            opened rather than as a confusing error further down the file.",
        mistake: r#"schema { event form.submitted }
stage MCL {
  enter when (form.submitted
}
"#,
        fix: r#"schema { event form.submitted }
stage MCL {
  enter when (form.submitted)
}
"#,
    }
    TooDeep = "funnel::too_deep", Error {
        summary: "brackets nest more than 64 deep",
        explanation: "Brackets may nest at most 64 deep, which keeps every file far from the \
            limits of the parser. No condition written by hand comes close; one that does is \
            clearer as named segments, each used by the next.",
        mistake: r#"schema { event form.submitted }
stage MCL { enter when ((((((( ... 65 deep ... form.submitted ... ))))))) }
"#,
        fix: r#"schema { event form.submitted }
segment engaged = (form.submitted)
stage MCL { enter when (engaged) }
"#,
    }
    TooComplex = "funnel::too_complex", Error {
        summary: "one condition has more than 256 operators",
        explanation: "A condition may have at most 256 operators of every kind: `and`, `or`, \
            `not`, comparisons, arithmetic and text tests, counted through brackets and `where` \
            filters. The one limit keeps every later pass quick; hand-written conditions stay \
            far below it. Split a longer one into named segments, or count events in a score.",
        mistake: r#"schema { event email.opened }
stage MEL { enter when count email.opened + count email.opened + ... (257 terms) >= 100 }
"#,
        fix: r#"schema { event email.opened }
score engagement { +1 per email.opened }
stage MEL { enter when score engagement >= 100 }
"#,
    }
    NotUtf8 = "funnel::not_utf8", Error {
        summary: "the file is not UTF-8 text",
        explanation: "Rule files are read as UTF-8. A file saved in another encoding (Windows-1252, \
            Latin-1) has bytes that are not UTF-8, usually in accented letters or typographic \
            quotes. The diagnostic points at the first of them; most editors can save the file \
            as UTF-8.",
        mistake: r#"funnel "Café B2B"   // saved as Windows-1252: `é` is the one byte E9
schema { event form.submitted }
stage MCL { enter when form.submitted }
"#,
        fix: r#"funnel "Café B2B"   // saved as UTF-8: `é` is the two bytes C3 A9
schema { event form.submitted }
stage MCL { enter when form.submitted }
"#,
    }
    NoStages = "funnel::no_stages", Error {
        summary: "the file declares no stage (or is empty)",
        explanation: "A funnel is its stages: a file without one has nothing to evaluate. Usually \
            the file is empty, or the wrong file was passed.",
        mistake: r#"schema { event form.submitted }
"#,
        fix: r#"schema { event form.submitted }
stage MCL { enter when form.submitted }
"#,
    }
    UnknownEvent = "funnel::unknown_event", Error {
        summary: "an event type the schema does not declare",
        explanation: "Every event type that a condition, a score rule or a test names must be \
            declared in the schema with `event NAME`. A misspelt event is an error rather than a \
            condition that silently never fires; the help line names the closest declared event.",
        mistake: r#"schema { event email.opened }
stage MEL { enter when email.opend }
"#,
        fix: r#"schema { event email.opened }
stage MEL { enter when email.opened }
"#,
    }
    UnknownTrait = "funnel::unknown_trait", Error {
        summary: "a trait the schema does not declare",
        explanation: "A trait is a fact about the lead, declared in the schema with \
            `trait PATH: TYPE`. Conditions, `dimensions`, `cost by` and the `traits` of a test \
            must name declared traits; the help line names the closest one.",
        mistake: r#"schema {
  trait company.employees: int
  event form.submitted
}
stage MCL { enter when form.submitted and company.employes >= 50 }
"#,
        fix: r#"schema {
  trait company.employees: int
  event form.submitted
}
stage MCL { enter when form.submitted and company.employees >= 50 }
"#,
    }
    UnknownProperty = "funnel::unknown_property", Error {
        summary: "a property the event does not declare",
        explanation: "Inside `where`, after `has`, in `PROP of EVENT`, in `revenue` and in a \
            test's events, a name refers to a property of the event, declared in its braces in \
            the schema: `event page.viewed { page: text }`.",
        mistake: r#"schema { event page.viewed { page: text } }
stage MEL { enter when page.viewed where pag == "pricing" }
"#,
        fix: r#"schema { event page.viewed { page: text } }
stage MEL { enter when page.viewed where page == "pricing" }
"#,
    }
    UnknownName = "funnel::unknown_name", Error {
        summary: "a name that is no trait, event, segment or score",
        explanation: "A bare name in a condition is looked up among the traits, segments, scores \
            and events (inside `where`, the event's properties first), and this one is none of \
            them. When the shape of the name says which kind was meant, a more specific code is \
            used instead: `funnel::unknown_event`, `funnel::unknown_trait` or \
            `funnel::unknown_property`.",
        mistake: r#"schema { event form.submitted }
segment engaged = form.submitted
stage MCL { enter when engagd }
"#,
        fix: r#"schema { event form.submitted }
segment engaged = form.submitted
stage MCL { enter when engaged }
"#,
    }
    UnknownStage = "funnel::unknown_stage", Error {
        summary: "a stage that is not declared",
        explanation: "Moves, exits, KPIs, targets, `since entering`, `days since entering` and \
            the expectations of a test name stages, which are declared with \
            `stage NAME { enter when ... }`.",
        mistake: r#"schema {
  event form.submitted
  event email.opened
  event sales.returned
}
stage MCL { enter when form.submitted }
stage MEL { enter when email.opened since entering MCL }
move MEL -> MLC on sales.returned
"#,
        fix: r#"schema {
  event form.submitted
  event email.opened
  event sales.returned
}
stage MCL { enter when form.submitted }
stage MEL { enter when email.opened since entering MCL }
move MEL -> MCL on sales.returned
"#,
    }
    UnknownScore = "funnel::unknown_score", Error {
        summary: "a score model that is not declared",
        explanation: "`score NAME` and `grade NAME` in a condition, and `expect score` and \
            `expect grade` in a test, name a score model declared with `score NAME { ... }`.",
        mistake: r#"schema { event demo.requested }
score fit { +20 when demo.requested }
stage SQL { enter when score fti >= 20 }
"#,
        fix: r#"schema { event demo.requested }
score fit { +20 when demo.requested }
stage SQL { enter when score fit >= 20 }
"#,
    }
    UnknownGrade = "funnel::unknown_grade", Error {
        summary: "a grade the score does not declare",
        explanation: "`grade NAME == LABEL`, `grade NAME in [...]` and `expect grade` compare \
            with the labels the score declares with `grade LABEL from N`.",
        mistake: r#"schema { event demo.requested }
score fit {
  +60 when demo.requested
  grade A from 50
  grade B from 20
}
stage SQL { enter when grade fit == AA }
"#,
        fix: r#"schema { event demo.requested }
score fit {
  +60 when demo.requested
  grade A from 50
  grade B from 20
}
stage SQL { enter when grade fit == A }
"#,
    }
    UnknownExit = "funnel::unknown_exit", Error {
        summary: "a test expects an exit that is not declared",
        explanation: "`expect exited NAME` in a test names an exit declared with \
            `exit NAME from ... when ...`.",
        mistake: r#"schema {
  event form.submitted
  event sales.rejected
}
stage MCL { enter when form.submitted }
exit disqualified from any on sales.rejected
test "a rejected lead leaves" {
  events {
    2025-01-01 form.submitted
    2025-01-02 sales.rejected
  }
  expect exited disqualifed
}
"#,
        fix: r#"schema {
  event form.submitted
  event sales.rejected
}
stage MCL { enter when form.submitted }
exit disqualified from any on sales.rejected
test "a rejected lead leaves" {
  events {
    2025-01-01 form.submitted
    2025-01-02 sales.rejected
  }
  expect exited disqualified
}
"#,
    }
    UnknownFixture = "funnel::unknown_fixture", Error {
        summary: "a test starts from a fixture that is not declared",
        explanation: "`test \"...\" from \"NAME\"` starts the test's lead from the fixture \
            declared with `fixture \"NAME\" { ... }`, in the same file or, for a test file, in \
            the rule file it is for.",
        mistake: r#"schema {
  trait role: text
  event form.submitted
}
stage MCL { enter when form.submitted }
fixture "a cfo" {
  traits { role: "cfo" }
  events { 2025-01-01 form.submitted }
}
test "a cfo who filled a form is captured" from "a cf0" {
  expect stage MCL
}
"#,
        fix: r#"schema {
  trait role: text
  event form.submitted
}
stage MCL { enter when form.submitted }
fixture "a cfo" {
  traits { role: "cfo" }
  events { 2025-01-01 form.submitted }
}
test "a cfo who filled a form is captured" from "a cfo" {
  expect stage MCL
}
"#,
    }
    TestFile = "funnel::test_file", Error {
        summary: "a rule declaration in a test file",
        explanation: "A file that starts `tests for \"rules.funnel\"` is a test file: it holds \
            tests, fixtures and cases for that rule file, which holds the schema, stages, \
            scores and everything else. A test file names its rule file once.",
        mistake: r#"tests for "rules.funnel"
schema { event form.submitted }
test "a form captures a lead" {
  events { 2025-01-01 form.submitted }
  expect stage MCL
}
"#,
        fix: r#"schema { event form.submitted }
stage MCL { enter when form.submitted }
test "a form captures a lead" {
  events { 2025-01-01 form.submitted }
  expect stage MCL
}
"#,
    }
    FixtureFile = "funnel::fixture_file", Error {
        summary: "a declaration other than a fixture in a shared fixture file",
        explanation: "A file that `funnel.toml` names in `[paths] fixtures` is a shared \
            fixture file: it holds only `fixture` declarations, which every test file of the \
            project may start a test from. Rules, tests, cases and snapshots belong in rule \
            files and test files. A shared fixture is checked against the schema of each rule \
            file whose tests use it.",
        mistake: r#"fixture "a cfo" {
  traits { role: "cfo" }
}
test "a cfo is captured" from "a cfo" {
  expect stage MCL
}
"#,
        fix: r#"fixture "a cfo" {
  traits { role: "cfo" }
}
"#,
    }
    DuplicateName = "funnel::duplicate_name", Error {
        summary: "a name declared twice, or a segment or score named like a trait or event",
        explanation: "Stages, segments, scores, traits, event types, grades of one score, \
            properties of one event, tests and fixtures each need their own name. A segment or a score also may not \
            share its name with a trait or an event, since a bare name in a condition could then \
            mean either; nor may an exit share a stage's.",
        mistake: r#"schema {
  event form.submitted
  event email.opened
}
stage MCL { enter when form.submitted }
stage MCL { enter when email.opened }
"#,
        fix: r#"schema {
  event form.submitted
  event email.opened
}
stage MCL { enter when form.submitted }
stage MEL { enter when email.opened }
"#,
    }
    TypeMismatch = "funnel::type_mismatch", Error {
        summary: "values of different kinds compared or combined",
        explanation: "Only like goes with like: a number with a number, a percentage with a rate, \
            money with money, text with text. The same holds for arithmetic, `in` lists, \
            `between`, text tests such as `ends with`, and the values in a test's traits and \
            events. The help line says how to write the other side.",
        mistake: r#"schema { event email.opened }
stage MEL { enter when count email.opened >= 40% }
"#,
        fix: r#"schema { event email.opened }
stage MEL { enter when count email.opened >= 3 }
"#,
    }
    NotACondition = "funnel::not_a_condition", Error {
        summary: "a value where a yes/no condition is needed",
        explanation: "Entry conditions, `when` rules, segments, `where` filters and the items of \
            `at least K of` must be yes or no. A number, a text or a score on its own is not: \
            compare it with something.",
        mistake: r#"schema {
  trait company.employees: int
  event form.submitted
}
stage MCL { enter when form.submitted and company.employees }
"#,
        fix: r#"schema {
  trait company.employees: int
  event form.submitted
}
stage MCL { enter when form.submitted and company.employees >= 50 }
"#,
    }
    NotAValue = "funnel::not_a_value", Error {
        summary: "a stage or a group of traits used as a value",
        explanation: "A stage's name is not a condition: time in a stage is tested with \
            `days since entering STAGE`. A group of traits such as `company` (the start of \
            `company.employees`) is not one value: name one of its traits.",
        mistake: r#"schema { event form.submitted }
stage MCL { enter when form.submitted }
stage MEL { enter when MCL }
"#,
        fix: r#"schema { event form.submitted }
stage MCL { enter when form.submitted }
stage MEL { enter when days since entering MCL >= 1 }
"#,
    }
    MissingCondition = "funnel::missing_condition", Error {
        summary: "a stage without an entry condition",
        explanation: "Every stage needs `enter when CONDITION` inside its braces; without it no \
            lead could ever enter the stage.",
        mistake: r#"schema { event form.submitted }
stage MCL "Marketing Captured Lead" {
}
"#,
        fix: r#"schema { event form.submitted }
stage MCL "Marketing Captured Lead" {
  enter when form.submitted
}
"#,
    }
    DuplicateCondition = "funnel::duplicate_condition", Error {
        summary: "a stage with more than one entry condition",
        explanation: "A stage has one `enter when`. Whether two lines were meant as both or as \
            either cannot be guessed: join them with `and` or `or`.",
        mistake: r#"schema {
  event form.submitted
  event email.opened
}
stage MEL {
  enter when form.submitted
  enter when email.opened
}
"#,
        fix: r#"schema {
  event form.submitted
  event email.opened
}
stage MEL {
  enter when form.submitted and email.opened
}
"#,
    }
    ImpossibleCount = "funnel::impossible_count", Error {
        summary: "`at least K of` fewer than K things",
        explanation: "`at least K of [...]` and `has at least K of [...]` can never be true when \
            the list has fewer than K items.",
        mistake: r#"schema {
  event form.submitted
  event email.opened
}
stage MEL { enter when at least 3 of [form.submitted, email.opened] }
"#,
        fix: r#"schema {
  event form.submitted
  event email.opened
}
stage MEL { enter when at least 2 of [form.submitted, email.opened] }
"#,
    }
    SegmentCycle = "funnel::segment_cycle", Error {
        summary: "segments defined in terms of each other",
        explanation: "A segment may use other segments, but not in a circle: a segment that \
            needs itself, directly or through others, has no value.",
        mistake: r#"schema { event form.submitted }
segment engaged = form.submitted or active
segment active = engaged
stage MCL { enter when active }
"#,
        fix: r#"schema { event form.submitted }
segment engaged = form.submitted
segment active = engaged
stage MCL { enter when active }
"#,
    }
    NoGrades = "funnel::no_grades", Error {
        summary: "`grade` of a score that declares no grades",
        explanation: "`grade NAME` is the grade a score's points fall in, so the score must \
            declare its grades with `grade LABEL from N`. Otherwise compare the points: \
            `score NAME >= N`.",
        mistake: r#"schema { event demo.requested }
score fit { +60 when demo.requested }
stage SQL { enter when grade fit == A }
"#,
        fix: r#"schema { event demo.requested }
score fit {
  +60 when demo.requested
  grade A from 50
  grade B from 0
}
stage SQL { enter when grade fit == A }
"#,
    }
    GradesOutOfOrder = "funnel::grades_out_of_order", Error {
        summary: "grades not listed best first",
        explanation: "Grades are listed from the best down, each from a lower score than the one \
            before; a grade applies from its threshold up to the next better one.",
        mistake: r#"schema { event demo.requested }
score fit {
  +60 when demo.requested
  grade B from 20
  grade A from 50
}
stage SQL { enter when grade fit == A }
"#,
        fix: r#"schema { event demo.requested }
score fit {
  +60 when demo.requested
  grade A from 50
  grade B from 20
}
stage SQL { enter when grade fit == A }
"#,
    }
    BadPattern = "funnel::bad_pattern", Error {
        summary: "an invalid or too large regular expression",
        explanation: "The text after `matches` is a regular expression, and this one cannot be \
            read: often an unclosed bracket, or a special character such as `.` or `(` not \
            escaped with `\\\\` inside the quotes. A pattern is also refused when compiled it \
            would take more than 2 MB (`\\w{60}`: sixty word characters of any script), or \
            when the file's patterns together would take more than 16 MB.",
        mistake: r#"schema {
  trait email: text
  event form.submitted
}
stage MCL { enter when form.submitted and email matches "@(gmail|yahoo\\.com$" }
"#,
        fix: r#"schema {
  trait email: text
  event form.submitted
}
stage MCL { enter when form.submitted and email matches "@(gmail|yahoo)\\.com$" }
"#,
    }
    BadNumber = "funnel::bad_number", Error {
        summary: "a number that cannot be read, or that means nothing where it is",
        explanation: "A number too large to hold, a duration over 1,000,000 units, a priority or \
            a target too large, or a value only a positive number makes sense for: a zero SLA, \
            window or decay, a score cap at or below zero, a floor not below the cap.",
        mistake: r#"schema { event email.opened }
stage MEL { enter when email.opened within 0d }
"#,
        fix: r#"schema { event email.opened }
stage MEL { enter when email.opened within 30d }
"#,
    }
    BadDate = "funnel::bad_date", Error {
        summary: "a date, timestamp or month that does not exist",
        explanation: "Dates are written `YYYY-MM-DD`, timestamps `YYYY-MM-DDTHH:MM:SSZ` (or with \
            an offset, or `YYYY-MM-DD HH:MM` in UTC), and months in targets `YYYY-MM`; the day \
            must exist in its month.",
        mistake: r#"schema { event form.submitted }
stage MCL { enter when form.submitted }
test "a form makes a lead" {
  events {
    2025-02-30 form.submitted
  }
  expect stage MCL
}
"#,
        fix: r#"schema { event form.submitted }
stage MCL { enter when form.submitted }
test "a form makes a lead" {
  events {
    2025-02-28 form.submitted
  }
  expect stage MCL
}
"#,
    }
    BadEscape = "funnel::bad_escape", Error {
        summary: "an unknown escape in text",
        explanation: "Inside double quotes a backslash starts an escape: `\\\"`, `\\\\`, `\\n` or \
            `\\t`. A backslash meant as itself is written `\\\\`.",
        mistake: r#"schema {
  trait company.name: text
  event form.submitted
}
stage MCL { enter when form.submitted and company.name != "Acme\Labs" }
"#,
        fix: r#"schema {
  trait company.name: text
  event form.submitted
}
stage MCL { enter when form.submitted and company.name != "Acme\\Labs" }
"#,
    }
    ZeroPoints = "funnel::zero_points", Warning {
        summary: "a score rule worth no points",
        explanation: "A rule that gives zero points changes nothing. It is usually a placeholder \
            or a typo for another number.",
        mistake: r#"schema { event email.opened }
score engagement { +0 per email.opened max 20 }
stage MEL { enter when score engagement >= 10 }
"#,
        fix: r#"schema { event email.opened }
score engagement { +5 per email.opened max 20 }
stage MEL { enter when score engagement >= 10 }
"#,
    }
    UnreachableStage = "funnel::unreachable_stage", Warning {
        summary: "no lead can enter the stage",
        explanation: "The stage's entry condition can never be true (`false`, bounds that exclude \
            each other, `between` with its bounds reversed, an empty `in` list), or an earlier \
            stage's cannot: leads pass through the stages in order, so every stage after one no \
            lead can enter is out of reach too.",
        mistake: r#"schema {
  trait company.employees: int
  event form.submitted
}
stage MCL { enter when form.submitted and company.employees between 500 and 50 }
"#,
        fix: r#"schema {
  trait company.employees: int
  event form.submitted
}
stage MCL { enter when form.submitted and company.employees between 50 and 500 }
"#,
    }
    UnreachableThreshold = "funnel::unreachable_threshold", Warning {
        summary: "a score comparison no lead can meet, given the caps",
        explanation: "A score never goes above its `max`, nor above what its rules add up to, nor \
            below its `min`. A comparison that needs more (or less) than that can never hold; the \
            label shows the most the scores can reach.",
        mistake: r#"schema { event demo.requested }
score fit max 60 { +60 when demo.requested }
stage SQL { enter when score fit >= 80 }
"#,
        fix: r#"schema { event demo.requested }
score fit max 60 { +60 when demo.requested }
stage SQL { enter when score fit >= 50 }
"#,
    }
    NeverFires = "funnel::never_fires", Warning {
        summary: "a score rule, move or exit whose condition can never be true",
        explanation: "The rule's condition can never hold (`false`, bounds that exclude each \
            other, a count below zero), or a move or exit leaves only from stages no lead can \
            reach. The rule is dead weight, or it tests something other than what was meant.",
        mistake: r#"schema {
  trait company.employees: int
  event form.submitted
}
score fit { +20 when company.employees >= 500 and company.employees < 100 }
stage MCL { enter when form.submitted and score fit >= 10 }
"#,
        fix: r#"schema {
  trait company.employees: int
  event form.submitted
}
score fit { +20 when company.employees >= 100 and company.employees < 500 }
stage MCL { enter when form.submitted and score fit >= 10 }
"#,
    }
    PointsExceedCap = "funnel::points_exceed_cap", Warning {
        summary: "a rule's points above its cap, or a rule's cap above the score's",
        explanation: "Points above a cap are cut at the cap: a rule worth more than its own cap or \
            than the score's `max`, or a rule capped above the score's `max`, cannot give what \
            it says.",
        mistake: r#"schema { event email.opened }
score engagement max 20 { +5 per email.opened max 30 }
stage MEL { enter when score engagement >= 10 }
"#,
        fix: r#"schema { event email.opened }
score engagement max 20 { +5 per email.opened max 20 }
stage MEL { enter when score engagement >= 10 }
"#,
    }
    UnreachableGrade = "funnel::unreachable_grade", Warning {
        summary: "a grade above the most the score can reach",
        explanation: "A grade that starts above the score's `max` (or above what its rules add up \
            to) is never given.",
        mistake: r#"schema { event demo.requested }
score fit max 60 {
  +60 when demo.requested
  grade A from 80
  grade B from 40
}
stage SQL { enter when grade fit == A }
"#,
        fix: r#"schema { event demo.requested }
score fit max 60 {
  +60 when demo.requested
  grade A from 50
  grade B from 40
}
stage SQL { enter when grade fit == A }
"#,
    }
    UnusedSegment = "funnel::unused_segment", Warning {
        summary: "a segment declared but never used",
        explanation: "No condition uses the segment, so it has no effect. Use it, or remove it.",
        mistake: r#"schema { event form.submitted }
segment engaged = form.submitted
stage MCL { enter when form.submitted }
"#,
        fix: r#"schema { event form.submitted }
segment engaged = form.submitted
stage MCL { enter when engaged }
"#,
    }
    UnusedScore = "funnel::unused_score", Warning {
        summary: "a score declared but never used",
        explanation: "No condition and no test uses the score, so it has no effect on any stage. \
            Use it, or remove it.",
        mistake: r#"schema { event demo.requested }
score fit { +20 when demo.requested }
stage SQL { enter when demo.requested }
"#,
        fix: r#"schema { event demo.requested }
score fit { +20 when demo.requested }
stage SQL { enter when score fit >= 20 }
"#,
    }
    StageOrder = "funnel::stage_order", Warning {
        summary: "a move that goes forward, a KPI that runs backwards, or a look at a later stage",
        explanation: "Stages are ordered as declared. A `move` returns a lead to an earlier stage \
            (forward is what entry conditions do); a KPI measures from an earlier stage to a \
            later one; and a stage's entry condition cannot look at a stage a lead enters only \
            after it.",
        mistake: r#"schema {
  event form.submitted
  event email.opened
  event sales.returned
}
stage MCL { enter when form.submitted }
stage MEL { enter when email.opened since entering MCL }
move MCL -> MEL on sales.returned
"#,
        fix: r#"schema {
  event form.submitted
  event email.opened
  event sales.returned
}
stage MCL { enter when form.submitted }
stage MEL { enter when email.opened since entering MCL }
move MEL -> MCL on sales.returned
"#,
    }
    EventCondition = "funnel::event_condition", Warning {
        summary: "a move or exit `when` an event happened, which stays true ever after",
        explanation: "`when CONDITION` fires while the condition holds over the lead's history, \
            and `when sales.returned` holds from the first return on: a lead that comes back to \
            the stage is moved again on the old return. A rule meant to act as the event \
            happens is a trigger: `on sales.returned` fires when the event is replayed while the \
            lead is in a stage the rule applies to, once.",
        mistake: r#"schema {
  event form.submitted
  event email.opened
  event sales.returned
}
stage MEL { enter when form.submitted }
stage MQL { enter when email.opened since entering MEL }
move MQL -> MEL when sales.returned
"#,
        fix: r#"schema {
  event form.submitted
  event email.opened
  event sales.returned
}
stage MEL { enter when form.submitted }
stage MQL { enter when email.opened since entering MEL }
move MQL -> MEL on sales.returned
"#,
    }
    Reentry = "funnel::reentry", Warning {
        summary: "a move undone at once: the stage after its target needs no fresh evidence",
        explanation: "After `move MQL -> MEL`, the lead is in MEL and steps forward as soon as \
            MQL's entry condition holds, at the same instant too. If that condition reads only \
            evidence the lead already had (its traits, all its events, its scores), the lead \
            re-enters MQL at once and the move changes nothing. Ask for evidence from the new \
            stay: `since entering MEL` on an event query, or `days since entering MEL`.",
        mistake: r#"schema {
  event form.submitted
  event email.opened
  event sales.returned
}
stage MEL { enter when form.submitted }
stage MQL { enter when email.opened }
move MQL -> MEL on sales.returned
"#,
        fix: r#"schema {
  event form.submitted
  event email.opened
  event sales.returned
}
stage MEL { enter when form.submitted }
stage MQL { enter when email.opened since entering MEL }
move MQL -> MEL on sales.returned
"#,
    }
    KpiBands = "funnel::kpi_bands", Warning {
        summary: "conversion bands out of order, overlapping, or above 100%",
        explanation: "The bands of a conversion KPI each have their own name and are written \
            from the lowest rate to the highest (and `between` with the lower bound first); \
            each rate falls in at most one band, and a conversion is at most 100%.",
        mistake: r#"schema {
  event form.submitted
  event sales.accepted
}
stage MQL { enter when form.submitted }
stage SAL { enter when sales.accepted }
kpi conversion MQL -> SAL { good from 70%, failing below 50% }
"#,
        fix: r#"schema {
  event form.submitted
  event sales.accepted
}
stage MQL { enter when form.submitted }
stage SAL { enter when sales.accepted }
kpi conversion MQL -> SAL { failing below 50%, good from 70% }
"#,
    }
    AmbiguousPriority = "funnel::ambiguous_priority", Warning {
        summary: "two exits or two moves from one stage with no priority between them",
        explanation: "When two exits (or two moves) can fire from the same stage at the same \
            moment, `priority N` says which wins, 1 first. Without different priorities the one \
            declared first wins, which nothing in the file shows and reordering it changes. Give \
            them priorities, or make their conditions exclude each other.",
        mistake: r#"schema {
  event form.submitted
  event sales.rejected
  event email.bounced
}
stage MCL { enter when form.submitted }
exit disqualified from any on sales.rejected
exit bounced from MCL when email.bounced within 7d
"#,
        fix: r#"schema {
  event form.submitted
  event sales.rejected
  event email.bounced
}
stage MCL { enter when form.submitted }
exit disqualified from any priority 1 on sales.rejected
exit bounced from MCL priority 2 when email.bounced within 7d
"#,
    }
    BadAllow = "funnel::bad_allow", Warning {
        summary: "an allow comment that silences nothing",
        explanation: "A comment `// allow(funnel::CODE): reason` silences the warnings with that \
            code on its own line, or on the next line when it stands alone. It needs a known \
            warning code and a reason after the colon, the reason being what a reader needs to \
            know; an error cannot be allowed. An allow that is malformed, names no warning, or \
            has nothing to silence is reported, and silences nothing.",
        mistake: r#"schema { event demo.requested }
// allow(funnel::unused_score)
score fit { +20 when demo.requested }
stage SQL { enter when demo.requested }
"#,
        fix: r#"schema { event demo.requested }
// allow(funnel::unused_score): kept for the Q3 pricing review
score fit { +20 when demo.requested }
stage SQL { enter when demo.requested }
"#,
    }
}

/// The prefix every code string starts with.
const PREFIX: &str = "funnel::";

impl Code {
    /// The stable string: `funnel::unknown_event`.
    pub fn as_str(self) -> &'static str {
        self.entry().code
    }

    /// The string without its `funnel::` prefix: `unknown_event`.
    pub fn short_name(self) -> &'static str {
        let code = self.as_str();
        code.strip_prefix(PREFIX).unwrap_or(code)
    }

    /// Whether diagnostics of this code are errors or warnings.
    pub fn severity(self) -> Severity {
        self.entry().severity
    }

    /// One line: what the code means.
    pub fn summary(self) -> &'static str {
        self.entry().summary
    }

    /// A paragraph: when the code is reported, and what to do about it.
    pub fn explanation(self) -> &'static str {
        self.entry().explanation
    }

    /// A rule file with the mistake in it.
    pub fn mistake(self) -> &'static str {
        self.entry().mistake
    }

    /// The same file with the mistake fixed.
    pub fn fix(self) -> &'static str {
        self.entry().fix
    }

    /// The code named `funnel::unknown_event` or just `unknown_event`.
    pub fn from_name(name: &str) -> Option<Code> {
        let short = name.strip_prefix(PREFIX).unwrap_or(name);
        Code::ALL.iter().copied().find(|c| c.short_name() == short)
    }

    /// The text `funnelc check --explain CODE` prints: the summary, the explanation wrapped
    /// for a terminal, and the example before and after its fix.
    pub fn explain(self) -> String {
        let severity = match self.severity() {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut out = format!("{} ({severity}): {}\n\n", self.as_str(), self.summary());
        out.push_str(&wrap(self.explanation(), 80));
        out.push_str("\nFor example:\n\n");
        out.push_str(&indent(self.mistake()));
        out.push_str("\nFixed:\n\n");
        out.push_str(&indent(self.fix()));
        out
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests;
