"""Write a synthetic graph in partnergraph's vocabulary, with a realistic shape, deterministic for a seed.

    python bench/generate.py --triples 1000000 --out /tmp/pg-1m.nt [--seed 42]

Organizations (with kind, country, website), stack components used by one home organization with
criticality and scope, who maintains them (developer / maintainer / steward), dependency edges
between components, a goal scheme with goal alignments, dated activities of every type, and status
claims on the ladder. All names are project IRIs marked unresolved: nothing here pretends to be a
Wikidata item. Written as N-Triples, one graph, streamed (constant memory).
"""

from __future__ import annotations

import argparse
import random
import sys
from typing import IO

PG = "https://w3id.org/partnergraph/ns#"
ID = "https://w3id.org/partnergraph/id/bench/"
RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
LABEL = "<http://www.w3.org/2000/01/rdf-schema#label>"
SOURCE = "<http://purl.org/dc/terms/source>"
DATE = "<http://purl.org/dc/terms/date>"
TITLE = "<http://purl.org/dc/terms/title>"
ORG = "<http://www.w3.org/ns/org#Organization>"
SKOS = "http://www.w3.org/2004/02/skos/core#"
XSD_DATE = "^^<http://www.w3.org/2001/XMLSchema#date>"
HOMEPAGE = "<http://xmlns.com/foaf/0.1/homepage>"
COUNTRY = "<http://schema.org/addressCountry>"

ACTIVITY_TYPES = ["Deployment", "UpstreamContribution", "DownstreamContribution", "Event", "Mentoring",
                  "Grant", "Sponsorship", "Conversation", "Membership"]
CRITICALITY = ["CriticalityHigh", "CriticalityMedium", "CriticalityMedium", "CriticalityLow", "CriticalityLow"]
ROLES = ["Developer", "Maintainer", "Steward", "Owner"]
STATUSES = ["Identified", "Contacted", "ConversationStarted", "OngoingCollaboration", "Dormant"]
GOALS = 12
TRIPLES_PER_ORG = 63  # what one organization brings with it, on average (measured at 1M)


def pg(local: str) -> str:
    return f"<{PG}{local}>"


def node(path: str) -> str:
    return f"<{ID}{path}>"


def lit(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def generate(triples: int, out: IO[str], seed: int = 42) -> int:
    """Write about ``triples`` triples; returns how many were written."""
    rnd = random.Random(seed)
    n = 0
    buf: list[str] = []

    def t(s: str, p: str, o: str) -> None:
        nonlocal n
        buf.append(f"{s} {p} {o} .\n")
        n += 1
        if len(buf) >= 10000:
            out.write("".join(buf))
            buf.clear()

    home = node("org/home")
    scheme = node("goals")
    t(home, RDF_TYPE, pg("HomeOrganization"))
    t(home, RDF_TYPE, ORG)
    t(home, LABEL, lit("Bench Home Foundation"))
    t(home, pg("unresolved"), '"true"^^<http://www.w3.org/2001/XMLSchema#boolean>')
    t(home, pg("searchLabel"), lit("Bench Home Foundation"))
    t(home, pg("goalScheme"), scheme)
    t(scheme, RDF_TYPE, f"<{SKOS}ConceptScheme>")
    for status, count in (("OngoingCollaboration", 5), ("ConversationStarted", 5), ("Contacted", 5), ("Identified", 10)):
        target = node(f"target/{status}")
        t(target, RDF_TYPE, pg("Target"))
        t(target, pg("home"), home)
        t(target, pg("status"), pg(status))
        t(target, pg("targetCount"), f'"{count}"^^<http://www.w3.org/2001/XMLSchema#integer>')
        t(target, SOURCE, "<https://bench.example/targets>")
    for g in range(GOALS):
        goal = node(f"goal/{g}")
        t(goal, RDF_TYPE, f"<{SKOS}Concept>")
        t(goal, f"<{SKOS}inScheme>", scheme)
        t(goal, f"<{SKOS}prefLabel>", lit(f"Goal {g}"))
    orgs = max(10, triples // TRIPLES_PER_ORG)
    components = orgs * 2
    for i in range(orgs):
        org = node(f"org/{i}")
        src = f"<https://bench.example/org/{i}>"
        t(org, RDF_TYPE, ORG)
        t(org, LABEL, lit(f"Organization {i}"))
        t(org, pg("unresolved"), '"true"^^<http://www.w3.org/2001/XMLSchema#boolean>')
        t(org, pg("searchLabel"), lit(f"Organization {i}"))
        if rnd.random() < 0.8:
            t(org, HOMEPAGE, f"<https://org{i}.bench.example/>")
        if rnd.random() < 0.7:
            t(org, COUNTRY, f"<http://www.wikidata.org/entity/Q{rnd.choice([30, 183, 145, 142, 38, 55, 20])}>")
        for g in rnd.sample(range(GOALS), rnd.choice([0, 1, 1, 2, 3])):
            a = node(f"alignment/{i}/{g}")
            t(a, RDF_TYPE, pg("GoalAlignment"))
            t(a, pg("organization"), org)
            t(a, pg("goal"), node(f"goal/{g}"))
            t(a, SOURCE, src)
        for k in range(rnd.choice([0, 1, 2, 3, 4, 5])):
            act = node(f"activity/{i}/{k}")
            year = rnd.randint(2006, 2026)
            t(act, RDF_TYPE, pg(rnd.choice(ACTIVITY_TYPES)))
            t(act, TITLE, lit(f"Activity {k} with organization {i}"))
            t(act, DATE, lit(f"{year}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}") + XSD_DATE)
            t(act, pg("home"), home)
            t(act, pg("partner"), org)
            t(act, SOURCE, src)
        if rnd.random() < 0.5:
            claim = node(f"status/{i}")
            status = rnd.choice(STATUSES)
            year, month = rnd.randint(2010, 2026), rnd.randint(1, 12)
            t(claim, RDF_TYPE, pg("StatusClaim"))
            t(claim, pg("home"), home)
            t(claim, pg("organization"), org)
            t(claim, pg("status"), pg(status))
            t(claim, DATE, lit(f"{year}-{month:02d}-15") + XSD_DATE)
            t(claim, SOURCE, src)
            if status in ("ConversationStarted", "OngoingCollaboration") and rnd.random() < 0.5:
                # the first contact, some months earlier: what responsiveness measures
                first = node(f"status/{i}/contact")
                back = rnd.randint(1, 24)
                y, m = divmod(year * 12 + month - 1 - back, 12)
                t(first, RDF_TYPE, pg("StatusClaim"))
                t(first, pg("home"), home)
                t(first, pg("organization"), org)
                t(first, pg("status"), pg("Contacted"))
                t(first, DATE, lit(f"{y}-{m + 1:02d}-15") + XSD_DATE)
                t(first, SOURCE, src)
    for c in range(components):
        comp = node(f"component/{c}")
        src = f"<https://bench.example/component/{c}>"
        t(comp, RDF_TYPE, pg("Component"))
        t(comp, LABEL, lit(f"component-{c}"))
        t(comp, pg("unresolved"), '"true"^^<http://www.w3.org/2001/XMLSchema#boolean>')
        t(comp, pg("searchLabel"), lit(f"component-{c}"))
        usage = node(f"usage/{c}")
        t(usage, RDF_TYPE, pg("Usage"))
        t(usage, pg("home"), home)
        t(usage, pg("component"), comp)
        t(usage, pg("criticality"), pg(rnd.choice(CRITICALITY)))
        t(usage, pg("usageScope"), pg(rnd.choice(["Production", "Development", "Library", "Library"])))
        t(usage, SOURCE, src)
        # A skewed maintainer distribution: a few organizations maintain much of the stack.
        maintainer = int(orgs * (rnd.random() ** 2.5))
        st = node(f"stewardship/{c}")
        t(st, RDF_TYPE, pg("Stewardship"))
        t(st, pg("component"), comp)
        t(st, pg("organization"), node(f"org/{maintainer}"))
        t(st, pg("role"), pg(rnd.choice(ROLES)))
        t(st, SOURCE, src)
        for _ in range(rnd.choice([0, 1, 2, 3])):
            t(comp, pg("dependsOn"), node(f"component/{int(components * (rnd.random() ** 3))}"))
    out.write("".join(buf))
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--triples", type=int, default=100_000, help="about how many triples (default 100000)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--out", default="-", help="N-Triples file to write (default: standard output)")
    args = parser.parse_args(argv)
    if args.triples < 1000:
        parser.error("--triples must be at least 1000")
    if args.out == "-":
        n = generate(args.triples, sys.stdout, args.seed)
    else:
        with open(args.out, "w", encoding="utf-8") as f:
            n = generate(args.triples, f, args.seed)
    print(f"wrote {n} triples", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
