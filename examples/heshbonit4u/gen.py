#!/usr/bin/env python3
"""Makes leads.jsonl for the worked example of seed 000 (docs in README.md beside this file).

Deterministic: no randomness at all. Every lead's history is built so that
`funnelc report heshbonit4u.funnel --leads leads.jsonl --spend spend.csv --from 2025-03-01
--to 2025-03-31 --as-of 2025-06-30` reproduces the seed's report: 150 leads entered the
funnel in March 2025 (and 120 in March 2024, for the comparison with last year), each
stage is entered a fixed number of days after the one before (14, 7, 3, 5, 12), the
sources and regions split every stage as the seed's tables do, and the email sequence
gives the seed's sent/opened/clicked counts and contributions to MEL.

    python3 examples/heshbonit4u/gen.py > examples/heshbonit4u/leads.jsonl
"""

import json
import sys
from datetime import datetime, timedelta, timezone

STAGES = ["MCL", "MEL", "MQL", "SAL", "SQL", "SQO"]

# The seed's by-source and by-region tables: leads that reached each stage.
BY_SOURCE = {
    "linkedin": [65, 34, 15, 13, 7, 5],
    "email": [40, 22, 9, 7, 3, 2],
    "facebook": [25, 10, 4, 3, 1, 1],
    "google": [15, 4, 2, 2, 1, 0],
    "tiktok": [3, 0, 0, 0, 0, 0],
    "referral": [2, 0, 0, 0, 0, 0],
}
BY_REGION = {
    "us-east": [95, 48, 22, 18, 9, 6],
    "us-west": [25, 10, 4, 3, 1, 1],
    "europe": [20, 8, 3, 3, 1, 1],
    "israel": [10, 4, 1, 1, 1, 0],
}
# Last year's stage counts (March 2024).
LAST_YEAR = [120, 60, 22, 18, 9, 6]
# Revenue (opportunity amounts) per SQO, by source, for the seed's ROI per channel.
AMOUNT = {"linkedin": 2880, "email": 2835, "facebook": 2625}
# The seed gives Google search an ROI of -45% with no SQO: one Google lead that stalled at
# SAL has an opportunity of $660 (1,200 spend * 0.55).
GOOGLE_STALLED_AMOUNT = 660

# Days after the funnel entry at which each later stage is entered.
OFFSET = {"MEL": 14, "MQL": 21, "SAL": 24, "SQL": 29, "SQO": 41}


def depths(table):
    """Per key, how many leads end at each depth (0 = MCL only ... 5 = SQO)."""
    out = {}
    for key, reached in table.items():
        out[key] = [reached[d] - (reached[d + 1] if d + 1 < 6 else 0) for d in range(6)]
    return out


def joint(rows, cols):
    """Pairs (row key, col key), one per lead, with both margins as given (north-west corner)."""
    rows = [[k, n] for k, n in rows if n > 0]
    cols = [[k, n] for k, n in cols if n > 0]
    out = []
    i = j = 0
    while i < len(rows) and j < len(cols):
        n = min(rows[i][1], cols[j][1])
        out += [(rows[i][0], cols[j][0])] * n
        rows[i][1] -= n
        cols[j][1] -= n
        if rows[i][1] == 0:
            i += 1
        if cols[j][1] == 0:
            j += 1
    return out


def at(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def fit_of(region, employees):
    # branches NY and NJ (+10) and a CDO (+15): every MQL has both.
    fit = 25 + (15 if region == "us-east" else 0)
    if 150 <= employees <= 500:
        fit += 20
    elif employees > 500:
        fit += 10
    return min(fit, 60)


def make_cohort(year, cohort, prefix, email_plan):
    """Leads entering the funnel in March of `year`; cohort is a list of (source, region,
    depth). email_plan maps a lead index to its email opens (step -> day) and sends."""
    leads = []
    # The MQL-only leads: the first ones returned by sales, the rest rejected.
    mql_only = [i for i, (_, _, d) in enumerate(cohort) if d == 2]
    returned = set(mql_only[: (len(mql_only) + 1) // 2 if year == 2024 else 3])
    google_stalled = next(
        (i for i, (s, _, d) in enumerate(cohort) if s == "google" and d == 3 and year == 2025),
        None,
    )
    for i, (source, region, depth) in enumerate(cohort):
        t0 = datetime(year, 3, 1 + i % 31, 9, (i % 6) * 10, tzinfo=timezone.utc)
        day = lambda d, minutes=0: at(t0 + timedelta(days=d, minutes=minutes))
        plan = email_plan.get(i, {})
        events = [{"type": "form.submitted", "at": day(0), "form": "oecd-research"}]
        for step, d in plan.get("sent", []):
            events.append({"type": "email.sent", "at": day(d, 30), "step": step})
        opens = plan.get("opens", [])
        for step, d in opens:
            events.append({"type": "email.opened", "at": day(d), "step": step})
        for step, d in plan.get("clicks", []):
            events.append({"type": "email.clicked", "at": day(d, 10), "step": step})
        if depth >= 1 and plan.get("mel") != "email":
            # Three visits to relevant pages: the third makes the lead engaged.
            for d, page in [(2, "product"), (8, "contact"), (14, "product")]:
                events.append({"type": "page.viewed", "at": day(d), "page": page, "channel": "organic"})
        mql = depth >= 2
        employees = 120
        if mql:
            events.append({
                "type": "bant.assessed", "at": day(OFFSET["MQL"]),
                "budget": True, "authority": True, "need": True, "timeline": False,
            })
            decision = "sales.accepted"
            if depth == 2:
                decision = "sales.returned" if i in returned else "sales.rejected"
            events.append({"type": decision, "at": day(OFFSET["SAL"])})
        if depth >= 4:
            # fit + engagement must be under 70 before the demo request and reach 70 with
            # its 20 points: pick the company size (and, if need be, pricing-page visits
            # between MQL and SAL) that does it.
            pre_opens = min(5 * len(opens), 15)
            chosen = None
            for pricing in range(3):
                for emp in (120, 600, 220):
                    pre = min(pre_opens + min(10 * pricing, 20), 40)
                    total = fit_of(region, emp) + pre
                    if 50 <= total < 70 and chosen is None:
                        chosen = (emp, pricing)
            if chosen is None:
                sys.exit(f"no company size brings lead {i} to SQL on its demo request")
            employees, pricing = chosen
            for k in range(pricing):
                events.append({"type": "page.viewed", "at": day(22, k), "page": "pricing", "channel": "paid"})
            events.append({"type": "demo.requested", "at": day(OFFSET["SQL"])})
        elif mql:
            pre = min(5 * len(opens), 15)
            if fit_of(region, employees) + pre >= 70:
                sys.exit(f"lead {i} would reach SQL")
        if depth >= 5:
            events.append({"type": "opportunity.created", "at": day(OFFSET["SQO"]), "amount": AMOUNT.get(source, 2500)})
        if i == google_stalled:
            events.append({"type": "opportunity.created", "at": day(OFFSET["SQO"]), "amount": GOOGLE_STALLED_AMOUNT})
        events.sort(key=lambda e: e["at"])
        n = i + 1
        leads.append({
            "id": f"{prefix}{n:04d}",
            "traits": {
                "source": source,
                "role": "cfo",
                "email": f"cfo@company{prefix.lower()}{n}.example",
                "consent": True,
                "company": {
                    "name": f"Company {prefix}{n}",
                    "employees": employees,
                    "region": region,
                    "branches": ["NY", "NJ"] if mql else ["NY"],
                    "has_cdo": mql,
                    "paying_customers": 1500,
                    "billing": "per-user-monthly",
                    "invoicing_pain": True,
                },
            },
            "events": events,
        })
    return leads


def this_year():
    src, reg = depths(BY_SOURCE), depths(BY_REGION)
    cohort = []
    for d in range(6):
        pairs = joint([(k, v[d]) for k, v in src.items()], [(k, v[d]) for k, v in reg.items()])
        cohort += [(s, r, d) for s, r in pairs]
    n = len(cohort)
    assert n == 150
    mel = [i for i in range(n) if cohort[i][2] >= 1]
    others = [i for i in range(n) if cohort[i][2] == 0]
    # 40 leads become engaged by email, 30 by page visits. The open that makes a lead
    # engaged is the seed's "contribution to MEL": 15, 10, 8, 5 and 2 leads for steps 1-5.
    # Spread the email-engaged leads over every depth so each group holds both kinds.
    email_mel = mel[::7][:10] + [i for i in mel if i not in mel[::7]][:30]
    email_mel = sorted(email_mel[:40])
    page_mel = [i for i in mel if i not in email_mel]
    triggers = [1] * 15 + [2] * 10 + [3] * 8 + [4] * 5 + [5] * 2
    # The open before the trigger, from the other group: steps 1/2 for triggers 3-5 (8 of
    # step 1, 7 of step 2), steps 3/4/5 for triggers 1-2 (10, 8, 7).
    priors_b = [3] * 10 + [4] * 8 + [5] * 7
    priors_a = [1] * 8 + [2] * 7
    plan = {}
    for k, i in enumerate(email_mel):
        trig = triggers[k]
        prior = priors_b[k] if trig <= 2 else priors_a[k - 25]
        plan[i] = {"mel": "email", "opens": [(prior, 12), (trig, 14)]}
    # Steps 1-2 go to every lead, steps 3-5 to 90: the 40 email-engaged and 50 others.
    others_b = (page_mel + others)[:50]
    late = set(email_mel) | set(others_b)
    # Leads that open only early emails (37 open step 1, 31 of them step 2 too) or only late
    # ones (18 open steps 3 and 5, 17 of them step 4): never engaged by email.
    group_a = [i for i in page_mel + others if i not in others_b[:18]][:37]
    for k, i in enumerate(group_a):
        opens = [(1, 1)] + ([(2, 3)] if k < 31 else [])
        plan.setdefault(i, {})["opens"] = opens
    for k, i in enumerate(others_b[:18]):
        opens = [(3, 5)] + ([(4, 8)] if k < 17 else []) + [(5, 11)]
        plan.setdefault(i, {})["opens"] = opens
    for i in range(n):
        p = plan.setdefault(i, {})
        p["sent"] = [(1, 0), (2, 2)] + ([(3, 4), (4, 7), (5, 10)] if i in late else [])
    # Clicks: 12, 10, 9, 6 and 4 leads among each step's openers, the first ones.
    clicks = {1: 12, 2: 10, 3: 9, 4: 6, 5: 4}
    for step, want in clicks.items():
        for i in range(n):
            if want == 0:
                break
            for s, d in plan[i].get("opens", []):
                if s == step:
                    plan[i].setdefault("clicks", []).append((s, d))
                    want -= 1
    return make_cohort(2025, cohort, "H", plan)


def last_year():
    reached = LAST_YEAR
    cohort = []
    sources = list(BY_SOURCE)
    k = 0
    for d in range(6):
        for _ in range(reached[d] - (reached[d + 1] if d + 1 < 6 else 0)):
            cohort.append((sources[k % 4], "us-east", d))
            k += 1
    return make_cohort(2024, cohort, "P", {})


def main():
    for lead in last_year() + this_year():
        sys.stdout.write(json.dumps(lead, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
