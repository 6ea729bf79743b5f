"""The jobs the CLI and the web app share: rank, validate, load the bundled data.

Kept apart from both faces so that a command and a page give the same answer."""

from __future__ import annotations

import datetime as _dt
from typing import Any, Mapping

from rdflib import URIRef

from partnergraph import queries
from partnergraph.data import dataset_path
from partnergraph.loaders.rdf import LoadReport, load_paths
from partnergraph.ontology import CURATED_GRAPH, DEFAULT_HOME, qid_of
from partnergraph.output import plain
from partnergraph.errors import UserError
from partnergraph.shapes import NativeUnsupported, ValidationResult, evaluate_principles, validate
from partnergraph.store import Store

WEIGHTS = ("stack", "goals", "engagement", "status", "responsiveness", "diversity")
_WEIGHT_PARAM = {name: "w" + name.capitalize() for name in WEIGHTS}


def load_bundled(store: Store, name: str = "wikimedia") -> LoadReport:
    """Load a bundled dataset into the curated graph (atomically replacing it)."""
    return load_paths(store, [dataset_path(name)], CURATED_GRAPH)


def validate_store(store: Store, *, as_of: _dt.date | None = None, focus: list[URIRef] | None = None) -> ValidationResult:
    """Validate everything the store holds against the principles (pyshacl on an in-memory copy)."""
    return validate(store.union_graph(), as_of=as_of, focus=focus)


def principles_verdicts(store: Store, *, as_of: _dt.date | None = None, focus: list[URIRef] | None = None) -> ValidationResult:
    """The principles' verdicts, evaluated on the store (no copy); the full validator if the
    shapes use a feature the native evaluator does not translate."""
    try:
        return evaluate_principles(store, as_of=as_of, focus=focus)
    except NativeUnsupported:
        return validate_store(store, as_of=as_of, focus=focus)


#: Default weights of the score components; the README documents them.
DEFAULT_WEIGHTS = {"stack": 1.0, "goals": 2.0, "engagement": 1.5, "status": 1.0, "responsiveness": 1.0, "diversity": 1.0}


def load_profile(path: str) -> dict[str, float]:
    """Weights from a TOML profile: a [weights] table (or top-level keys) of component = number."""
    import tomllib

    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as exc:
        raise UserError(f"cannot read the profile {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: not valid TOML: {exc}") from exc
    table = data.get("weights", data)
    if not isinstance(table, dict):
        raise UserError(f"{path}: [weights] must be a table of component = number")
    return check_weights(table, origin=path)


def check_weights(weights: Mapping[str, Any], origin: str = "weights") -> dict[str, float]:
    """Known component names with finite, non-negative numbers, or UserError."""
    import math

    out = {}
    for name, value in weights.items():
        if name not in WEIGHTS:
            raise UserError(f"{origin}: unknown weight {name!r} (known: {', '.join(WEIGHTS)})")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
            raise UserError(f"{origin}: weight {name!r} must be a number >= 0, not {value!r}")
        out[name] = float(value)
    return out


def default_home(store: Store) -> URIRef:
    """The home organization the data declares (pg:HomeOrganization); Q180 when there are several
    including it, or none."""
    rows = store.query("SELECT DISTINCT ?h WHERE { ?h a <https://w3id.org/partnergraph/ns#HomeOrganization> }").rows
    homes = sorted(r[0] for r in rows if isinstance(r[0], URIRef))
    if len(homes) == 1 or (homes and DEFAULT_HOME not in homes):
        return homes[0]
    return DEFAULT_HOME


def _rank(
    store: Store,
    *,
    home: URIRef | None = None,
    as_of: _dt.date | None = None,
    weights: Mapping[str, float] | None = None,
    eligible_only: bool = True,
    limit: int | None = None,
    validation: ValidationResult | None = None,
) -> list[dict[str, Any]]:
    """The prioritized list: one dict per organization, best first.

    Each has rank, qid (None when unresolved), label, iri, score, its components, status,
    reasons, and whether it is an eligible partner under the principles (with those it fails)."""
    params: dict[str, Any] = {"home": home if home is not None else default_home(store)}
    if as_of is not None:
        params["asOf"] = as_of.isoformat()
    for name, value in check_weights(weights or {}).items():
        params[_WEIGHT_PARAM[name]] = value
    result = queries.run(store, queries.get("prioritized_partners"), params)
    if validation is None:
        validation = principles_verdicts(store, as_of=as_of)
    rows = []
    for r in result.dicts():
        iri = r["org"]
        verdict = validation.verdicts.get(iri)  # type: ignore[arg-type]
        eligible = verdict.eligible if verdict is not None else False
        if eligible_only and not eligible:
            continue
        reasons = [s for s in str(r.get("reasons") or "").split(" | ") if s]
        rows.append(
            {
                "rank": 0,
                "qid": qid_of(iri),
                "label": plain(r.get("label")),
                "iri": str(iri),
                "score": plain(r.get("score")),
                "stack": plain(r.get("stack")),
                "goals": plain(r.get("goals")),
                "engagement": round(float(plain(r.get("engagement")) or 0), 3),
                "status_score": plain(r.get("status")),
                "responsiveness": round(float(plain(r.get("responsiveness")) or 0), 3),
                "diversity": round(float(plain(r.get("diversity")) or 0), 3),
                "status": plain(r.get("statusLabel")),
                "reasons": _order_reasons(reasons),
                "eligible": eligible,
                "failed_principles": verdict.failed_principles if verdict is not None else ["(not an organization)"],
            }
        )
    for i, row in enumerate(rows, 1):
        row["rank"] = i
    return rows[:limit] if limit else rows


def _order_reasons(reasons: list[str]) -> list[str]:
    """Status first, then stack, goals and activities: the order a reader wants them in."""
    order = ("status:", "maintains", "stewards", "and more:", "shares goal", "")
    def key(text: str) -> tuple[int, str]:
        for i, prefix in enumerate(order):
            if text.startswith(prefix):
                return (i, text)
        return (len(order), text)
    return sorted(set(reasons), key=key)


# ----------------------------------------------------------------------------- explain


def _triples_of(store: Store, nodes: list[URIRef]) -> dict[URIRef, list[list[str]]]:
    """Every triple whose subject is one of ``nodes`` (the evidence nodes), in one query."""
    nodes = sorted(set(nodes))
    out: dict[URIRef, list[list[str]]] = {n: [] for n in nodes}
    if not nodes:
        return out
    text = "SELECT ?s ?p ?o WHERE { VALUES ?s { " + " ".join(n.n3() for n in nodes) + " } ?s ?p ?o } ORDER BY ?s ?p ?o"
    for s, p, o in store.query(text).rows:
        out[s].append([str(s), str(p), o.n3() if not isinstance(o, URIRef) else str(o)])
    return out


def _explain(
    store: Store,
    org: Any,
    *,
    home: URIRef | None = None,
    as_of: _dt.date | None = None,
    weights: Mapping[str, float] | None = None,
    with_rank: bool = True,
) -> dict[str, Any]:
    """Every number behind one organization's score: per component its weight, points and
    weighted contribution, and per piece of evidence the item, the nodes and triples it was read
    from and their sources; plus its rank, status history, activities and principles verdict."""
    iri = queries.to_term(org, "iri", "organization")
    asked_home = home  # the ranking is looked up as asked: the same derived list as the pages'
    home = home if home is not None else default_home(store)
    w = dict(DEFAULT_WEIGHTS)
    w.update(check_weights(weights or {}))
    params: dict[str, Any] = {"org": iri, "home": home}
    if as_of is not None:
        params["asOf"] = as_of.isoformat()
    # Every evidence row names its organization; rdflib's engine also returns empty groups (one row
    # with nothing bound) for a GROUP BY over no solutions, which this drops.
    rows = [r for r in queries.run(store, queries.get("explain_organization"), params).dicts() if r.get("org") == iri]
    label_rows = store.query(
        "SELECT ?p ?o WHERE { VALUES ?s { " + iri.n3() + " } ?s ?p ?o }").rows  # type: ignore[union-attr]
    if not rows and not label_rows:
        raise UserError(f"nothing is known about {qid_of(iri) or iri} in this store")
    facts: dict[str, list[str]] = {}
    for p, o in label_rows:
        facts.setdefault(str(p), []).append(str(o))
    evidence_nodes = [URIRef(e) for r in rows for e in str(r.get("evidence") or "").split()]
    triples = _triples_of(store, evidence_nodes)
    components: dict[str, dict[str, Any]] = {
        name: {"name": name, "weight": w[name], "points": 0.0, "contribution": 0.0, "evidence": []} for name in WEIGHTS
    }
    for r in rows:
        name = str(r["component"])
        points = float(plain(r["points"]) or 0)
        nodes = [URIRef(e) for e in str(r.get("evidence") or "").split()]
        found = [t for n in nodes for t in triples.get(n, [])]
        for via in str(r.get("via") or "").split():
            subject, obj = (iri, r["item"]) if name == "diversity" else (r["item"], iri)
            found.append([str(subject), via, str(obj)])
        components[name]["evidence"].append({
            "item": str(r["item"]) if r.get("item") is not None else None,
            "label": plain(r.get("itemLabel")),
            "points": round(points, 4),
            "detail": plain(r.get("detail")),
            "date": plain(r.get("date")),
            "nodes": [str(n) for n in nodes],
            "sources": str(r.get("sources") or "").split(),
            "triples": found,
        })
    for c in components.values():
        pts = [e["points"] for e in c["evidence"]]
        c["points"] = round(max(pts) if c["name"] == "diversity" and pts else sum(pts), 4)
        c["contribution"] = round(c["weight"] * c["points"], 4)
    score = round(sum(c["contribution"] for c in components.values()), 2)
    # Its place in the list needs the whole ranking: the one costly step, skipped on request, and
    # the derived one (computed once per version of the data, shared with `rank` and the pages).
    # Its own verdict is evaluated for it alone (the same verdict: a test holds them equal).
    validation = principles_verdicts(store, as_of=as_of, focus=[iri])
    ranked = rank(store, home=asked_home, as_of=as_of, weights=weights, eligible_only=False) if with_rank else []
    at = next((i for i, r in enumerate(ranked) if r["iri"] == str(iri)), None)
    position = ranked[at] if at is not None else None
    eligible_rank = None
    if position is not None and position["eligible"]:
        eligible_rank = 1 + sum(1 for r in ranked[:at] if r["eligible"])
    verdict = validation.verdicts.get(iri)
    history = queries.run(store, queries.get("status_history"), {"org": iri, "home": home}).dicts()
    return {
        "iri": str(iri),
        "qid": qid_of(iri),
        "label": (facts.get("http://www.w3.org/2000/01/rdf-schema#label") or [qid_of(iri) or str(iri)])[0],
        "description": (facts.get("http://schema.org/description") or [None])[0],
        "website": (facts.get("http://xmlns.com/foaf/0.1/homepage") or [None])[0],
        "home": str(home),
        "as_of": (as_of or _dt.date.today()).isoformat(),
        "score": score,
        "rank": eligible_rank,
        "rank_among_all": at + 1 if at is not None else None,
        "eligible": verdict.eligible if verdict is not None else False,
        "failed_principles": verdict.failed_principles if verdict is not None else [],
        "findings": [{"principle": f.principle, "severity": f.severity, "message": f.message} for f in verdict.findings]
        if verdict is not None else [],
        "components": list(components.values()),
        "status_history": [{k: plain(v) for k, v in h.items()} for h in history],
        "activities": sorted(components["engagement"]["evidence"], key=lambda e: e["date"] or ""),
    }


# ----------------------------------------------------------------------------- goals


#: When the data sets no targets: ongoing collaboration with five organizations, conversations
#: started with five more (Wikimedia's stated goal, https://phabricator.wikimedia.org/T926).
DEFAULT_TARGETS = {"https://w3id.org/partnergraph/ns#OngoingCollaboration": 5,
                   "https://w3id.org/partnergraph/ns#ConversationStarted": 5}


#: The status ladder with the home organization's targets (goal_progress without the counting),
#: bound through the catalogue's own parameter binding.
_LEVELS = queries.parse_query("""\
# title: Status levels and targets
# param: home iri none — the home organization whose targets are read
PREFIX pg: <https://w3id.org/partnergraph/ns#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?status ?statusLabel ?level (SAMPLE(?t0) AS ?target) (SAMPLE(?s0) AS ?source)
WHERE {
  ?status a pg:PartnershipStatus ; pg:level ?level ; skos:prefLabel ?statusLabel .
  OPTIONAL {
    VALUES ?home { UNDEF }
    # (the home compared, not looked up: see goal_progress)
    ?t a pg:Target ; pg:status ?status ; pg:targetCount ?t0 ; pg:home ?targetHome .
    FILTER (?targetHome = ?home)
    OPTIONAL { ?t dcterms:source ?s0 . }
  }
}
GROUP BY ?status ?statusLabel ?level
ORDER BY DESC(?level)
""", "goal_levels")


def _goals(store: Store, *, home: URIRef | None = None, as_of: _dt.date | None = None) -> dict[str, Any]:
    """goals, computed."""
    home = home if home is not None else default_home(store)
    params: dict[str, Any] = {"home": home}
    if as_of is not None:
        params["asOf"] = as_of.isoformat()
    # The levels and their targets alone: the counts, stale ones and members come from the one
    # organizations_by_status pass (goal_progress would read every claim a second time).
    levels = queries.run(store, _LEVELS, {"home": home}).dicts()
    orgs = queries.run(store, queries.get("organizations_by_status"), params).dicts()
    from_data = any(r.get("target") is not None for r in levels)
    out = []
    for r in levels:
        status = str(r["status"])
        target = plain(r.get("target")) if from_data else DEFAULT_TARGETS.get(status)
        members = [o for o in orgs if str(o["status"]) == status]
        count = len(members)
        out.append({
            "status": status,
            "label": plain(r["statusLabel"]),
            "level": plain(r["level"]),
            "target": target,
            "count": count,
            "missing": max(0, target - count) if target is not None else 0,
            "met": target is not None and count >= target,
            "stale": sum(1 for o in members if plain(o.get("stale"))),
            "source": plain(r.get("source")),
            "organizations": [
                {"iri": str(o["org"]), "qid": qid_of(o["org"]), "label": plain(o["label"]), "since": plain(o["since"]),
                 "last_activity": plain(o.get("lastActivity")) or None, "stale": bool(plain(o.get("stale"))),
                 "source": plain(o.get("source"))}
                for o in members
            ],
        })
    return {
        "home": str(home),
        "as_of": (as_of or _dt.date.today()).isoformat(),
        "targets_from": "data" if from_data else "default (five ongoing, five conversations started)",
        "window": "twelve months",
        "levels": out,
    }


# ----------------------------------------------------------------------------- derived once per data version

_FINGERPRINT: str | None = None


def _code_fingerprint() -> str:
    """What the derived answers also depend on besides the data: this version's catalogue, shapes
    and scoring code (an upgrade or an edited query must not be answered from an older result)."""
    global _FINGERPRINT
    if _FINGERPRINT is None:
        import hashlib
        from pathlib import Path

        import partnergraph
        from partnergraph import shapes

        digest = hashlib.sha256(partnergraph.__version__.encode())
        files = [Path(__file__), Path(shapes.__file__), *sorted(Path(queries.__file__).parent.glob("*.rq")),
                 *sorted(Path(shapes.__file__).parent.glob("*.ttl"))]
        for f in files:
            digest.update(f.name.encode())
            digest.update(f.read_bytes())
        _FINGERPRINT = digest.hexdigest()[:16]
    return _FINGERPRINT


def _derived_key(job: str, home: URIRef | None, as_of: _dt.date | None, **rest: Any) -> str:
    """The key of a derived answer: the job, its arguments, and the day when it is "as of today"
    (statuses, staleness and recency are read at today's date)."""
    import json

    return json.dumps({"job": job, "code": _code_fingerprint(), "home": str(home) if home is not None else None,
                       "as_of": as_of.isoformat() if as_of is not None else "today " + _dt.date.today().isoformat(),
                       **rest}, sort_keys=True, default=str)


def rank(
    store: Store,
    *,
    home: URIRef | None = None,
    as_of: _dt.date | None = None,
    weights: Mapping[str, float] | None = None,
    eligible_only: bool = True,
    limit: int | None = None,
    validation: ValidationResult | None = None,
) -> list[dict[str, Any]]:
    """The prioritized list: one dict per organization, best first.

    Each has rank, qid (None when unresolved), label, iri, score, its components, status,
    reasons, and whether it is an eligible partner under the principles (with those it fails).
    Computed once per version of the data (Store.derived), unless a validation is handed in."""
    if validation is not None:
        return _rank(store, home=home, as_of=as_of, weights=weights, eligible_only=eligible_only, limit=limit,
                     validation=validation)
    checked = check_weights(weights or {})
    # One derived list with every organization: the eligible ones are read from it (explain and
    # the partners page ask for both; computed once).
    key = _derived_key("rank", home, as_of, weights=checked)
    rows = store.derived(key, lambda: _rank(store, home=home, as_of=as_of, weights=checked, eligible_only=False))
    if eligible_only:
        rows = [r for r in rows if r["eligible"]]
        for i, row in enumerate(rows, 1):
            row["rank"] = i
    return rows[:limit] if limit else rows


def explain(
    store: Store,
    org: Any,
    *,
    home: URIRef | None = None,
    as_of: _dt.date | None = None,
    weights: Mapping[str, float] | None = None,
    with_rank: bool = True,
) -> dict[str, Any]:
    """Every number behind one organization's score: per component its weight, points and
    weighted contribution, and per piece of evidence the item, the nodes and triples it was read
    from and their sources; plus its rank, status history, activities and principles verdict.
    Computed once per version of the data (Store.derived)."""
    iri = queries.to_term(org, "iri", "organization")
    checked = check_weights(weights or {})
    key = _derived_key("explain", home, as_of, org=str(iri), weights=checked, with_rank=with_rank)
    return store.derived(key, lambda: _explain(store, iri, home=home, as_of=as_of, weights=checked, with_rank=with_rank))


def goals(store: Store, *, home: URIRef | None = None, as_of: _dt.date | None = None) -> dict[str, Any]:
    """Targets against current counts per status level, who fills each, who is stale, what is
    missing. Computed once per version of the data (Store.derived)."""
    key = _derived_key("goals", home, as_of)
    return store.derived(key, lambda: _goals(store, home=home, as_of=as_of))
