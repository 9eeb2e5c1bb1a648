-- The six-stage B2B funnel of bench/b2b.funnel, written by hand in DuckDB SQL.
--
-- Reads lead-per-line JSONL ({"id", "traits", "events": [...]}) and gives, for every lead, the
-- instant it entered each stage (NULL when never), its final stage and its exit, following
-- docs/semantics.md:
--
--   * a lead's events are replayed in time order, same-instant ties in input order; the
--     interpreter looks after each event, and at that look the history is the events replayed
--     so far (so a tie's later events are not yet seen);
--   * events after the as-of instant are ignored;
--   * at each look: the exit (from the current stage, over the current stint only: events at
--     or after the entry into the current stage) is tried first; else the next stage's entry
--     condition; a lead that meets several stages' conditions passes through each, in order, at
--     the same instant, and the exit is tried again after each entry. After an exit nothing
--     more happens. No stage is skipped.
--
-- How that is written without a loop. Replay order is the key
--     k = epoch_ms(at) * 2^20 + (position of the event in the lead's input list)
-- (so at most 2^20 events per lead): "the look after event k" sees exactly the events with a
-- key <= k, and "at >= T" is "key >= T * 2^20". None of the bench funnel's conditions depend on
-- the passage of time (no `within`, `days since`, decay), so a stage is entered at a look after
-- an event, and the first look (at or after the previous stage's entry) at which its
-- condition holds can be found from a few per-lead aggregates:
--
--   MCL  form.submitted(oecd-research) and consent and audience: the first such form event.
--   MEL  (an open of step 1-2 and an open of step 3-5) or 3 product/pricing/contact views:
--        monotone, so max(entry into MCL, the first key at which it holds).
--   MQL  icp and the latest bant.assessed since entering MEL has >= 3 of 4: not monotone (a
--        later, worse assessment makes it false). At the MEL entry look it holds if the latest
--        assessment with key <= e(MEL) and at >= T(MEL) is good; after that it can only become
--        true at a look after a good assessment, which is then the latest.
--   SAL  sales.accepted (anywhere in the history): max(e(MQL), first accepted).
--   SQL  fit + engagement >= 70: engagement changes only at the 1st, 2nd and 3rd email.opened
--        (5 points each, rule cap 15), the 1st and 2nd pricing view (10 each, cap 20), the first
--        demo.requested (+20) and the first email.unsubscribed (-10), model cap 40; so the first
--        look >= e(SAL) where it holds is e(SAL) or one of those change points.
--   SQO  opportunity.created: max(e(SQL), first opportunity).
--   exit disqualified from any when sales.rejected: while in stage s (entered at key e_s,
--        instant T_s) it fires at the first look >= e_s that sees a sales.rejected with
--        at >= T_s, i.e. at x_s = max(e_s, first rejected key >= T_s * 2^20). It wins over the
--        entry into s+1 when x_s <= e(s+1) (exits are tried before forward steps at a look).
--
-- A lead without events (at or before as-of) is looked at once, at as-of; MCL needs a
-- form.submitted, so such a lead stays outside the funnel (all NULL), as here.
--
-- Parameters, substituted by bench/duckdb_b2b.py: {{LEADS}} (path), {{AS_OF_MS}} (as-of in
-- epoch milliseconds) and {{OUT}} (output path).

CREATE OR REPLACE MACRO after(a, b) AS
    CASE WHEN a IS NULL OR b IS NULL THEN NULL ELSE greatest(a, b) END;
-- How many of the keys in l are at or before look k (l is NULL when the lead has none).
CREATE OR REPLACE MACRO seen(l, k) AS coalesce(len(list_filter(l, lambda x: x <= k)), 0);
-- The engagement score at look k (no decay in the bench funnel).
CREATE OR REPLACE MACRO engagement(k, op, pr, d1, u1) AS
    least(40,
          5 * seen(op[1:3], k)
        + 10 * seen(pr[1:2], k)
        + CASE WHEN d1 <= k THEN 20 ELSE 0 END
        - CASE WHEN u1 <= k THEN 10 ELSE 0 END);
-- An instant as RFC 3339 UTC text, from a replay key.
CREATE OR REPLACE MACRO iso(k) AS
    strftime(make_timestamp((k // 1048576) * 1000), '%Y-%m-%dT%H:%M:%S.%gZ');
-- The first sales.rejected at or after the instant of look e (the exit's current stint).
CREATE OR REPLACE MACRO rejected_from(rej, e) AS
    list_filter(rej, lambda r: r >= (e // 1048576) * 1048576)[1];

COPY (
WITH leads AS (
    SELECT id, traits AS tr, events
    FROM read_ndjson('{{LEADS}}',
        columns = {
            'id': 'VARCHAR',
            'traits': 'STRUCT(source VARCHAR, role VARCHAR, consent BOOLEAN, company STRUCT(employees BIGINT, region VARCHAR, branches VARCHAR[], has_cdo BOOLEAN, paying_customers BIGINT, billing VARCHAR, invoicing_pain BOOLEAN))',
            'events': 'STRUCT("type" VARCHAR, "at" VARCHAR, step BIGINT, form VARCHAR, page VARCHAR, budget BOOLEAN, authority BOOLEAN, need BOOLEAN, timeline BOOLEAN)[]'
        })
),
-- One row per event (one all-NULL row for a lead without events), with the lead's trait-only
-- conditions computed once per lead before the unnest.
ev AS (
    SELECT
        id,
        -- MCL's trait part: consent and the `audience` segment (missing values are false).
        coalesce(tr.consent
             AND tr.role IN ('cfo', 'vp finance', 'controller', 'senior accountant')
             AND tr.company.employees >= 100
             AND tr.company.paying_customers > 1000, false) AS mcl_traits,
        -- The `icp` segment.
        coalesce(tr.company.region = 'us-east'
             AND list_has_all(tr.company.branches, ['NY', 'NJ'])
             AND tr.company.has_cdo
             AND tr.company.billing = 'per-user-monthly'
             AND tr.company.invoicing_pain, false) AS icp,
        -- score fit max 60.
        least(60,
              CASE WHEN tr.company.employees BETWEEN 150 AND 500 THEN 20 ELSE 0 END
            + CASE WHEN tr.company.employees > 500 THEN 10 ELSE 0 END
            + CASE WHEN tr.company.region = 'us-east' THEN 15 ELSE 0 END
            + CASE WHEN list_has_all(tr.company.branches, ['NY', 'NJ']) THEN 10 ELSE 0 END
            + CASE WHEN tr.company.has_cdo THEN 15 ELSE 0 END) AS fit,
        unnest(CASE WHEN len(events) > 0 THEN events ELSE [NULL] END) AS e,
        generate_subscripts(CASE WHEN len(events) > 0 THEN events ELSE [NULL] END, 1) AS pos
    FROM leads
),
keyed AS (
    SELECT id, mcl_traits, icp, fit,
           -- events after as-of do not exist for the evaluation
           CASE WHEN epoch_ms(e.at::TIMESTAMPTZ) <= {{AS_OF_MS}} THEN e.type END AS ty,
           epoch_ms(e.at::TIMESTAMPTZ) * 1048576 + pos AS k,
           e.step, e.form, e.page,
           coalesce(e.budget, false)::INT + coalesce(e.authority, false)::INT
             + coalesce(e.need, false)::INT + coalesce(e.timeline, false)::INT >= 3 AS bant_good
    FROM ev
),
agg AS (
    SELECT
        id,
        any_value(mcl_traits) AS mcl_traits,
        any_value(icp) AS icp,
        any_value(fit) AS fit,
        min(k) FILTER (ty = 'form.submitted' AND form = 'oecd-research') AS form1,
        min(k) FILTER (ty = 'email.opened' AND step IN (1, 2)) AS open12,
        min(k) FILTER (ty = 'email.opened' AND step IN (3, 4, 5)) AS open345,
        list(k ORDER BY k) FILTER (ty = 'page.viewed' AND page IN ('product', 'pricing', 'contact')) AS pv,
        list(k ORDER BY k) FILTER (ty = 'email.opened') AS op,
        list(k ORDER BY k) FILTER (ty = 'page.viewed' AND page = 'pricing') AS pr,
        min(k) FILTER (ty = 'demo.requested') AS d1,
        min(k) FILTER (ty = 'email.unsubscribed') AS u1,
        list({'k': k, 'good': bant_good} ORDER BY k) FILTER (ty = 'bant.assessed') AS bant,
        min(k) FILTER (ty = 'sales.accepted') AS acc,
        list(k ORDER BY k) FILTER (ty = 'sales.rejected') AS rej,
        min(k) FILTER (ty = 'opportunity.created') AS opp
    FROM keyed
    GROUP BY id
),
s1 AS (
    SELECT *, CASE WHEN mcl_traits THEN form1 END AS e1 FROM agg
),
s2 AS (
    SELECT *,
        after(e1, least(after(open12, open345), pv[3])) AS e2
    FROM s1
),
s3 AS (
    SELECT *,
        CASE WHEN icp AND e2 IS NOT NULL THEN
            CASE WHEN coalesce(list_filter(bant, lambda b: b.k <= e2 AND b.k >= (e2 // 1048576) * 1048576)[-1].good, false)
                 THEN e2
                 ELSE list_filter(bant, lambda b: b.k > e2 AND b.good)[1].k
            END
        END AS e3
    FROM s2
),
s4 AS (
    SELECT *, after(e3, acc) AS e4 FROM s3
),
s5 AS (
    SELECT *,
        CASE WHEN e4 IS NOT NULL THEN
            list_min(list_filter([e4, op[1], op[2], op[3], pr[1], pr[2], d1],
                lambda c: c >= e4 AND fit + engagement(c, op, pr, d1, u1) >= 70))
        END AS e5
    FROM s4
),
s6 AS (
    SELECT *, after(e5, opp) AS e6 FROM s5
),
exits AS (
    SELECT *,
        after(e1, rejected_from(rej, e1)) AS x1,
        after(e2, rejected_from(rej, e2)) AS x2,
        after(e3, rejected_from(rej, e3)) AS x3,
        after(e4, rejected_from(rej, e4)) AS x4,
        after(e5, rejected_from(rej, e5)) AS x5,
        after(e6, rejected_from(rej, e6)) AS x6
    FROM s6
),
decided AS (
    SELECT *,
        CASE WHEN x1 IS NOT NULL AND (e2 IS NULL OR x1 <= e2) THEN 1
             WHEN x2 IS NOT NULL AND (e3 IS NULL OR x2 <= e3) THEN 2
             WHEN x3 IS NOT NULL AND (e4 IS NULL OR x3 <= e4) THEN 3
             WHEN x4 IS NOT NULL AND (e5 IS NULL OR x4 <= e5) THEN 4
             WHEN x5 IS NOT NULL AND (e6 IS NULL OR x5 <= e6) THEN 5
             WHEN x6 IS NOT NULL THEN 6
        END AS xs
    FROM exits
),
final AS (
    SELECT id, xs,
        [x1, x2, x3, x4, x5, x6][xs] AS xk,
        CASE WHEN xs IS NULL OR xs >= 1 THEN e1 END AS m1,
        CASE WHEN xs IS NULL OR xs >= 2 THEN e2 END AS m2,
        CASE WHEN xs IS NULL OR xs >= 3 THEN e3 END AS m3,
        CASE WHEN xs IS NULL OR xs >= 4 THEN e4 END AS m4,
        CASE WHEN xs IS NULL OR xs >= 5 THEN e5 END AS m5,
        CASE WHEN xs IS NULL OR xs >= 6 THEN e6 END AS m6
    FROM decided
)
SELECT
    id,
    CASE WHEN m6 IS NOT NULL THEN 'SQO' WHEN m5 IS NOT NULL THEN 'SQL'
         WHEN m4 IS NOT NULL THEN 'SAL' WHEN m3 IS NOT NULL THEN 'MQL'
         WHEN m2 IS NOT NULL THEN 'MEL' WHEN m1 IS NOT NULL THEN 'MCL' END AS stage,
    CASE WHEN xs IS NOT NULL THEN 'disqualified' END AS exit,
    iso(xk) AS exit_at,
    iso(m1) AS "MCL",
    iso(m2) AS "MEL",
    iso(m3) AS "MQL",
    iso(m4) AS "SAL",
    iso(m5) AS "SQL",
    iso(m6) AS "SQO"
FROM final
) TO '{{OUT}}' (FORMAT csv, HEADER);
