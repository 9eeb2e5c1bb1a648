//! The canonical layout: one way to print every file, so that diffs show changes of meaning
//! and never of style.
//!
//! The formatter prints from the AST, not from the source: spacing, parentheses and the
//! spelling of literals are all chosen here, and `parse(format(x))` gives back the tree of
//! `x`. The source text is consulted only to put the comments back (the grammar drops them)
//! and to keep a blank line the user left between two entries of a block.

use super::ast::*;
use super::scan::Comment;
use crate::diag::Diagnostic;
use crate::span::Span;
use crate::time;

/// Lines longer than this are broken where the layout allows it (`and`/`or` chains).
const WIDTH: usize = 100;

/// Parses `source` and prints it in the canonical layout, or returns the diagnostics when it
/// does not parse: formatting a file with errors would drop the declarations that failed.
pub fn format_source(source: &str) -> Result<String, Vec<Diagnostic>> {
    let parsed = super::parse(source);
    if parsed.diagnostics.iter().any(Diagnostic::is_error) {
        return Err(parsed.diagnostics);
    }
    Ok(format_file(&parsed.file, &parsed.comments, source))
}

/// Prints `file` in the canonical layout. `comments` and `source` are those the file was
/// parsed from (pass `&[]` and `""` for a tree built in code); every comment is printed
/// exactly once, in order, placed by its position relative to the declarations.
pub fn format_file(file: &File, comments: &[Comment], source: &str) -> String {
    let mut p = Printer {
        out: String::new(),
        src: source,
        comments,
        next: 0,
        last_end: 0,
        started: false,
    };
    let docs: Vec<Doc> = file.items.iter().map(|i| p.item(i)).collect();
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            // Runs of one-line declarations (KPIs, moves and exits) stay together unless the
            // user separated them; anything longer stands apart.
            let one_line = |d: &Doc| matches!(d, Doc::Leaf { lines, .. } if lines.len() == 1);
            if one_line(&docs[i - 1]) && one_line(d) {
                p.started = true;
                p.gap(d.start());
            } else {
                p.blank();
            }
        }
        let limit = docs.get(i + 1).map_or(usize::MAX, Doc::start);
        p.doc(d, 0, limit);
    }
    p.flush(usize::MAX, 0);
    p.out
}

// ------------------------------------------------------------------ layout skeleton

/// What gets printed, with the source span each part came from (for placing comments).
enum Doc {
    /// Lines at the current depth; continuation lines carry their own extra indentation.
    Leaf { span: Span, lines: Vec<String> },
    /// `header {`, the children one level deeper, `}`.
    Block {
        span: Span,
        header: String,
        children: Vec<Doc>,
    },
}

impl Doc {
    fn start(&self) -> usize {
        match self {
            Doc::Leaf { span, .. } | Doc::Block { span, .. } => span.start,
        }
    }

    fn leaf(span: Span, line: String) -> Doc {
        Doc::Leaf {
            span,
            lines: vec![line],
        }
    }
}

struct Printer<'a> {
    out: String,
    src: &'a str,
    comments: &'a [Comment],
    /// The first comment not printed yet: comments are only ever taken from the front, which
    /// is what keeps them in order and prints each once.
    next: usize,
    /// Source offset just past the last thing printed, to spot blank lines the user left.
    last_end: usize,
    /// Whether something was printed in the current block: a block never opens with a blank.
    started: bool,
}

impl<'a> Printer<'a> {
    fn peek(&self) -> Option<&'a Comment> {
        self.comments.get(self.next)
    }

    fn line(&mut self, depth: usize, text: &str) {
        for _ in 0..depth {
            self.out.push_str("  ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    /// Puts `text` at the end of the last line, after one space.
    fn append(&mut self, text: &str) {
        if self.out.ends_with('\n') {
            self.out.pop();
        }
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.out.push(' ');
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn blank(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with("\n\n") {
            self.out.push('\n');
        }
    }

    /// A blank line before the thing at `next` if the user left one there.
    fn gap(&mut self, next: usize) {
        if self.started && blank_between(self.src, self.last_end, next) {
            self.blank();
        }
    }

    /// Prints, each on its own line, the comments that start before `before`: those that
    /// precede the next entry, and those inside it (hoisted above the line holding them).
    fn flush(&mut self, before: usize, depth: usize) {
        while let Some(c) = self.peek().filter(|c| c.span.start < before) {
            self.gap(c.span.start);
            self.line(depth, &c.text);
            self.next += 1;
            self.last_end = self.last_end.max(c.span.end);
            self.started = true;
        }
    }

    /// Appends the comments that follow `from` on the same source line (and start before
    /// `limit`, where the next entry begins) to the last printed line.
    fn trailing(&mut self, from: usize, limit: usize) {
        let mut pos = from;
        while let Some(c) = self.peek().filter(|c| {
            c.trailing
                && c.span.start >= pos
                && c.span.start < limit
                && !self
                    .src
                    .get(pos..c.span.start)
                    .is_some_and(|s| s.contains('\n'))
        }) {
            self.append(&c.text);
            self.next += 1;
            pos = c.span.end;
            self.last_end = self.last_end.max(c.span.end);
        }
    }

    fn doc(&mut self, d: &Doc, depth: usize, limit: usize) {
        match d {
            Doc::Leaf { span, lines } => {
                let span = &self.trim(*span);
                self.flush(span.end, depth);
                self.gap(span.start);
                for l in lines {
                    self.line(depth, l);
                }
                self.started = true;
                self.last_end = self.last_end.max(span.end);
                self.trailing(span.end, limit);
            }
            Doc::Block {
                span,
                header,
                children,
            } => {
                let span = &self.trim(*span);
                self.flush(span.start, depth);
                self.gap(span.start);
                let first = children.first().map_or(span.end, Doc::start);
                let inner = self.peek().is_some_and(|c| c.span.start < span.end);
                if children.is_empty() && !inner {
                    self.line(depth, &format!("{header} {{}}"));
                } else {
                    self.line(depth, &format!("{header} {{"));
                    // Comments on the header's own line stay there.
                    self.trailing(span.start, first);
                    self.started = false;
                    for (i, c) in children.iter().enumerate() {
                        let lim = children.get(i + 1).map_or(span.end, Doc::start);
                        self.doc(c, depth + 1, lim);
                    }
                    self.flush(span.end, depth + 1);
                    self.line(depth, "}");
                }
                self.started = true;
                self.last_end = self.last_end.max(span.end);
                self.trailing(span.end, limit);
            }
        }
    }

    // -------------------------------------------------------------- source probing

    /// `span` without the whitespace and comments at its end. Rules ending in an optional
    /// part (`expr`, and so `segment`, `move`, ...) get spans that run over the whitespace and
    /// comments pest skipped while looking for that part; a comment there belongs to what
    /// follows, not to the node.
    fn trim(&self, span: Span) -> Span {
        let b = self.src.as_bytes();
        let mut end = span.end.min(b.len());
        while end > span.start {
            let i = end - 1;
            let at = self.comments.partition_point(|c| c.span.start <= i);
            match at.checked_sub(1).and_then(|k| self.comments.get(k)) {
                Some(c) if i < c.span.end => end = c.span.start,
                _ if b.get(i).is_some_and(u8::is_ascii_whitespace) => end = i,
                _ => break,
            }
        }
        Span::new(span.start, end.max(span.start))
    }

    /// Whether byte `pos` of the source lies inside a comment.
    fn in_comment(&self, pos: usize) -> bool {
        let i = self.comments.partition_point(|c| c.span.start <= pos);
        i > 0 && self.comments.get(i - 1).is_some_and(|c| pos < c.span.end)
    }

    /// The offset of the code byte (not whitespace, not comment) before `pos`, if it is `want`.
    fn code_before(&self, pos: usize, want: u8) -> Option<usize> {
        let b = self.src.as_bytes();
        let mut i = pos.min(b.len());
        while i > 0 {
            i -= 1;
            let c = *b.get(i)?;
            if c.is_ascii_whitespace() || self.in_comment(i) {
                continue;
            }
            return (c == want).then_some(i);
        }
        None
    }

    /// The offset of the code byte at or after `pos`, if it is `want`.
    fn code_after(&self, pos: usize, want: u8) -> Option<usize> {
        let b = self.src.as_bytes();
        let mut i = pos;
        while let Some(&c) = b.get(i) {
            if !(c.is_ascii_whitespace() || self.in_comment(i)) {
                return (c == want).then_some(i);
            }
            i += 1;
        }
        None
    }

    // -------------------------------------------------------------- items

    fn item(&self, item: &Item) -> Doc {
        match item {
            Item::Funnel(f) => Doc::leaf(f.span, format!("funnel {}", text(&f.name))),
            Item::Schema(s) => Doc::Block {
                span: s.span,
                header: "schema".into(),
                children: s
                    .entries
                    .iter()
                    .map(|e| Doc::leaf(e.span(), schema_entry(e)))
                    .collect(),
            },
            Item::Segment(s) => Doc::Leaf {
                span: s.span,
                lines: cond_lines(&format!("segment {} =", s.name), &s.expr, 0),
            },
            Item::Score(s) => self.score(s),
            Item::Stage(s) => {
                let mut header = format!("stage {}", s.name);
                if let Some(d) = &s.display {
                    header = format!("{header} {}", text(d));
                }
                if let Some(o) = &s.owner {
                    header = format!("{header} owner {o}");
                }
                if let Some(d) = &s.sla {
                    header = format!("{header} sla {}", duration(d.value));
                }
                Doc::Block {
                    span: s.span,
                    header,
                    children: s
                        .enter
                        .iter()
                        .map(|e| Doc::Leaf {
                            span: e.span,
                            lines: cond_lines("enter when", e, 1),
                        })
                        .collect(),
                }
            }
            Item::Move(m) => {
                let head = format!("move {} -> {}{} when", m.from, m.to, priority(m.priority));
                Doc::Leaf {
                    span: m.span,
                    lines: cond_lines(&head, &m.when, 0),
                }
            }
            Item::Exit(x) => {
                let from = match &x.from {
                    StageSet::Any(_) => "any".to_string(),
                    StageSet::Stages(v) if v.len() == 1 => names(v),
                    StageSet::Stages(v) => format!("[{}]", names(v)),
                };
                let head = format!("exit {} from {from}{} when", x.name, priority(x.priority));
                Doc::Leaf {
                    span: x.span,
                    lines: cond_lines(&head, &x.when, 0),
                }
            }
            Item::Kpi(k) => Doc::leaf(k.span(), kpi(k)),
            Item::Target(t) => {
                let mut line = format!(
                    "target volume {} {} from {:04}-{:02} = {}",
                    t.stage,
                    t.period.keyword(),
                    t.from.year,
                    t.from.month,
                    t.base
                );
                if let Some(g) = t.growth {
                    line = format!("{line}, growing {}%", num(g.value));
                }
                Doc::leaf(t.span, line)
            }
            Item::Dimensions(d) => Doc::leaf(d.span, format!("dimensions [{}]", names(&d.paths))),
            Item::Cost(c) => Doc::Block {
                span: c.span,
                header: format!("cost by {} {}", c.by, c.period.keyword()),
                children: c
                    .entries
                    .iter()
                    .map(|e| Doc::leaf(e.span, format!("{}: {},", text(&e.key), money(&e.amount))))
                    .collect(),
            },
            Item::Revenue(r) => {
                let period = r
                    .period
                    .map_or(String::new(), |p| format!("{} ", p.keyword()));
                Doc::leaf(r.span, format!("revenue {period}{} of {}", r.prop, r.event))
            }
            Item::Test(t) => self.test(t),
        }
    }

    fn score(&self, s: &Score) -> Doc {
        let mut header = format!("score {}", s.name);
        if let Some(m) = s.max {
            header = format!("{header} max {}", num(m.value));
        }
        if let Some(m) = s.min {
            header = format!("{header} min {}", num(m.value));
        }
        match &s.decay {
            Some(Decay::HalfLife(d)) => {
                header = format!("{header} decay half-life {}", duration(d.value))
            }
            Some(Decay::Expire(d)) => {
                header = format!("{header} decay expire after {}", duration(d.value))
            }
            None => {}
        }
        let mut children: Vec<Doc> = s
            .rules
            .iter()
            .map(|r| {
                let pts = points(r.points.value);
                let lines = match &r.kind {
                    RuleKind::When(e) => cond_lines(&format!("{pts} when"), e, 1),
                    RuleKind::Per { query: q, cap } => {
                        let cap = cap.map_or(String::new(), |c| format!(" max {}", num(c.value)));
                        vec![format!("{pts} per {}{cap}", query(q, false))]
                    }
                };
                Doc::Leaf {
                    span: r.span,
                    lines,
                }
            })
            .chain(s.grades.iter().map(|g| {
                Doc::leaf(
                    g.span,
                    format!("grade {} from {}", g.label, num(g.from.value)),
                )
            }))
            .collect();
        // Rules and grades are kept apart in the tree; print them in the order written (a
        // stable sort, so a tree built in code prints rules first).
        children.sort_by_key(Doc::start);
        Doc::Block {
            span: s.span,
            header,
            children,
        }
    }

    fn test(&self, t: &Test) -> Doc {
        let mut children = Vec::new();
        if let Some(a) = &t.as_of {
            children.push(Doc::leaf(a.span, format!("as of {}", time_lit(a))));
        }
        if let Some(o) = &t.traits {
            children.push(Doc::Leaf {
                span: o.span,
                lines: object_lines("traits ", o, 2),
            });
        }
        if let (Some(first), Some(last)) = (t.events.first(), t.events.last()) {
            // The `events { ... }` block has no span of its own: find its braces around the
            // events, so comments inside it stay inside it.
            let open = self.code_before(first.span.start, b'{');
            let close = self.code_after(last.span.end, b'}');
            let span = Span::new(
                open.unwrap_or(first.span.start),
                close.map_or(last.span.end, |c| c + 1),
            );
            let events = t
                .events
                .iter()
                .map(|e| {
                    let head = format!("{} {}", time_lit(&e.at), e.event);
                    let lines = match &e.props {
                        Some(o) => object_lines(&format!("{head} "), o, 4),
                        None => vec![head],
                    };
                    Doc::Leaf {
                        span: e.span,
                        lines,
                    }
                })
                .collect();
            children.push(Doc::Block {
                span,
                header: "events".into(),
                children: events,
            });
        }
        for e in &t.expects {
            children.push(Doc::leaf(e.span(), expect(e)));
        }
        children.sort_by_key(Doc::start);
        Doc::Block {
            span: t.span,
            header: format!("test {}", text(&t.name)),
            children,
        }
    }
}

/// Whether the source between `a` and `b` holds an empty line.
fn blank_between(src: &str, a: usize, b: usize) -> bool {
    let Some(s) = src.get(a..b) else {
        return false;
    };
    let mut lines = s.split('\n');
    // The text before the first newline and after the last are parts of other lines.
    lines.next();
    let mut rest: Vec<&str> = lines.collect();
    rest.pop();
    rest.iter().any(|l| l.trim().is_empty())
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn names(v: &[Name]) -> String {
    v.iter()
        .map(|n| n.text.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn priority(p: Option<Priority>) -> String {
    p.map_or(String::new(), |p| format!(" priority {}", p.value))
}

fn schema_entry(e: &SchemaEntry) -> String {
    match e {
        SchemaEntry::Trait(t) => format!("trait {}: {}", t.path, ty(&t.ty)),
        SchemaEntry::Event(ev) if ev.props.is_empty() => format!("event {}", ev.name),
        SchemaEntry::Event(ev) => {
            let props: Vec<String> = ev
                .props
                .iter()
                .map(|p| format!("{}: {}", p.name, ty(&p.ty)))
                .collect();
            format!("event {} {{ {} }}", ev.name, props.join(", "))
        }
    }
}

fn ty(t: &Type) -> String {
    if t.list {
        format!("list<{}>", t.scalar.keyword())
    } else {
        t.scalar.keyword().to_string()
    }
}

fn kpi(k: &Kpi) -> String {
    match k {
        Kpi::Conversion {
            from, to, bands, ..
        } => {
            let bands: Vec<String> = bands
                .iter()
                .map(|b| match b.range {
                    BandRange::Below(n) => format!("{} below {}%", b.label, num(n.value)),
                    BandRange::From(n) => format!("{} from {}%", b.label, num(n.value)),
                    BandRange::Between(a, z) => {
                        format!(
                            "{} between {}% and {}%",
                            b.label,
                            num(a.value),
                            num(z.value)
                        )
                    }
                })
                .collect();
            format!("kpi conversion {from} -> {to} {{ {} }}", bands.join(", "))
        }
        Kpi::Velocity {
            from, to, at_most, ..
        } => format!(
            "kpi velocity {from} -> {to} {{ target at most {} }}",
            duration(at_most.value)
        ),
    }
}

fn expect(e: &Expect) -> String {
    let at = |t: &Option<TimeLit>| {
        t.as_ref()
            .map_or(String::new(), |t| format!(" at {}", time_lit(t)))
    };
    match e {
        Expect::Stage(s, _) => format!("expect stage {s}"),
        Expect::Entered { stage, at: t, .. } => format!("expect entered {stage}{}", at(t)),
        Expect::NotEntered(s, _) => format!("expect not entered {s}"),
        Expect::Exited { exit, at: t, .. } => format!("expect exited {exit}{}", at(t)),
        Expect::Score {
            score, op, value, ..
        } => format!("expect score {score} {} {}", op.symbol(), num(value.value)),
        Expect::Grade { score, label, .. } => format!("expect grade {score} == {label}"),
    }
}

/// `prefix{ a: 1, b: 2 }` on one line when it fits in the width left after `indent` columns,
/// else one field per line with trailing commas.
fn object_lines(prefix: &str, o: &Object, indent: usize) -> Vec<String> {
    let one = format!("{prefix}{}", object_inline(o));
    if indent + width(&one) <= WIDTH || o.fields.is_empty() {
        return vec![one];
    }
    let mut lines = vec![format!("{prefix}{{")];
    for f in &o.fields {
        let key = format!("  {}: ", f.key);
        let mut field = match &f.value {
            Value::Object(inner) => object_lines(&key, inner, indent + 2)
                .into_iter()
                .enumerate()
                .map(|(i, l)| if i == 0 { l } else { format!("  {l}") })
                .collect(),
            v => vec![format!("{key}{}", value(v))],
        };
        if let Some(last) = field.last_mut() {
            last.push(',');
        }
        lines.extend(field);
    }
    lines.push("}".into());
    lines
}

fn object_inline(o: &Object) -> String {
    if o.fields.is_empty() {
        return "{}".into();
    }
    let fields: Vec<String> = o
        .fields
        .iter()
        .map(|f| format!("{}: {}", f.key, value(&f.value)))
        .collect();
    format!("{{ {} }}", fields.join(", "))
}

fn value(v: &Value) -> String {
    match v {
        Value::Lit(l, _) => lit(l),
        Value::List(items, _) => {
            let items: Vec<String> = items.iter().map(value).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(o) => object_inline(o),
    }
}

// ------------------------------------------------------------------ literals

fn num(v: f64) -> String {
    // `{}` of an f64 is the shortest text that reads back to the same value, never exponent
    // notation, so it always fits the grammar's `digits ("." digits)?`.
    format!("{v}")
}

/// A decimal keeps a `.` so it reads back as a decimal, not an int: `3.0`, not `3`.
fn decimal(v: f64) -> String {
    let s = num(v);
    if s.contains('.') || !v.is_finite() {
        s
    } else {
        format!("{s}.0")
    }
}

fn points(v: f64) -> String {
    if v.is_sign_negative() {
        num(v)
    } else {
        format!("+{}", num(v))
    }
}

fn duration(d: Duration) -> String {
    format!("{}{}", d.value, d.unit.suffix())
}

fn time_lit(t: &TimeLit) -> String {
    if t.date_only {
        time::format_date_of(t.at)
    } else {
        time::format_timestamp(t.at)
    }
}

fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match TEXT_ESCAPES.iter().find(|(_, meant)| *meant == c) {
            Some(&(written, _)) => {
                out.push('\\');
                out.push(written);
            }
            None => out.push(c),
        }
    }
    out.push('"');
    out
}

fn money(m: &Money) -> String {
    if m.currency == "USD" {
        usd(m.amount)
    } else {
        format!("{} {}", num(m.amount), m.currency)
    }
}

/// `$4,500`, `$4,500.50`; amounts with fractions of a cent fall back to `$0.125`, which the
/// grammar also reads.
fn usd(amount: f64) -> String {
    let plain = format!("${}", num(amount));
    let cents = (amount * 100.0).round();
    // Beyond 2^53 cents the arithmetic below is no longer exact.
    if !(0.0..9.0e15).contains(&cents) {
        return plain;
    }
    let cents = cents as u64;
    let (whole, frac) = (cents / 100, cents % 100);
    let frac = if frac == 0 {
        String::new()
    } else {
        // Always two digits: the grammar reads `$4.5` as `$4` and then fails on `.5`.
        format!(".{frac:02}")
    };
    if format!("{whole}{frac}").parse::<f64>() != Ok(amount) {
        return plain;
    }
    let digits = whole.to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("${grouped}{frac}")
}

fn lit(l: &Literal) -> String {
    match l {
        Literal::Int(i) => i.to_string(),
        Literal::Decimal(d) => decimal(*d),
        Literal::Percent(p) => format!("{}%", num(*p)),
        Literal::Money(m) => money(m),
        Literal::Duration(d) => duration(*d),
        Literal::Date(d) => time::format_date(*d),
        Literal::Timestamp(t) => time::format_timestamp(*t),
        Literal::Text(s) => text(s),
        Literal::Bool(b) => b.to_string(),
    }
}

// ------------------------------------------------------------------ expressions

/// An operand of an `and` or `or` chain: a nested chain of either kind is put in parentheses
/// (`a or (b and c)`), so a reader need not know that `and` binds tighter.
const CHAIN_ITEM: Prec = Prec::Not;

/// The least precedence of the value a postfix test applies to: tighter than the test, so
/// `(x in a) in b` keeps its parentheses, although the parser would read it the same without.
fn postfix_value(test: &Expr) -> Prec {
    test.kind.prec().tighter()
}

fn is_chain(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::All(_) | ExprKind::Any(_))
}

/// `e` where the context needs at least precedence `min`: in parentheses if it binds looser.
fn sub(e: &Expr, min: Prec, exposed: bool) -> String {
    if e.kind.prec() < min {
        format!("({})", expr(e, false))
    } else {
        expr(e, exposed)
    }
}

/// The argument of a postfix test (`in`, `contains`, ...): the grammar takes a literal, a
/// list, a name, a score or a grade; anything else goes in parentheses.
fn arg(e: &Expr) -> String {
    match closed(e) {
        Some(s) => s,
        None => format!("({})", expr(e, false)),
    }
}

/// A `between` bound: a term, optionally negated.
fn bound(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Neg(x) if closed(x).is_some() => format!("-{}", expr(x, false)),
        _ => arg(e),
    }
}

fn which_latest(w: Which) -> &'static str {
    match w {
        Which::First => "first",
        Which::Last => "latest",
    }
}

/// Prints an expression with the fewest parentheses that read back to the same tree.
///
/// `exposed` says the text will be followed directly by a comparison or a postfix test. It
/// matters for an event query ending the text: a bare `where` filter without an operator
/// (`count e where x >= 1`) would take the comparison as its own.
fn expr(e: &Expr, exposed: bool) -> String {
    match &e.kind {
        ExprKind::Lit(l) => lit(l),
        ExprKind::List(items) => {
            let items: Vec<String> = items.iter().map(|i| expr(i, false)).collect();
            format!("[{}]", items.join(", "))
        }
        ExprKind::Name(n) => n.text.clone(),
        ExprKind::Event(q) => query(q, exposed),
        ExprKind::Count(q) => format!("count {}", query(q, exposed)),
        ExprKind::Rate(a, b) => format!("rate {} / {}", query(a, false), query(b, exposed)),
        ExprKind::No(q) => format!("no {}", query(q, exposed)),
        ExprKind::DaysSince(w, q) => {
            let w = match w {
                Which::First => "first",
                Which::Last => "last",
            };
            format!("days since {w} {}", query(q, exposed))
        }
        ExprKind::DaysSinceEntering(n) => format!("days since entering {n}"),
        ExprKind::Has {
            which,
            query: q,
            test,
        } => {
            let test = match test {
                HasTest::Prop(p) => p.text.clone(),
                HasTest::AtLeast { k, props } => format!("at least {k} of [{}]", names(props)),
            };
            format!("{} {} has {test}", which_latest(*which), query(q, false))
        }
        ExprKind::PropOf {
            prop,
            which,
            query: q,
        } => format!("{prop} of {} {}", which_latest(*which), query(q, exposed)),
        ExprKind::Then(steps) => {
            let last = steps.len().saturating_sub(1);
            let steps: Vec<String> = steps
                .iter()
                .enumerate()
                .map(|(i, q)| query(q, exposed && i == last))
                .collect();
            steps.join(" then ")
        }
        ExprKind::AtLeast { k, items } => {
            let items: Vec<String> = items.iter().map(|i| expr(i, false)).collect();
            format!("at least {k} of [{}]", items.join(", "))
        }
        ExprKind::Score(n) => format!("score {n}"),
        ExprKind::Grade(n) => format!("grade {n}"),
        ExprKind::Not(x) => format!("not {}", sub(x, Prec::Not, exposed)),
        ExprKind::Neg(x) => format!("-{}", sub(x, Prec::Neg, exposed)),
        ExprKind::All(v) => chain(v, " and ", exposed),
        ExprKind::Any(v) => chain(v, " or ", exposed),
        ExprKind::Binary { op, lhs, rhs } => {
            // Comparisons are printed as if they did not chain; arithmetic is left-associative,
            // so an equal-precedence right operand needs parentheses and a left one does not.
            let level = Operator::Binary(*op).prec();
            let (l, r) = if op.is_comparison() {
                (level.tighter(), level.tighter())
            } else {
                (level, level.tighter())
            };
            format!(
                "{} {} {}",
                sub(lhs, l, op.is_comparison()),
                op.symbol(),
                sub(rhs, r, exposed)
            )
        }
        ExprKind::In {
            value,
            list,
            negated,
        } => {
            let word = if *negated { "not in" } else { "in" };
            format!(
                "{} {word} {}",
                sub(value, postfix_value(e), true),
                arg(list)
            )
        }
        ExprKind::Between { value, lo, hi } => format!(
            "{} between {} and {}",
            sub(value, postfix_value(e), true),
            bound(lo),
            bound(hi)
        ),
        ExprKind::Test { value, op, arg: a } => {
            format!(
                "{} {} {}",
                sub(value, postfix_value(e), true),
                op.words(),
                arg(a)
            )
        }
        ExprKind::Exists(v) => format!("{} exists", sub(v, postfix_value(e), true)),
        ExprKind::Missing(v) => format!("{} is missing", sub(v, postfix_value(e), true)),
    }
}

fn chain(v: &[Expr], word: &str, exposed: bool) -> String {
    let last = v.len().saturating_sub(1);
    let parts: Vec<String> = v
        .iter()
        .enumerate()
        .map(|(i, c)| sub(c, CHAIN_ITEM, exposed && i == last))
        .collect();
    parts.join(word)
}

fn query(q: &EventQuery, exposed: bool) -> String {
    let mut s = q.event.text.clone();
    if let Some(f) = &q.filter {
        // Scopes after the filter shield it from what follows the query.
        let exposed = exposed && q.within.is_none() && q.since.is_none();
        let f = where_bare(f, exposed).unwrap_or_else(|| format!("({})", expr(f, false)));
        s = format!("{s} where {f}");
    }
    if let Some(d) = &q.within {
        s = format!("{s} within {}", duration(d.value));
    }
    if let Some(n) = &q.since {
        s = format!("{s} since entering {n}");
    }
    s
}

/// The filter in the grammar's bare `where_pred` shape (`[not] term [test | cmp [-]term]`),
/// or `None` when it needs parentheses.
fn where_bare(f: &Expr, exposed: bool) -> Option<String> {
    let (not, core) = match &f.kind {
        ExprKind::Not(x) => ("not ", &**x),
        _ => ("", f),
    };
    let body = match &core.kind {
        ExprKind::Lit(_) | ExprKind::List(_) | ExprKind::Name(_) => {
            // Nothing would stop the predicate from taking a following operator as its own.
            if exposed {
                return None;
            }
            expr(core, false)
        }
        ExprKind::In {
            value,
            list,
            negated,
        } => {
            let word = if *negated { "not in" } else { "in" };
            format!("{} {word} {}", where_term(value)?, closed(list)?)
        }
        ExprKind::Between { value, lo, hi } => {
            let b = |e: &Expr| match &e.kind {
                ExprKind::Neg(x) => closed(x).map(|x| format!("-{x}")),
                _ => closed(e),
            };
            format!("{} between {} and {}", where_term(value)?, b(lo)?, b(hi)?)
        }
        ExprKind::Test { value, op, arg: a } => {
            format!("{} {} {}", where_term(value)?, op.words(), closed(a)?)
        }
        ExprKind::Exists(v) => format!("{} exists", where_term(v)?),
        ExprKind::Missing(v) => format!("{} is missing", where_term(v)?),
        ExprKind::Binary { op, lhs, rhs } if op.is_comparison() => {
            let r = match &rhs.kind {
                ExprKind::Neg(x) => format!("-{}", where_term(x)?),
                _ => where_term(rhs)?,
            };
            format!("{} {} {r}", where_term(lhs)?, op.symbol())
        }
        _ => return None,
    };
    Some(format!("{not}{body}"))
}

/// The grammar's `where_term` (a literal, list or path) without parentheses.
fn where_term(e: &Expr) -> Option<String> {
    matches!(
        e.kind,
        ExprKind::Lit(_) | ExprKind::List(_) | ExprKind::Name(_)
    )
    .then(|| expr(e, false))
}

/// A test argument as the grammar's `pf_arg` reads it without parentheses.
fn closed(e: &Expr) -> Option<String> {
    matches!(
        e.kind,
        ExprKind::Lit(_)
            | ExprKind::List(_)
            | ExprKind::Score(_)
            | ExprKind::Grade(_)
            | ExprKind::Name(_)
    )
    .then(|| expr(e, false))
}

/// `head expr` on one line; when that is too wide at `depth` and the condition is an
/// `and`/`or` chain, `head` alone and one operand per line below it.
fn cond_lines(head: &str, e: &Expr, depth: usize) -> Vec<String> {
    let one = format!("{head} {}", expr(e, false));
    if depth * 2 + width(&one) <= WIDTH || !is_chain(e) {
        return vec![one];
    }
    let mut lines = vec![head.to_string()];
    chain_lines(e, depth, 1, &mut lines);
    lines
}

/// One operand of the chain `e` per line, `rel` levels below the line at `depth`, each after
/// the first starting with `and `/`or `; a nested chain still too wide opens its own group.
fn chain_lines(e: &Expr, depth: usize, rel: usize, lines: &mut Vec<String>) {
    let (items, word) = match &e.kind {
        ExprKind::All(v) => (v, "and "),
        ExprKind::Any(v) => (v, "or "),
        _ => return,
    };
    let pad = "  ".repeat(rel);
    for (i, c) in items.iter().enumerate() {
        let prefix = if i == 0 { "" } else { word };
        let one = format!("{pad}{prefix}{}", sub(c, CHAIN_ITEM, false));
        if depth * 2 + width(&one) > WIDTH && is_chain(c) {
            lines.push(format!("{pad}{prefix}("));
            chain_lines(c, depth, rel + 1, lines);
            lines.push(format!("{pad})"));
        } else {
            lines.push(one);
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::syntax::parse;

    /// Formats `src`, checking the properties every output must have: it parses to the same
    /// tree, keeps every comment in order, and formatting it again changes nothing.
    fn check(src: &str) -> String {
        let out = format_source(src).unwrap_or_else(|d| panic!("{src}\n{d:?}"));
        let again = format_source(&out).unwrap_or_else(|d| panic!("{out}\n{d:?}"));
        assert_eq!(again, out, "not idempotent; first pass:\n{out}");
        let (before, after) = (parse(src), parse(&out));
        assert_eq!(
            after.file.without_spans(),
            before.file.without_spans(),
            "tree changed; output:\n{out}"
        );
        let texts = |p: &crate::syntax::Parsed| -> Vec<String> {
            p.comments.iter().map(|c| c.text.clone()).collect()
        };
        assert_eq!(
            texts(&after),
            texts(&before),
            "comments changed; output:\n{out}"
        );
        out
    }

    /// The canonical spelling of one expression.
    fn ex(src: &str) -> String {
        let out = check(&format!("segment s = {src}\n"));
        out.strip_prefix("segment s = ")
            .and_then(|s| s.strip_suffix('\n'))
            .unwrap_or_else(|| panic!("{out}"))
            .to_string()
    }

    #[test]
    fn shipped_rule_files() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "funnel") {
                check(&std::fs::read_to_string(&path).unwrap());
                n += 1;
            }
        }
        assert!(n > 0);
    }

    #[test]
    fn every_construct() {
        let src = r#"funnel "Every \"construct\"\n"
schema {
  trait source: text
  trait company.branches: list<text>
  trait a: bool
  trait b: int
  trait c: decimal
  trait d: percent
  trait e: money
  trait f: duration
  trait g: date
  trait h: timestamp
  event form.submitted { form: text, step: int, }
  event demo.requested {}
  event bare
}
segment icp = a and (b or c) and not d
score fit max 60 min -10 decay half-life 30d {
  +20 when b between 150 and 500
  -2.5 when c
  +5 per form.submitted where step == 1 within 7d max 15
  +1 per demo.requested
  grade A from 50
  grade F from -10
}
score engagement decay expire after 2w {}
stage MCL "Marketing Captured Lead" owner marketing sla 7d {
  enter when form.submitted where form == "x" and a
}
stage Empty {}
stage Two { enter when a enter when b }
move MCL -> Empty priority 2 when demo.requested
move MCL -> Two when a
exit lost from any when no form.submitted within 60d
exit gone from MCL priority 1 when b > 3
exit out from [MCL, Two,] when c
kpi conversion MCL -> Two { failing below 50%, ok between 50% and 70.5%, good from 70% }
kpi velocity MCL -> Two { target at most 7d }
target volume MCL monthly from 2025-01 = 30, growing 10%
target volume Two quarterly from 2025-12 = 5
dimensions [source, company.branches,]
cost by source weekly { "linkedin": $4500, "email": $1800.5, "x": 10 EUR }
cost by source monthly {}
revenue monthly amount of form.submitted
revenue amount of form.submitted
test "all of it" {
  as of 2025-02-01T10:00:00Z
  traits { a: true, b: 220, c: 2.50, d: 40%, e: $5, f: 3d, g: 2025-01-01, h: 2025-01-01 10:00,
    l: [1, "two", [3]], o: { p: { q: "deep" } }, }
  events {
    2025-01-01 form.submitted { form: "x", step: 1 }
    2025-01-02T10:00:00.250Z demo.requested
  }
  expect stage MCL
  expect entered MCL at 2025-01-01
  expect entered Two
  expect not entered Empty
  expect exited lost at 2025-01-03T00:00:00Z
  expect exited gone
  expect score fit >= 20
  expect grade fit == A
}
test "empty" {}
"#;
        let out = check(src);
        // Spot checks of the canonical spellings.
        for want in [
            "funnel \"Every \\\"construct\\\"\\n\"\n",
            "  event form.submitted { form: text, step: int }\n  event demo.requested\n",
            "score fit max 60 min -10 decay half-life 30d {\n  +20 when",
            "  -2.5 when c\n",
            "  +5 per form.submitted where step == 1 within 7d max 15\n",
            "score engagement decay expire after 2w {}\n",
            "stage MCL \"Marketing Captured Lead\" owner marketing sla 7d {\n  enter when form",
            "stage Empty {}\n",
            "stage Two {\n  enter when a\n  enter when b\n}\n",
            "move MCL -> Empty priority 2 when demo.requested\n",
            "exit gone from MCL priority 1 when b > 3\n",
            "exit out from [MCL, Two] when c\n",
            "kpi conversion MCL -> Two { failing below 50%, ok between 50% and 70.5%, good from 70% }\n",
            "target volume Two quarterly from 2025-12 = 5\n",
            "dimensions [source, company.branches]\n",
            "cost by source weekly {\n  \"linkedin\": $4,500,\n  \"email\": $1,800.50,\n  \"x\": 10 EUR,\n}\n",
            "revenue amount of form.submitted\n",
            "  as of 2025-02-01T10:00:00Z\n",
            "    2025-01-02T10:00:00.250Z demo.requested\n",
            "  expect entered MCL at 2025-01-01\n",
            "  expect exited lost at 2025-01-03T00:00:00Z\n",
            "test \"empty\" {}\n",
        ] {
            assert!(out.contains(want), "missing {want:?} in\n{out}");
        }
        // The traits object is too long for one line: one field per line.
        assert!(out.contains("  traits {\n    a: true,\n"), "{out}");
        assert!(out.contains("    h: 2025-01-01T10:00:00Z,\n"), "{out}");
        assert!(
            out.contains("    o: { p: { q: \"deep\" } },\n  }\n"),
            "{out}"
        );
        // One blank line between declarations, none inside blocks.
        assert!(out.contains("}\n\nsegment icp"), "{out}");
        assert!(!out.contains("\n\n\n"), "{out}");
    }

    #[test]
    fn literals_print_canonically() {
        assert_eq!(ex("x == 007"), "x == 7");
        assert_eq!(ex("x == 2.50"), "x == 2.5");
        assert_eq!(ex("x == 3.0"), "x == 3.0");
        assert_eq!(ex("x == 0.1"), "x == 0.1");
        assert_eq!(ex("x == 40.0%"), "x == 40%");
        assert_eq!(ex("x == 12.5%"), "x == 12.5%");
        assert_eq!(ex("x == $4500"), "x == $4,500");
        assert_eq!(ex("x == $4,500.00"), "x == $4,500");
        assert_eq!(ex("x == $1234567.5"), "x == $1,234,567.50");
        assert_eq!(ex("x == $0.125"), "x == $0.125");
        assert_eq!(ex("x == $0"), "x == $0");
        assert_eq!(ex("x == 4500.50 EUR"), "x == 4500.5 EUR");
        assert_eq!(
            ex("x == 7d or y == 2w or z == 3h or w == 90m"),
            "x == 7d or y == 2w or z == 3h or w == 90m"
        );
        assert_eq!(ex("x == 2025-01-03"), "x == 2025-01-03");
        assert_eq!(
            ex("x == 2025-01-03T12:00:00+02:00"),
            "x == 2025-01-03T10:00:00Z"
        );
        assert_eq!(ex("x == 2025-01-03 10:00"), "x == 2025-01-03T10:00:00Z");
        assert_eq!(
            ex("x == 2025-01-03T10:00:00.5Z"),
            "x == 2025-01-03T10:00:00.500Z"
        );
        assert_eq!(ex(r#"x == "a\"b\\c\nd	e""#), r#"x == "a\"b\\c\nd\te""#);
        assert_eq!(ex("x == true and y != false"), "x == true and y != false");
    }

    #[test]
    fn usd_amounts() {
        assert_eq!(usd(0.0), "$0");
        assert_eq!(usd(999.0), "$999");
        assert_eq!(usd(1000.0), "$1,000");
        assert_eq!(usd(4500.5), "$4,500.50");
        assert_eq!(usd(0.07), "$0.07");
        assert_eq!(usd(123_456_789.0), "$123,456,789");
        assert_eq!(usd(1.0e20), "$100000000000000000000");
    }

    fn node(kind: ExprKind) -> Expr {
        Expr {
            kind,
            span: Span::default(),
        }
    }

    fn leaf(text: &str) -> Expr {
        node(ExprKind::Name(Name {
            text: text.into(),
            span: Span::default(),
        }))
    }

    /// `op` applied to plain operands, with `fill` in operand `slot` (every child expression
    /// is a slot, a test's argument included); `None` past the last slot.
    fn apply(op: Operator, slot: usize, fill: &Expr) -> Option<Expr> {
        let mut operands: Vec<Expr> = match op {
            Operator::Or | Operator::And | Operator::Binary(_) => vec![leaf("x"), leaf("y")],
            Operator::Not | Operator::Neg | Operator::Exists | Operator::Missing => {
                vec![leaf("x")]
            }
            Operator::In { .. } | Operator::Test(TestOp::ContainsAll | TestOp::ContainsAny) => {
                vec![leaf("x"), node(ExprKind::List(vec![leaf("y")]))]
            }
            Operator::Test(_) => vec![leaf("x"), node(ExprKind::Lit(Literal::Text("y".into())))],
            Operator::Between => vec![leaf("x"), leaf("lo"), leaf("hi")],
        };
        *operands.get_mut(slot)? = fill.clone();
        let mut it = operands.into_iter().map(Box::new);
        let mut next = || it.next().unwrap();
        let kind = match op {
            Operator::Or => ExprKind::Any(vec![*next(), *next()]),
            Operator::And => ExprKind::All(vec![*next(), *next()]),
            Operator::Not => ExprKind::Not(next()),
            Operator::Neg => ExprKind::Neg(next()),
            Operator::Binary(op) => ExprKind::Binary {
                op,
                lhs: next(),
                rhs: next(),
            },
            Operator::In { negated } => ExprKind::In {
                value: next(),
                list: next(),
                negated,
            },
            Operator::Between => ExprKind::Between {
                value: next(),
                lo: next(),
                hi: next(),
            },
            Operator::Test(op) => ExprKind::Test {
                value: next(),
                op,
                arg: next(),
            },
            Operator::Exists => ExprKind::Exists(next()),
            Operator::Missing => ExprKind::Missing(next()),
        };
        Some(node(kind))
    }

    /// The formatter and the parser read the one precedence table the same way: every
    /// operator, with every operator (or a name) in each of its operand places, prints to text
    /// that parses back to the same tree.
    #[test]
    fn every_operator_pair_reads_back() {
        let inner: Vec<Expr> = std::iter::once(leaf("z"))
            .chain(
                Operator::ALL
                    .iter()
                    .filter_map(|&op| apply(op, 0, &leaf("z"))),
            )
            .collect();
        let mut cases = 0;
        for outer in Operator::ALL {
            for slot in 0.. {
                let Some(_) = apply(outer, slot, &leaf("z")) else {
                    break;
                };
                for fill in &inner {
                    // `(a and b) and c` reads as one flat chain: the parser never builds a
                    // chain whose first item is a chain of the same kind.
                    if slot == 0
                        && matches!(outer, Operator::And | Operator::Or)
                        && fill.kind.operator() == Some(outer)
                    {
                        continue;
                    }
                    let Some(e) = apply(outer, slot, fill) else {
                        continue;
                    };
                    let file = File {
                        items: vec![Item::Segment(Segment {
                            name: Name {
                                text: "s".into(),
                                span: Span::default(),
                            },
                            expr: e,
                            span: Span::default(),
                        })],
                    };
                    let out = format_file(&file, &[], "");
                    let back = parse(&out);
                    assert!(back.diagnostics.is_empty(), "{out}{:?}", back.diagnostics);
                    assert_eq!(back.file.without_spans(), file, "{out}");
                    cases += 1;
                }
            }
        }
        assert!(cases > 1000, "{cases}");
    }

    #[test]
    fn minimal_parentheses() {
        for (src, want) in [
            ("a or b and c", "a or (b and c)"),
            ("(a or b) and c", "(a or b) and c"),
            ("a and (b and c)", "a and (b and c)"),
            ("((a)) and b", "a and b"),
            ("not (a and b)", "not (a and b)"),
            ("not a and b", "not a and b"),
            ("not a == 1", "not a == 1"),
            ("(not a) == 1", "(not a) == 1"),
            ("not not a", "not not a"),
            ("1 + 2 * 3", "1 + 2 * 3"),
            ("(1 + 2) * 3", "(1 + 2) * 3"),
            ("(1 - 2) - 3", "1 - 2 - 3"),
            ("1 - (2 - 3)", "1 - (2 - 3)"),
            ("1 / (2 * 3)", "1 / (2 * 3)"),
            ("-(a + b) * -c", "-(a + b) * -c"),
            ("- -a", "--a"),
            ("-a exists", "-a exists"),
            ("-(a exists)", "-(a exists)"),
            ("a + b exists", "a + b exists"),
            ("(a == b) == c", "(a == b) == c"),
            ("a == (b == c)", "a == (b == c)"),
            ("(x exists) == true", "(x exists) == true"),
            ("a == (not b)", "a == (not b)"),
            ("(x in [1]) in [true]", "(x in [1]) in [true]"),
            ("x in (a + b)", "x in (a + b)"),
            ("x in [a + b, not c]", "x in [a + b, not c]"),
            ("x not in [1, 2]", "x not in [1, 2]"),
            ("not x in [1, 2]", "not x in [1, 2]"),
            ("x between -5 and (a + 1)", "x between -5 and (a + 1)"),
            ("x between (-(-5)) and 1", "x between (--5) and 1"),
            ("x between 1 and 2 and y", "x between 1 and 2 and y"),
            (
                "x contains all [\"NY\", \"NJ\"]",
                "x contains all [\"NY\", \"NJ\"]",
            ),
            (
                "x contains any y and x contains z",
                "x contains any y and x contains z",
            ),
            (
                "x starts with \"a\" or x ends with \"b\"",
                "x starts with \"a\" or x ends with \"b\"",
            ),
            ("x matches (\"a\")", "x matches \"a\""),
            ("x is missing or y exists", "x is missing or y exists"),
            (
                "at least 2 of [a, b or c, d]",
                "at least 2 of [a, b or c, d]",
            ),
            (
                "score fit + engagement >= 70",
                "score fit + engagement >= 70",
            ),
            ("grade fit == A", "grade fit == A"),
        ] {
            assert_eq!(ex(src), want, "{src}");
        }
    }

    #[test]
    fn event_queries() {
        for (src, want) in [
            (
                "count email.opened where step in [1, 2] >= 1",
                "count email.opened where step in [1, 2] >= 1",
            ),
            ("count e where x >= 1", "count e where x >= 1"),
            // The filter is `x` alone: bare, it would swallow the comparison.
            ("count e where (x) >= 1", "count e where (x) >= 1"),
            ("count e where (not x) >= 1", "count e where (not x) >= 1"),
            (
                "count e where (x) within 3d >= 1",
                "count e where x within 3d >= 1",
            ),
            ("count e where x", "count e where x"),
            ("count e where not x == -1", "count e where not x == -1"),
            ("count e where (x and y)", "count e where (x and y)"),
            ("count e where (x == y + 1)", "count e where (x == y + 1)"),
            ("count e where x == y + 1", "count e where x == y + 1"),
            (
                "count e where (x == score s)",
                "count e where (x == score s)",
            ),
            (
                "count e where x between -1 and 5",
                "count e where x between -1 and 5",
            ),
            ("count e where x is missing", "count e where x is missing"),
            // The window belongs to the query, not to the test's argument.
            (
                "count e where x in y within 3d",
                "count e where x in y within 3d",
            ),
            (
                "count e where (x in y) within 3d",
                "count e where x in y within 3d",
            ),
            ("e where x then f within 30d", "e where x then f within 30d"),
            (
                "e within 1d since entering MEL",
                "e within 1d since entering MEL",
            ),
            (
                "e since entering MEL within 1d",
                "e within 1d since entering MEL",
            ),
            (
                "rate a where x / b where y > 50%",
                "rate a where x / b where y > 50%",
            ),
            ("rate a / b where (y) > 50%", "rate a / b where (y) > 50%"),
            ("no e within 60d", "no e within 60d"),
            (
                "days since last page.viewed > 30",
                "days since last page.viewed > 30",
            ),
            (
                "days since first e where (x) < 3",
                "days since first e where (x) < 3",
            ),
            ("days since entering MEL > 3", "days since entering MEL > 3"),
            (
                "latest bant.assessed since entering MEL has at least 3 of [budget, need]",
                "latest bant.assessed since entering MEL has at least 3 of [budget, need]",
            ),
            ("first e where x has budget", "first e where x has budget"),
            (
                "amount of latest opportunity.created >= $4,500",
                "amount of latest opportunity.created >= $4,500",
            ),
            (
                "amount of first o where (x) >= $4,500",
                "amount of first o where (x) >= $4,500",
            ),
            ("x in (e where y)", "x in (e where y)"),
        ] {
            assert_eq!(ex(src), want, "{src}");
        }
    }

    #[test]
    fn long_conditions_break_at_and_or() {
        let long = "company.region == \"us-east\" and company.branches contains all [\"NY\", \"NJ\"] and company.has_cdo";
        let out = check(&format!("segment icp = {long}\n"));
        assert_eq!(
            out,
            "segment icp =\n  company.region == \"us-east\"\n  and company.branches contains all [\"NY\", \"NJ\"]\n  and company.has_cdo\n"
        );
        let nested = "stage MEL {\n enter when (count email.opened where step in [1, 2] >= 1 and count email.opened where step in [3, 4, 5] >= 1 and x) or count page.viewed where page in [\"product\", \"pricing\", \"contact\"] >= 3\n}\n";
        assert_eq!(
            check(nested),
            "stage MEL {\n  enter when\n    (\n      count email.opened where step in [1, 2] >= 1\n      and count email.opened where step in [3, 4, 5] >= 1\n      and x\n    )\n    or count page.viewed where page in [\"product\", \"pricing\", \"contact\"] >= 3\n}\n"
        );
        let rule = format!("score s {{\n  +10 when {long} or b\n}}\n");
        assert_eq!(
            check(&rule),
            format!("score s {{\n  +10 when\n    ({long})\n    or b\n}}\n")
        );
        let mv = format!("move A -> B priority 3 when {long}\n");
        assert!(check(&mv).starts_with("move A -> B priority 3 when\n  company.region"));
        // Long but not a chain: left alone.
        let one = format!("segment s = not ({long})\n");
        assert_eq!(check(&one), one);
        // Short chains stay on one line.
        assert_eq!(
            check("segment s =\n  a\n  and b\n"),
            "segment s = a and b\n"
        );
    }

    #[test]
    fn comments_in_every_position() {
        let src = r#"// file header

/* block header */
funnel "F" // trailing on funnel
schema { // header trailing
  // before trait
  trait a: int // trailing trait
  /* before event */ event e { x: int }


  // after blank
  event f
  // before close
} // after schema
segment s = // after eq
  a // inside expr
  and b // end of segment
score sc max 10 { /* hdr */
  +1 when a // rule trail
  // between
  grade A from 1
}
stage S "Disp" {
  // before enter
  enter when a and /* mid */ b // trailing enter
  // before close
}
stage E { /* empty */ }
move S -> T when a // move trailing
// between move and exit
exit x from any when b
cost by source monthly {
  "a": $1, // first
  // second
  "b": 2 EUR
}
test "t" {
  // before traits
  traits { a: 1 } // traits trailing
  events { // events header
    // before first event
    2025-01-01 e { x: 1 } // event trailing
    // before events close
  } // after events
  expect stage S // expect trailing
}
// end of file

/* eof block
   spans lines */
"#;
        let want = r#"// file header

/* block header */
funnel "F" // trailing on funnel

schema { // header trailing
  // before trait
  trait a: int // trailing trait
  /* before event */
  event e { x: int }

  // after blank
  event f
  // before close
} // after schema

// after eq
// inside expr
segment s = a and b // end of segment

score sc max 10 { /* hdr */
  +1 when a // rule trail
  // between
  grade A from 1
}

stage S "Disp" {
  // before enter
  /* mid */
  enter when a and b // trailing enter
  // before close
}

stage E { /* empty */
}

move S -> T when a // move trailing
// between move and exit
exit x from any when b

cost by source monthly {
  "a": $1, // first
  // second
  "b": 2 EUR,
}

test "t" {
  // before traits
  traits { a: 1 } // traits trailing
  events { // events header
    // before first event
    2025-01-01 e { x: 1 } // event trailing
    // before events close
  } // after events
  expect stage S // expect trailing
}
// end of file

/* eof block
   spans lines */
"#;
        assert_eq!(check(src), want);
    }

    #[test]
    fn comment_only_and_empty_files() {
        assert_eq!(check(""), "");
        assert_eq!(
            check("// just a note\n\n\n// and another\n"),
            "// just a note\n\n// and another\n"
        );
        assert_eq!(
            check("  segment s = a  \n\n\n\nsegment t = b"),
            "segment s = a\n\nsegment t = b\n"
        );
    }

    #[test]
    fn refuses_files_that_do_not_parse() {
        let err = format_source("segment s = (a\nsegment t = b\n").unwrap_err();
        assert!(err.iter().any(Diagnostic::is_error));
    }

    #[test]
    fn format_file_without_source() {
        // A tree built in code: no comments, no source to consult.
        let parsed = parse("stage A \"x\" {\n  enter when a and b\n}\nexit x from [A] when c\n");
        let out = format_file(&parsed.file, &[], "");
        assert_eq!(
            out,
            "stage A \"x\" {\n  enter when a and b\n}\n\nexit x from A when c\n"
        );
    }
}
