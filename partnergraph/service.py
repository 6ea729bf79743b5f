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
from partnergraph.shapes import ValidationResult, validate
from partnergraph.store import Store

WEIGHTS = ("stack", "goals", "engagement", "status")
_WEIGHT_PARAM = {"stack": "wStack", "goals": "wGoals", "engagement": "wEngagement", "status": "wStatus"}


def load_bundled(store: Store, name: str = "wikimedia") -> LoadReport:
    """Load a bundled dataset into the curated graph (atomically replacing it)."""
    return load_paths(store, [dataset_path(name)], CURATED_GRAPH)


def validate_store(store: Store, *, as_of: _dt.date | None = None, focus: list[URIRef] | None = None) -> ValidationResult:
    """Validate everything the store holds against the principles (pyshacl on an in-memory copy)."""
    return validate(store.union_graph(), as_of=as_of, focus=focus)


def default_home(store: Store) -> URIRef:
    """The home organization the data declares (pg:HomeOrganization); Q180 when there are several
    including it, or none."""
    rows = store.query("SELECT DISTINCT ?h WHERE { ?h a <https://w3id.org/partnergraph/ns#HomeOrganization> }").rows
    homes = sorted(r[0] for r in rows if isinstance(r[0], URIRef))
    if len(homes) == 1 or (homes and DEFAULT_HOME not in homes):
        return homes[0]
    return DEFAULT_HOME


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
    reasons, and whether it is an eligible partner under the principles (with those it fails)."""
    params: dict[str, Any] = {"home": home if home is not None else default_home(store)}
    if as_of is not None:
        params["asOf"] = as_of.isoformat()
    for name, value in (weights or {}).items():
        if name not in _WEIGHT_PARAM:
            from partnergraph.errors import UserError

            raise UserError(f"unknown weight {name!r} (known: {', '.join(WEIGHTS)})")
        params[_WEIGHT_PARAM[name]] = value
    result = queries.run(store, queries.get("prioritized_partners"), params)
    if validation is None:
        validation = validate_store(store, as_of=as_of)
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
    order = ("status:", "maintains", "stewards", "shares goal", "")
    def key(text: str) -> tuple[int, str]:
        for i, prefix in enumerate(order):
            if text.startswith(prefix):
                return (i, text)
        return (len(order), text)
    return sorted(set(reasons), key=key)
