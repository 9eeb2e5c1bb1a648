#!/usr/bin/env python3
"""Deterministic synthetic leads for the funnelc benchmark (lead-per-line JSONL).

    python3 bench/gen.py --leads 100000 --mean-events 20 --seed 1 --out bench/data/leads-100k.jsonl

Writes one lead per line in the schema of bench/b2b.funnel:

    {"id":"L1","traits":{"source":"linkedin",...,"company":{"employees":220,...}},
     "events":[{"type":"form.submitted","at":"2025-01-03T10:00:00Z","form":"oecd-research"},...]}

Shapes follow the worked example of /work/shared/domain.md: the channel mix of the seed
(LinkedIn 65, email 40, Facebook 25, Google 15, TikTok 3, referrals 2 of 150), regions
(us-east 95, us-west 25, europe 20, israel 10), a 5-step email sequence (steps 3-5 go to 60%
of leads, open rates 40/32/40/33/30%, a click on roughly one open in five), page views of
product/pricing/contact/blog, demo requests, BANT assessments, sales decisions (mostly accepted,
some returned, a few rejected) and opportunities for some accepted leads. Timestamps lie in
January-June 2025 (a few spill into July, after the benchmark's --as-of, so the as-of cut is
exercised); about 30% of leads have their events shuffled, and about 5% have same-instant ties.

Determinism: leads are produced in chunks of CHUNK leads; chunk c uses its own
random.Random(seed, c), so the output is the same bytes whatever --jobs is.
"""

import argparse
import multiprocessing as mp
import os
import random
import sys

CHUNK = 5000
EPOCH_2025 = 1735689600  # 2025-01-01T00:00:00Z
DAY = 86400
HOUR = 3600

SOURCES = ["linkedin", "email", "facebook", "google", "tiktok", "referral"]
SOURCE_W = [65, 40, 25, 15, 3, 2]
REGIONS = ["us-east", "us-west", "europe", "israel"]
REGION_W = [95, 25, 20, 10]
ROLES = ["cfo", "vp finance", "controller", "senior accountant", "ceo", "marketing manager",
         "developer", "office manager"]
ROLE_W = [20, 10, 10, 12, 8, 15, 15, 10]
BILLING = ["per-user-monthly", "annual", "usage"]
BILLING_W = [55, 30, 15]
OTHER_BRANCHES = ["CA", "TX", "MA", "IL", "London", "Berlin", "Tel Aviv"]
FORMS = ["oecd-research", "webinar", "ebook"]
FORMS_W = [80, 12, 8]
PAGES = ["product", "pricing", "contact", "blog"]
PAGES_W = [30, 20, 8, 42]
OPEN_P = [0.40, 0.32, 0.40, 0.33, 0.30]

# "YYYY-MM-DDT" for day 0 (2025-01-01) onwards.
_DAYS = []


def _day_prefixes():
    import datetime
    d0 = datetime.date(2025, 1, 1)
    return [(d0 + datetime.timedelta(days=i)).isoformat() + "T" for i in range(400)]


DAY_RESOLUTION = False


def ts(sec):
    """RFC 3339 UTC for seconds since 2025-01-01T00:00:00Z (0 <= sec < 400 days)."""
    d, r = divmod(sec, DAY)
    if DAY_RESOLUTION:
        return f"{_DAYS[d]}00:00:00Z"
    h, r = divmod(r, HOUR)
    m, s = divmod(r, 60)
    return f"{_DAYS[d]}{h:02d}:{m:02d}:{s:02d}Z"


def lead_line(rng, n, mean_pages):
    r = rng.random
    # ---- traits -------------------------------------------------------------------------
    # About a third of the leads look like the ideal customer (marketing aims at it); the
    # rest are drawn from the broad mix.
    target = r() < 0.3
    source = rng.choices(SOURCES, SOURCE_W)[0]
    if target:
        region = "us-east" if r() < 0.9 else rng.choices(REGIONS, REGION_W)[0]
        role = rng.choices(ROLES[:4], ROLE_W[:4])[0] if r() < 0.85 else rng.choice(ROLES)
        employees = min(200_000, 20 + int(rng.lognormvariate(5.5, 0.6)))
    else:
        region = rng.choices(REGIONS, REGION_W)[0]
        role = rng.choices(ROLES, ROLE_W)[0]
        employees = min(200_000, 5 + int(rng.lognormvariate(5.3, 1.0)))
    consent = "true" if r() < 0.88 else "false"
    paying = int(employees * rng.uniform(2, 40))
    branches = []
    if region == "us-east":
        ny_nj = 0.9 if target else 0.6
        if r() < ny_nj:
            branches.append("NY")
        if r() < ny_nj:
            branches.append("NJ")
    elif r() < 0.1:
        branches.append("NY")
    for b in OTHER_BRANCHES:
        if r() < 0.08:
            branches.append(b)
    rng.shuffle(branches)
    has_cdo = "true" if r() < (0.85 if target else 0.4) else "false"
    billing = BILLING[0] if target and r() < 0.85 else rng.choices(BILLING, BILLING_W)[0]
    pain = "true" if r() < (0.9 if target else 0.6) else "false"
    comp = [f'"name":"Company {n}"']
    if r() < 0.98:  # a few leads without a head count: "missing" semantics
        comp.append(f'"employees":{employees}')
    comp.append(f'"region":"{region}"')
    comp.append('"branches":[' + ",".join(f'"{b}"' for b in branches) + "]")
    comp.append(f'"has_cdo":{has_cdo}')
    comp.append(f'"paying_customers":{paying}')
    comp.append(f'"billing":"{billing}"')
    comp.append(f'"invoicing_pain":{pain}')
    tr = [f'"source":"{source}"']
    if r() < 0.97:
        tr.append(f'"role":"{role}"')
    tr.append(f'"email":"lead{n}@company{n}.example"')
    tr.append(f'"consent":{consent}')
    tr.append('"company":{' + ",".join(comp) + "}")
    traits = "{" + ",".join(tr) + "}"

    # ---- events: (time in seconds since 2025-01-01, json text) ---------------------------
    ev = []
    add = ev.append
    t0 = rng.randrange(0, 165 * DAY)
    form = rng.choices(FORMS, FORMS_W)[0]
    add([t0, f'"type":"form.submitted","at":"{{}}","form":"{form}"'])
    # The email sequence: one a few days apart; steps 3-5 go to 60% of leads.
    steps = 5 if r() < 0.6 else 2
    sent_at = t0 + rng.randrange(HOUR, DAY)
    unsub = False
    for step in range(1, steps + 1):
        add([sent_at, f'"type":"email.sent","at":"{{}}","step":{step}'])
        if r() < OPEN_P[step - 1]:
            opened = sent_at + int(rng.expovariate(1 / (6 * HOUR))) + 60
            add([opened, f'"type":"email.opened","at":"{{}}","step":{step}'])
            if r() < 0.12:  # opened again
                add([opened + rng.randrange(HOUR, 3 * DAY),
                     f'"type":"email.opened","at":"{{}}","step":{step}'])
            if r() < 0.2:
                add([opened + rng.randrange(5, 600), f'"type":"email.clicked","at":"{{}}","step":{step}'])
        if not unsub and r() < 0.008:
            unsub = True
            add([sent_at + rng.randrange(HOUR, 2 * DAY), '"type":"email.unsubscribed","at":"{}"'])
            break
        sent_at += rng.randrange(2 * DAY, 5 * DAY)
    # Page views: heavy-tailed count, some before the form (anonymous visits, attributed later).
    pv = int(rng.expovariate(1 / mean_pages)) if mean_pages > 0 else 0
    for _ in range(pv):
        page = rng.choices(PAGES, PAGES_W)[0]
        ch = "paid" if r() < 0.35 else "organic"
        at = t0 + rng.randrange(-10 * DAY, 60 * DAY)
        add([max(at, 0), f'"type":"page.viewed","at":"{{}}","page":"{page}","channel":"{ch}"'])
    if r() < 0.15:
        add([t0 + rng.randrange(DAY, 40 * DAY), '"type":"demo.requested","at":"{}"'])
    # BANT for some, then a sales decision; opportunities for some accepted leads.
    bant_at = None
    if r() < (0.7 if target else 0.35):
        bant_at = t0 + rng.randrange(3 * DAY, 30 * DAY)
        for k in range(2 if r() < 0.2 else 1):
            props = []
            for p in ("budget", "authority", "need", "timeline"):
                x = r()
                if x < 0.03:
                    continue  # not recorded: missing, so not "has"
                props.append(f'"{p}":{"true" if x < (0.85 if target else 0.6) else "false"}')
            add([bant_at, '"type":"bant.assessed","at":"{}"' + "".join("," + p for p in props)])
            if k == 0:
                bant_at += rng.randrange(DAY, 20 * DAY)
    decide_p = 0.8 if bant_at is not None else 0.05
    if r() < decide_p:
        base = bant_at if bant_at is not None else t0 + rng.randrange(5 * DAY, 30 * DAY)
        # Sometimes decided in the very meeting that assessed it: the same instant.
        d_at = base if r() < 0.05 else base + rng.randrange(HOUR, 7 * DAY)
        x = r()
        if x < 0.70:
            add([d_at, '"type":"sales.accepted","at":"{}"'])
            if r() < 0.35:
                add([d_at + rng.randrange(3 * DAY, 25 * DAY),
                     f'"type":"opportunity.created","at":"{{}}","amount":{rng.randrange(50, 800) * 100}'])
            if r() < 0.05:  # changed their mind later
                add([d_at + rng.randrange(DAY, 30 * DAY), '"type":"sales.rejected","at":"{}"'])
        elif x < 0.85:
            add([d_at, '"type":"sales.returned","at":"{}"'])
            if r() < 0.4:
                add([d_at + rng.randrange(5 * DAY, 30 * DAY), '"type":"sales.accepted","at":"{}"'])
        else:
            add([d_at, '"type":"sales.rejected","at":"{}"'])
    elif r() < 0.01:
        add([t0 + rng.randrange(-5 * DAY, 5 * DAY), '"type":"sales.rejected","at":"{}"'])
    # Same-instant ties: two events share their instant.
    if len(ev) >= 2 and r() < 0.05:
        a, b = rng.sample(range(len(ev)), 2)
        ev[b][0] = ev[a][0]
    for e in ev:
        if e[0] < 0:
            e[0] = 0
    # Replay order is by time; the file order is sorted for most leads, shuffled for some.
    if r() < 0.7:
        ev.sort(key=lambda e: e[0])
    else:
        rng.shuffle(ev)
    events = ",".join("{" + text.format(ts(at)) + "}" for at, text in ev)
    return f'{{"id":"L{n}","traits":{traits},"events":[{events}]}}\n', len(ev)


def chunk(args):
    seed, c, start, count, mean_pages = args
    rng = random.Random(seed * 1_000_003 + c)
    out = []
    n_ev = 0
    for i in range(start, start + count):
        line, k = lead_line(rng, i + 1, mean_pages)
        out.append(line)
        n_ev += k
    return "".join(out), n_ev


def _init(day_resolution=False):
    global _DAYS, DAY_RESOLUTION
    _DAYS = _day_prefixes()
    DAY_RESOLUTION = day_resolution


# Events per lead besides page views, measured on the generator (for --mean-events).
BASE_EVENTS = 7.2


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--leads", type=int, required=True)
    ap.add_argument("--mean-events", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--day-resolution", action="store_true",
                    help="stamp every event at midnight: many same-instant ties (a correctness stress test)")
    a = ap.parse_args()
    mean_pages = max(0.0, a.mean_events - BASE_EVENTS)
    tasks = []
    for c, start in enumerate(range(0, a.leads, CHUNK)):
        tasks.append((a.seed, c, start, min(CHUNK, a.leads - start), mean_pages))
    _init(a.day_resolution)
    total_ev = 0
    tmp = a.out + ".tmp"
    with open(tmp, "w", encoding="utf-8", buffering=1 << 20) as f:
        if a.jobs > 1 and len(tasks) > 1:
            with mp.Pool(a.jobs, initializer=_init, initargs=(a.day_resolution,)) as pool:
                for text, k in pool.imap(chunk, tasks, chunksize=1):
                    f.write(text)
                    total_ev += k
        else:
            for t in tasks:
                text, k = chunk(t)
                f.write(text)
                total_ev += k
    os.replace(tmp, a.out)
    print(f"{a.leads} leads, {total_ev} events ({total_ev / max(1, a.leads):.2f}/lead) -> {a.out}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
