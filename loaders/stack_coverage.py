"""How much of a home organization's stack is mapped to organizations, and what is missing.

A component is mapped when an organization develops, maintains or owns it, from a curated
``pg:Stewardship`` or from Wikidata (developer P178, maintained by P126, owned by P127; the
parent organization P749 of those is shown too). For the rest, the gap is named so a person can
fix it: no Wikidata item with the ecosystem's identifier (and which property to add), an item
without P178/P126/P127, or an item the store has not loaded yet.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Sequence

from packageurl import PackageURL
from rdflib import URIRef
from rdflib.namespace import RDFS

from partnergraph.loaders.stack import (IDENTIFIER_PROPERTIES, MAINTAINER_PROPERTIES, PARENT_PROPERTY,
                                        REPOSITORY_PROPERTY, _batched, _lit, wikidata_items)
from partnergraph.loaders.stack_formats import Package
from partnergraph.ontology import DOAP, PG, WDT, qid_of

MAPPED = "mapped"
NO_MAINTAINER = "item without maintainer"
NOT_LOADED = "item not loaded"
NO_ITEM = "no Wikidata item"


@dataclass
class ComponentCoverage:
    """One component of the stack and what maps it to organizations (or why nothing does)."""

    component: URIRef
    label: str
    purl: str | None
    ecosystem: str
    vendor: str | None
    item: URIRef | None
    linked: bool
    organizations: list[dict[str, Any]] = field(default_factory=list)
    status: str = NO_ITEM
    missing: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"component": str(self.component), "label": self.label, "purl": self.purl, "ecosystem": self.ecosystem,
                "vendor": self.vendor, "qid": qid_of(self.item) if self.item is not None else None,
                "linked_to_item": self.linked, "organizations": self.organizations, "status": self.status,
                "missing": self.missing}


def _values(iris: Sequence[URIRef]) -> str:
    return " ".join(f"<{i}>" for i in iris)


def assess(store, home: URIRef, components: Sequence[URIRef] | None = None) -> list[ComponentCoverage]:  # noqa: ANN001
    """The coverage of each component the home organization uses (or of the given components)."""
    rows = store.query(
        f"SELECT DISTINCT ?c ?purl ?label ?vendor ?repo WHERE {{ "
        f"?u a <{PG.Usage}> ; <{PG.home}> <{home}> ; <{PG.component}> ?c . "
        f"OPTIONAL {{ ?c <{PG.purl}> ?purl }} OPTIONAL {{ ?c <{RDFS.label}> ?label }} "
        f"OPTIONAL {{ ?c <{PG.vendor}> ?vendor }} OPTIONAL {{ ?c <{DOAP.repository}> ?repo }} }}").rows
    wanted = set(components) if components is not None else None
    info: dict[URIRef, dict[str, Any]] = {}
    for c, purl, label, vendor, repo in rows:
        if not isinstance(c, URIRef) or (wanted is not None and c not in wanted):
            continue
        d = info.setdefault(c, {"purls": set(), "labels": set(), "vendor": None, "repo": None})
        if purl is not None:
            d["purls"].add(str(purl))
        if label is not None:
            d["labels"].add(str(label))
        d["vendor"] = d["vendor"] or (str(vendor) if vendor is not None else None)
        d["repo"] = d["repo"] or (str(repo) if repo is not None else None)
    iris = sorted(info)
    # Items for components still named by a project IRI: Wikidata may have been loaded since.
    late: dict[URIRef, URIRef] = {}
    pkgs: dict[str, Package] = {}
    for c in iris:
        if qid_of(c) is None and info[c]["purls"]:
            purl = sorted(info[c]["purls"])[0]
            try:
                p = PackageURL.from_string(purl)
            except ValueError:
                continue
            pkgs[purl] = Package(purl=p, repository=info[c]["repo"])
    found, _ambiguous = wikidata_items(store, list(pkgs.values()))
    for c in iris:
        for purl in info[c]["purls"]:
            if purl in found:
                late[c] = found[purl]
    item_of = {c: (c if qid_of(c) else late.get(c)) for c in iris}
    items = sorted({i for i in item_of.values() if i is not None})
    loaded: set[URIRef] = set()
    item_orgs: dict[URIRef, list[tuple[str, URIRef]]] = defaultdict(list)
    for batch in _batched(items):
        for (i,) in store.query(f"SELECT DISTINCT ?i WHERE {{ VALUES ?i {{ {_values(batch)} }} ?i ?p ?o "
                                f"FILTER (STRSTARTS(STR(?p), \"{WDT}\")) }}").rows:
            loaded.add(i)  # type: ignore[arg-type]
        props = " ".join(f"<{WDT[p]}>" for p in MAINTAINER_PROPERTIES)
        for i, p, org in store.query(f"SELECT ?i ?p ?org WHERE {{ VALUES ?i {{ {_values(batch)} }} VALUES ?p {{ {props} }} ?i ?p ?org }}").rows:
            if isinstance(org, URIRef):
                item_orgs[i].append((MAINTAINER_PROPERTIES[str(p).rsplit("/", 1)[-1]], org))  # type: ignore[index]
    curated: dict[URIRef, list[tuple[str, URIRef]]] = defaultdict(list)
    for batch in _batched(iris):
        text = (f"SELECT ?c ?org ?role WHERE {{ VALUES ?c {{ {_values(batch)} }} ?st a <{PG.Stewardship}> ; "
                f"<{PG.component}> ?c ; <{PG.organization}> ?org ; <{PG.role}> ?role }}")
        for c, org, role in store.query(text).rows:
            curated[c].append((str(role).rsplit("#", 1)[-1].lower(), org))  # type: ignore[index,arg-type]
    orgs = sorted({o for lst in list(item_orgs.values()) + list(curated.values()) for _r, o in lst})
    labels: dict[URIRef, str] = {}
    parents: dict[URIRef, list[URIRef]] = defaultdict(list)
    for batch in _batched(orgs):
        for o, label in store.query(f"SELECT ?o (MIN(STR(?l)) AS ?label) WHERE {{ VALUES ?o {{ {_values(batch)} }} ?o <{RDFS.label}> ?l "
                                    "FILTER (LANG(?l) = \"\" || LANGMATCHES(LANG(?l), \"en\")) } GROUP BY ?o").rows:
            if label is not None:
                labels[o] = str(label)  # type: ignore[index]
        for o, parent in store.query(f"SELECT ?o ?p WHERE {{ VALUES ?o {{ {_values(batch)} }} ?o <{WDT[PARENT_PROPERTY]}> ?p }}").rows:
            parents[o].append(parent)  # type: ignore[index,arg-type]
    out = []
    for c in iris:
        d = info[c]
        purl = sorted(d["purls"])[0] if d["purls"] else None
        ecosystem = purl.split(":", 1)[1].split("/", 1)[0] if purl else "curated"
        item = item_of[c]
        cov = ComponentCoverage(component=c, label=sorted(d["labels"])[0] if d["labels"] else str(c), purl=purl,
                                ecosystem=ecosystem, vendor=d["vendor"], item=item, linked=qid_of(c) is not None)
        found_orgs = [(r, o, "curated") for r, o in curated.get(c, [])]
        if item is not None:
            found_orgs += [(r, o, "wikidata") for r, o in item_orgs.get(item, [])]
        seen = set()
        for role, org, via in found_orgs:
            if (role, org) in seen:
                continue
            seen.add((role, org))
            cov.organizations.append({"organization": str(org), "qid": qid_of(org), "label": labels.get(org, qid_of(org) or str(org)),
                                      "role": role, "via": via, "parents": [qid_of(p) or str(p) for p in parents.get(org, [])]})
        if cov.organizations:
            cov.status = MAPPED
            if item is not None and not cov.linked:
                cov.missing = f"re-import to name it by {qid_of(item)}"
        elif item is not None and item not in loaded:
            cov.status, cov.missing = NOT_LOADED, f"load {qid_of(item)} from Wikidata (its statements are not in the store)"
        elif item is not None:
            cov.status = NO_MAINTAINER
            cov.missing = f"{qid_of(item)} has no developer (P178), maintained by (P126) or owned by (P127)"
        else:
            cov.status = NO_ITEM
            cov.missing = _missing_item(ecosystem, cov.label, d["repo"])
        out.append(cov)
    return out


def _missing_item(ecosystem: str, label: str, repo: str | None) -> str:
    prop = IDENTIFIER_PROPERTIES.get(ecosystem)
    if prop:
        return f"no item with {prop[1]} ({prop[0]}) = {label!r}"
    if repo:
        return f"no item with {REPOSITORY_PROPERTY[1]} ({REPOSITORY_PROPERTY[0]}) = {repo}"
    if ecosystem == "curated":
        return "no curated pg:Stewardship and no Wikidata item"
    return (f"no item found: {ecosystem} has no verified Wikidata identifier property, so an item needs "
            f"{REPOSITORY_PROPERTY[1]} ({REPOSITORY_PROPERTY[0]}) matching the package's repository")


def summarize(items: Sequence[ComponentCoverage]) -> dict[str, Any]:
    """Totals, and groups by ecosystem and vendor with what is missing in each, biggest gap first."""
    groups: dict[tuple[str, str], list[ComponentCoverage]] = defaultdict(list)
    for it in items:
        groups[(it.ecosystem, it.vendor or "")].append(it)
    rows = []
    for (eco, vendor), members in groups.items():
        gaps = [m for m in members if m.status != MAPPED]
        statuses = Counter(m.status for m in gaps)
        orgs = Counter(o["label"] for m in members for o in m.organizations)
        rows.append({
            "ecosystem": eco, "vendor": vendor or None, "components": len(members),
            "mapped": len(members) - len(gaps), "unmapped": len(gaps),
            "gaps": dict(statuses),
            "main_gap": statuses.most_common(1)[0][0] if statuses else "",
            "organizations": [o for o, _n in orgs.most_common(5)],
            "examples": [m.label for m in sorted(gaps, key=lambda m: m.label)[:3]],
            "fix": gaps[0].missing if len(gaps) == 1 else (_group_fix(eco, vendor, gaps) if gaps else ""),
        })
    rows.sort(key=lambda r: (-r["unmapped"], r["ecosystem"], r["vendor"] or ""))
    total = len(items)
    mapped = sum(1 for it in items if it.status == MAPPED)
    return {"components": total, "mapped": mapped, "unmapped": total - mapped,
            "coverage": round(100.0 * mapped / total, 1) if total else 0.0,
            "by_status": dict(Counter(it.status for it in items)), "groups": rows}


def _group_fix(ecosystem: str, vendor: str, gaps: Sequence[ComponentCoverage]) -> str:
    statuses = Counter(g.status for g in gaps)
    main = statuses.most_common(1)[0][0]
    if main == NO_ITEM and ecosystem == "curated":
        return f"{statuses[main]} curated components without a Wikidata item or a curated pg:Stewardship: resolve or source their maintainers"
    if main == NO_ITEM:
        prop = IDENTIFIER_PROPERTIES.get(ecosystem)
        how = f"{prop[1]} ({prop[0]})" if prop else f"{REPOSITORY_PROPERTY[1]} ({REPOSITORY_PROPERTY[0]})"
        who = f"; metadata names vendor {vendor!r}" if vendor else ""
        return f"{statuses[main]} without a Wikidata item: create or find items with {how}{who}"
    if main == NO_MAINTAINER:
        return f"{statuses[main]} items lack developer (P178) / maintained by (P126) / owned by (P127)"
    return f"{statuses[main]} items not loaded: partnergraph wikidata fetch"
