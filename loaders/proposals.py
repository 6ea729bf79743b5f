"""The proposal process: propose an organization or an activity, review it, keep its history.

A proposal is a small set of triples (from Turtle, or from a JSON/YAML form turned into triples)
about one organization or one activity. It is checked before anything is stored: the form, then
shapes/integrity.ttl, then the principles of partnership on the proposed organization together with
the neighbourhood the principles need (never the whole store). A proposal that passes is stored
pending, in its own hidden graph, with its state and history in the proposals graph; a reviewer
accepts it (its triples join the proposals graph, which queries read) or declines it, saying why.

States: proposed → under review → accepted | declined.
"""

from __future__ import annotations

import datetime as _dt
import json
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, RDFS, XSD

from partnergraph.errors import IntegrityError, PartnergraphError, UserError
from partnergraph.ontology import GRAPH, PG, PGID, PREFIXES, PROPOSALS_GRAPH, SCHEMA, WD, is_qid
from partnergraph.shapes import check_integrity, describe, principles, validate

ORG_CLASS = URIRef("http://www.w3.org/ns/org#Organization")
STATES = {"proposed": PG.Proposed, "under-review": PG.UnderReview, "accepted": PG.Accepted, "declined": PG.Declined}
STATE_NAMES = {v: k for k, v in STATES.items()}
ACTIVITY_TYPES = {
    "deployment": PG.Deployment, "upstream-contribution": PG.UpstreamContribution,
    "downstream-contribution": PG.DownstreamContribution, "event": PG.Event, "mentoring": PG.Mentoring,
    "grant": PG.Grant, "sponsorship": PG.Sponsorship, "conversation": PG.Conversation, "membership": PG.Membership,
}
ROLES = {"developer": PG.Developer, "maintainer": PG.Maintainer, "steward": PG.Steward, "owner": PG.Owner}
DIRECTIONS = {"upstream": PG.Upstream, "downstream": PG.Downstream, "mutual": PG.Mutual}

ORG_FIELDS = {"kind": True, "label": True, "source": True, "qid": False, "website": False, "country": False,
              "description": False, "goals": False, "maintains": False, "activities": False, "proposer": False,
              "rationale": False, "home": False}
ORG_ACTIVITY_FIELDS = {"title": True, "type": True, "date": True, "source": True, "component": False,
                       "direction": False, "amount": False, "currency": False, "outcome": False}
ACTIVITY_FIELDS = {"kind": True, "title": True, "type": True, "date": True, "partner": True, "source": True,
                   "home": False, "component": False, "direction": False, "amount": False, "currency": False,
                   "outcome": False, "proposer": False, "rationale": False}
MAINTAINS_FIELDS = {"component": True, "role": True, "source": True}
_MARKUP = re.compile(r"<\s*[A-Za-z!/?]|&#|javascript:", re.IGNORECASE)
_URL = re.compile(r"^https?://[^\s<>\"{}|\\^`]+$")
_ID = re.compile(r"^[a-f0-9]{8}$")


class ProposalRejected(PartnergraphError):
    """The proposal breaks a principle of partnership; nothing was stored. Exit code 1."""

    exit_code = 1

    def __init__(self, findings: list[tuple[str, str]]) -> None:
        super().__init__("the proposal does not meet the principles of partnership; nothing was stored:")
        self.findings = findings

    def __str__(self) -> str:
        return "\n".join([super().__str__()] + [f"  - {where}: {message}" for where, message in self.findings])


@dataclass
class Proposal:
    """A parsed proposal: its triples, the node it proposes, who proposed it and why."""

    kind: str
    data: Graph
    focus: URIRef
    proposer: str = ""
    rationale: str = ""
    warnings: list[tuple[str, str]] = field(default_factory=list)


# ----------------------------------------------------------------------------- reading


def _text(value: Any, name: str, errors: list[str]) -> str:
    if not isinstance(value, str) or not value.strip():
        errors.append(f"{name}: must be a non-empty text")
        return ""
    if _MARKUP.search(value):
        errors.append(f"{name}: may not contain HTML or script markup")
    if len(value) > 2000:
        errors.append(f"{name}: longer than 2000 characters")
    return " ".join(value.split())


def _url(value: Any, name: str, errors: list[str]) -> URIRef | None:
    if not isinstance(value, str) or not _URL.match(value.strip()):
        errors.append(f"{name}: must be an http(s) address, got {value!r}")
        return None
    return URIRef(value.strip())


def _entity(value: Any, name: str, errors: list[str], base: str = "org") -> URIRef | None:
    """A QID (Q42), a Wikidata entity IRI, or a partnergraph IRI/key of something in the graph."""
    if not isinstance(value, str) or not value.strip():
        errors.append(f"{name}: must be a Wikidata id such as Q42")
        return None
    v = value.strip()
    if v.startswith("http://www.wikidata.org/entity/"):
        v = v.rsplit("/", 1)[1]
    if is_qid(v):
        return WD[v]
    if v.startswith(str(PGID)) and re.match(r"^[A-Za-z0-9/_.-]+$", v[len(str(PGID)):]):
        return URIRef(v)
    if re.match(r"^[a-z0-9][a-z0-9-]*$", v) and base:
        return PGID[f"{base}/{v}"]
    errors.append(f"{name}: {value!r} is not a Wikidata item id (Q followed by digits, e.g. Q42)")
    return None


def _check_fields(form: dict, allowed: dict[str, bool], where: str, errors: list[str]) -> None:
    unknown = sorted(set(form) - set(allowed))
    if unknown:
        errors.append(f"{where}unknown field(s): {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")
    for name, required in allowed.items():
        if required and name not in form:
            errors.append(f"{where}{name}: required")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60] or "unnamed"


def form_to_proposal(form: Any, store=None, today: _dt.date | None = None) -> Proposal:  # noqa: ANN001
    """Turn a JSON/YAML proposal form into triples; every problem is reported at once, by field."""
    if not isinstance(form, dict):
        raise UserError("a proposal form is a mapping of fields (kind, label, source, …)")
    errors: list[str] = []
    kind = form.get("kind")
    g = Graph()
    for prefix, ns in PREFIXES.items():
        g.bind(prefix, ns)
    if "home" in form:
        home = _entity(form["home"], "home", errors)
    else:
        from partnergraph.service import default_home

        home = default_home(store) if store is not None else WD["Q180"]
    proposer = _text(form["proposer"], "proposer", errors) if "proposer" in form else ""
    rationale = _text(form["rationale"], "rationale", errors) if "rationale" in form else ""
    if kind == "organization":
        _check_fields(form, ORG_FIELDS, "", errors)
        label = _text(form.get("label"), "label", errors)
        source = _url(form.get("source"), "source", errors)
        if form.get("qid") not in (None, ""):
            focus = _entity(form["qid"], "qid", errors, base="")
        else:
            focus = PGID[f"org/{_slug(label)}"]
            g.add((focus, PG.unresolved, Literal(True)))
            g.add((focus, PG.searchLabel, Literal(label)))
        if focus is not None:
            g.add((focus, RDF.type, ORG_CLASS))
            g.add((focus, RDFS.label, Literal(label, lang="en")))
            if source is not None:
                g.add((focus, DCTERMS.source, source))
            if "website" in form:
                website = _url(form["website"], "website", errors)
                if website is not None:
                    g.add((focus, FOAF.homepage, website))
            if "country" in form:
                country = _entity(form["country"], "country", errors, base="")
                if country is not None:
                    g.add((focus, SCHEMA.addressCountry, country))
            if "description" in form:
                g.add((focus, SCHEMA.description, Literal(_text(form["description"], "description", errors), lang="en")))
            goals = form.get("goals", [])
            if not isinstance(goals, list):
                errors.append("goals: must be a list of goal names (see 'partnergraph query goals' or the goals page)")
                goals = []
            for i, goal in enumerate(goals):
                goal_iri = _goal(goal, f"goals[{i}]", store, errors)
                if goal_iri is not None and source is not None:
                    a = PGID[f"alignment/{_slug(label)}/{goal_iri.rsplit('/', 1)[-1]}"]
                    g.add((a, RDF.type, PG.GoalAlignment))
                    g.add((a, PG.organization, focus))
                    g.add((a, PG.goal, goal_iri))
                    g.add((a, DCTERMS.source, source))
            activities = form.get("activities", [])
            if not isinstance(activities, list):
                errors.append("activities: must be a list of {title, type, date, source, …}")
                activities = []
            for i, item in enumerate(activities):
                if not isinstance(item, dict):
                    errors.append(f"activities[{i}]: must be a mapping with title, type, date and source")
                    continue
                _check_fields(item, ORG_ACTIVITY_FIELDS, f"activities[{i}].", errors)
                _activity(g, item, f"activities[{i}].", focus, home, errors, today)
            maintains = form.get("maintains", [])
            if not isinstance(maintains, list):
                errors.append("maintains: must be a list of {component, role, source}")
                maintains = []
            for i, item in enumerate(maintains):
                where = f"maintains[{i}]."
                if not isinstance(item, dict):
                    errors.append(f"maintains[{i}]: must be a mapping with component, role and source")
                    continue
                _check_fields(item, MAINTAINS_FIELDS, where, errors)
                component = _entity(item.get("component"), where + "component", errors, base="component")
                role = ROLES.get(str(item.get("role")))
                if role is None:
                    errors.append(f"{where}role: one of {', '.join(ROLES)}")
                src = _url(item.get("source"), where + "source", errors)
                if component is not None and role is not None and src is not None:
                    s = PGID[f"stewardship/{_slug(label)}/{i}"]
                    g.add((s, RDF.type, PG.Stewardship))
                    g.add((s, PG.component, component))
                    g.add((s, PG.organization, focus))
                    g.add((s, PG.role, role))
                    g.add((s, DCTERMS.source, src))
    elif kind == "activity":
        _check_fields(form, ACTIVITY_FIELDS, "", errors)
        partner = _entity(form.get("partner"), "partner", errors)
        focus = _activity(g, form, "", partner, home, errors, today)
    else:
        raise UserError("kind: must be 'organization' or 'activity'")
    if errors:
        raise UserError("the proposal form has problems; nothing was stored:\n" + "\n".join(f"  - {e}" for e in errors))
    return Proposal(kind=kind, data=g, focus=focus, proposer=proposer, rationale=rationale)  # type: ignore[arg-type]


def _activity(g: Graph, form: dict, where: str, partner: URIRef | None, home: URIRef | None,
              errors: list[str], today: _dt.date | None) -> URIRef:
    """Add one activity from a form (or a form's activities list) to ``g``; returns its IRI."""
    title = _text(form.get("title"), where + "title", errors)
    type_ = ACTIVITY_TYPES.get(str(form.get("type")))
    if type_ is None:
        errors.append(f"{where}type: one of {', '.join(ACTIVITY_TYPES)}")
    try:
        date = _dt.date.fromisoformat(str(form.get("date")))
        if today is not None and date > today:
            errors.append(f"{where}date: {date.isoformat()} is in the future")
    except ValueError:
        date = None
        errors.append(f"{where}date: must be a date YYYY-MM-DD, got {form.get('date')!r}")
    source = _url(form.get("source"), where + "source", errors)
    focus = PGID[f"activity/{uuid.uuid4().hex[:12]}"]
    if type_ is not None:
        g.add((focus, RDF.type, type_))
    g.add((focus, DCTERMS.title, Literal(title, lang="en")))
    if date is not None:
        g.add((focus, DCTERMS.date, Literal(date.isoformat(), datatype=XSD.date)))
    if partner is not None:
        g.add((focus, PG.partner, partner))
    if home is not None:
        g.add((focus, PG.home, home))
    if source is not None:
        g.add((focus, DCTERMS.source, source))
    if "component" in form:
        component = _entity(form["component"], where + "component", errors, base="component")
        if component is not None:
            g.add((focus, PG.component, component))
    if "direction" in form:
        direction = DIRECTIONS.get(str(form["direction"]))
        if direction is None:
            errors.append(f"{where}direction: one of {', '.join(DIRECTIONS)}")
        else:
            g.add((focus, PG.direction, direction))
    if "amount" in form:
        from decimal import Decimal, InvalidOperation

        try:
            g.add((focus, PG.amount, Literal(Decimal(str(form["amount"])), datatype=XSD.decimal)))
        except InvalidOperation:
            errors.append(f"{where}amount: must be a number, got {form['amount']!r}")
    if "currency" in form:
        cur = str(form["currency"])
        if not re.match(r"^[A-Z]{3}$", cur):
            errors.append(f"{where}currency: a three-letter ISO 4217 code such as EUR or USD")
        g.add((focus, PG.currency, Literal(cur)))
    if "outcome" in form:
        g.add((focus, PG.outcome, Literal(_text(form["outcome"], where + "outcome", errors), lang="en")))
    return focus


def _goal(value: Any, name: str, store, errors: list[str]) -> URIRef | None:  # noqa: ANN001
    """A goal by IRI, by key (free-knowledge) or by its name, looked up in the store."""
    if not isinstance(value, str) or not value.strip():
        errors.append(f"{name}: must be a goal name")
        return None
    v = value.strip()
    if store is not None:
        rows = store.query(
            "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> SELECT DISTINCT ?g ?l WHERE { "
            "?g skos:inScheme ?s ; skos:prefLabel ?l . ?h a <https://w3id.org/partnergraph/ns#HomeOrganization> ; "
            "<https://w3id.org/partnergraph/ns#goalScheme> ?s }"
        ).rows
        for g, label in rows:
            if v in (str(g), str(g).rsplit("/", 1)[-1]) or v.lower() == str(label).lower():
                return g  # type: ignore[return-value]
        known = sorted({str(g).rsplit("/", 1)[-1] for g, _ in rows})
        errors.append(f"{name}: no goal {v!r} in the home organization's scheme (known: {', '.join(known) or 'none'})")
        return None
    return PGID[f"goal/{_slug(v)}"]


def read_proposal(path: str | Path, store=None) -> Proposal:  # noqa: ANN001
    """Read a proposal file: Turtle (one organization or activity), or a JSON/YAML form."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read it as UTF-8 text: {exc}") from exc
    suffix = path.suffix.lower()
    if suffix in (".json", ".yaml", ".yml"):
        try:
            if suffix == ".json":
                form = json.loads(text)
            else:
                import yaml

                form = yaml.safe_load(text)
        except Exception as exc:
            raise UserError(f"{path}: not valid {suffix[1:].upper()}: {' '.join(str(exc).split())}") from exc
        return form_to_proposal(form, store, today=_dt.date.today())
    if suffix in (".ttl", ".turtle"):
        from partnergraph.loaders.rdf import parse_files

        g = parse_files([path], "turtle")
        for prefix, ns in PREFIXES.items():
            g.bind(prefix, ns)
        orgs = [s for s in g.subjects(RDF.type, ORG_CLASS) if isinstance(s, URIRef)]
        acts = [s for t in ACTIVITY_TYPES.values() for s in g.subjects(RDF.type, t) if isinstance(s, URIRef)]
        if len(orgs) == 1:
            proposal = Proposal(kind="organization", data=g, focus=orgs[0])
        elif not orgs and len(acts) == 1:
            proposal = Proposal(kind="activity", data=g, focus=acts[0])
        else:
            raise UserError(f"{path}: a proposal is about one organization or one activity "
                            f"(found {len(orgs)} organization(s) and {len(acts)} activities)")
        for literal in g.objects():
            if isinstance(literal, Literal) and _MARKUP.search(str(literal)):
                raise UserError(f"{path}: text may not contain HTML or script markup: {str(literal)[:60]!r}")
        return proposal
    raise UserError(f"{path}: a proposal is a .ttl, .json, .yaml or .yml file")


# ----------------------------------------------------------------------------- checking


def neighbourhood(store, focus: list[URIRef], data: Graph) -> Graph:  # noqa: ANN001
    """What the principles need to judge ``focus``, read from the store (never all of it):
    the home organizations with their goal schemes, everything said about and around the focus,
    and the components involved with their usages and licences."""
    out = Graph()
    queries_ = [
        "CONSTRUCT { ?h ?p ?o . ?s ?sp ?so . ?g ?gp ?go } WHERE { ?h a <https://w3id.org/partnergraph/ns#HomeOrganization> ; ?p ?o . "
        "OPTIONAL { ?h <https://w3id.org/partnergraph/ns#goalScheme> ?s . ?s ?sp ?so . "
        "OPTIONAL { ?g <http://www.w3.org/2004/02/skos/core#inScheme> ?s ; ?gp ?go } } }",
    ]
    nodes = set(focus)
    components = {o for o in data.objects(None, PG.component) if isinstance(o, URIRef)}
    if nodes:
        values = " ".join(f"<{n}>" for n in sorted(nodes))
        queries_.append(f"CONSTRUCT {{ ?f ?p ?o . ?x ?xp ?xo }} WHERE {{ VALUES ?f {{ {values} }} "
                        "{ ?f ?p ?o } UNION { ?x ?any ?f . ?x ?xp ?xo } }")
        rows = store.query(f"SELECT DISTINCT ?c WHERE {{ VALUES ?f {{ {values} }} ?x ?any ?f ; "
                           "<https://w3id.org/partnergraph/ns#component> ?c }").rows
        components |= {r[0] for r in rows if isinstance(r[0], URIRef)}
    if components:
        values = " ".join(f"<{c}>" for c in sorted(components))
        queries_.append(f"CONSTRUCT {{ ?c ?p ?o . ?u ?up ?uo . ?l ?lp ?lo }} WHERE {{ VALUES ?c {{ {values} }} "
                        "{ ?c ?p ?o } UNION { ?u <https://w3id.org/partnergraph/ns#component> ?c ; ?up ?uo } "
                        "UNION { ?c <https://w3id.org/partnergraph/ns#license>|<http://www.wikidata.org/prop/direct/P275> ?l . ?l ?lp ?lo } }")
    for q in queries_:
        result = store.query(q)
        if result.graph is not None:
            for t in result.graph:
                out.add(t)
    return out


def check(store, proposal: Proposal, as_of: _dt.date | None = None) -> list[tuple[str, str]]:  # noqa: ANN001
    """Integrity, then the principles for the organization the proposal is about. Returns the
    warnings; raises IntegrityError or ProposalRejected."""
    from partnergraph.loaders.rdf import reference_context

    check_integrity(proposal.data, reference_context(store, proposal.data, PROPOSALS_GRAPH))
    orgs = [proposal.focus] if proposal.kind == "organization" else \
        [o for o in proposal.data.objects(proposal.focus, PG.partner) if isinstance(o, URIRef)]
    context = neighbourhood(store, orgs, proposal.data)
    for t in proposal.data:
        context.add(t)
    result = validate(context, as_of=as_of, focus=orgs)
    # Judge the organizations by the principles only: the neighbourhood is a partial view of the
    # store, so integrity rules on the context would report what lies outside it.
    named = {p.label for p in principles()}
    relevant = [f for f in result.findings if f.principle in named and f.organization in orgs]
    problems = [(describe(f.organization, context), f"{f.principle}: {f.message}")
                for f in relevant if f.severity == "Violation"]
    if problems:
        raise ProposalRejected(problems)
    return [(describe(f.organization, context), f"{f.principle}: {f.message}")
            for f in relevant if f.severity == "Warning"]


# ----------------------------------------------------------------------------- storing and reviewing


def _pending_graph(pid: str) -> URIRef:
    return GRAPH[f"proposal/{pid}"]


def _proposal_iri(pid: str) -> URIRef:
    return PGID[f"proposal/{pid}"]


def submit(store, proposal: Proposal, *, today: _dt.date | None = None) -> str:  # noqa: ANN001
    """Check and store a proposal pending review; returns its id. Nothing is stored on failure."""
    proposal.warnings = check(store, proposal)
    pid = uuid.uuid4().hex[:8]
    today = today or _dt.date.today()
    meta = Graph()
    p = _proposal_iri(pid)
    meta.add((p, RDF.type, PG.Proposal))
    meta.add((p, PG.proposes, proposal.focus))
    meta.add((p, PG.proposalState, PG.Proposed))
    meta.add((p, DCTERMS.created, Literal(today.isoformat(), datatype=XSD.date)))
    meta.add((p, PG.contentGraph, _pending_graph(pid)))
    meta.add((p, RDFS.label, Literal(f"{proposal.kind}: {describe(proposal.focus, proposal.data)}")))
    if proposal.proposer:
        meta.add((p, DCTERMS.creator, Literal(proposal.proposer)))
    if proposal.rationale:
        meta.add((p, RDFS.comment, Literal(proposal.rationale)))
    _event(meta, p, 1, PG.Proposed, today, proposal.proposer, proposal.rationale or "proposed")
    content = " ".join(f"{s.n3()} {pp.n3()} {o.n3()} ." for s, pp, o in proposal.data)
    # One update: the pending content and the proposal's record appear together or not at all.
    store.update(
        f"INSERT DATA {{ GRAPH <{_pending_graph(pid)}> {{ {content} }} "
        f"GRAPH <{PROPOSALS_GRAPH}> {{ {' '.join(f'{s.n3()} {pp.n3()} {o.n3()} .' for s, pp, o in meta)} }} }}"
    )
    return pid


def _event(g: Graph, p: URIRef, n: int, state: URIRef, date: _dt.date, who: str, why: str) -> None:
    e = URIRef(f"{p}/event/{n}")
    g.add((p, PG.history, e))
    g.add((e, RDF.type, PG.ReviewEvent))
    g.add((e, PG.proposalState, state))
    g.add((e, DCTERMS.date, Literal(date.isoformat(), datatype=XSD.date)))
    g.add((e, PG.sequence, Literal(n)))
    if who:
        g.add((e, DCTERMS.creator, Literal(who)))
    if why:
        g.add((e, RDFS.comment, Literal(why)))


def list_proposals(store, state: str | None = None) -> list[dict[str, Any]]:  # noqa: ANN001
    rows = store.query(
        "PREFIX pg: <https://w3id.org/partnergraph/ns#> PREFIX dcterms: <http://purl.org/dc/terms/> "
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
        "SELECT ?p ?label ?state ?created ?creator ?proposes WHERE { ?p a pg:Proposal ; pg:proposalState ?state ; "
        "dcterms:created ?created ; pg:proposes ?proposes . OPTIONAL { ?p rdfs:label ?label } "
        "OPTIONAL { ?p dcterms:creator ?creator } } ORDER BY DESC(?created) ?p"
    ).dicts()
    out = []
    for r in rows:
        name = STATE_NAMES.get(r["state"], str(r["state"]))  # type: ignore[arg-type]
        if state and name != state:
            continue
        out.append({"id": str(r["p"]).rsplit("/", 1)[-1], "state": name, "created": str(r["created"]),
                    "proposer": str(r["creator"]) if r["creator"] is not None else "", "about": str(r["label"] or ""),
                    "proposes": str(r["proposes"])})
    return out


def history(store, pid: str) -> list[dict[str, Any]]:  # noqa: ANN001
    rows = store.query(
        "PREFIX pg: <https://w3id.org/partnergraph/ns#> PREFIX dcterms: <http://purl.org/dc/terms/> "
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
        f"SELECT ?n ?state ?date ?who ?why WHERE {{ <{_proposal_iri(pid)}> pg:history ?e . ?e pg:sequence ?n ; "
        "pg:proposalState ?state ; dcterms:date ?date . OPTIONAL { ?e dcterms:creator ?who } OPTIONAL { ?e rdfs:comment ?why } } ORDER BY ?n"
    ).dicts()
    return [{"state": STATE_NAMES.get(r["state"], str(r["state"])), "date": str(r["date"]),  # type: ignore[arg-type]
             "by": str(r["who"] or ""), "reason": str(r["why"] or "")} for r in rows]


def review(store, pid: str, decision: str, reason: str, by: str = "", *, today: _dt.date | None = None) -> str:  # noqa: ANN001
    """Move a proposal on: under-review, accepted (re-checked against the graph as it is now) or
    declined. Returns the new state."""
    if not _ID.match(pid):
        raise UserError(f"{pid!r} is not a proposal id (8 hex digits; 'partnergraph proposals' lists them)")
    errors: list[str] = []
    reason = _text(reason, "reason", errors)
    if by:
        by = _text(by, "by", errors)
    if errors:
        raise UserError("; ".join(errors))
    p = _proposal_iri(pid)
    current = [r[0] for r in store.query(f"SELECT ?s WHERE {{ <{p}> <{PG.proposalState}> ?s }}").rows]
    if not current:
        raise UserError(f"no proposal {pid}")
    state = STATE_NAMES.get(current[0], "")  # type: ignore[arg-type]
    if state in ("accepted", "declined"):
        raise UserError(f"proposal {pid} was already {state}")
    target = {"start": "under-review", "accept": "accepted", "decline": "declined"}[decision]
    if target == state:
        raise UserError(f"proposal {pid} is already {state}")
    content = Graph()
    for t in store.graph_triples(_pending_graph(pid)):
        content.add(t)
    if target == "accepted":  # re-check: the graph may have changed since it was proposed
        focus = store.query(f"SELECT ?f WHERE {{ <{p}> <{PG.proposes}> ?f }}").rows[0][0]
        kind = "organization" if (focus, RDF.type, ORG_CLASS) in content else "activity"
        check(store, Proposal(kind=kind, data=content, focus=focus))  # type: ignore[arg-type]
    today = today or _dt.date.today()
    n = len(history(store, pid)) + 1
    event = Graph()
    _event(event, p, n, STATES[target], today, by, reason)
    inserts = " ".join(f"{s.n3()} {pp.n3()} {o.n3()} ." for s, pp, o in event)
    ops = [
        f"DELETE WHERE {{ GRAPH <{PROPOSALS_GRAPH}> {{ <{p}> <{PG.proposalState}> ?s }} }}",
        f"INSERT DATA {{ GRAPH <{PROPOSALS_GRAPH}> {{ <{p}> <{PG.proposalState}> <{STATES[target]}> . {inserts} }} }}",
    ]
    if target == "accepted":  # a declined proposal keeps its content, hidden, as the record of what was declined
        ops.append(f"ADD SILENT <{_pending_graph(pid)}> TO <{PROPOSALS_GRAPH}>")
        ops.append(f"DROP SILENT GRAPH <{_pending_graph(pid)}>")
    store.update(" ;\n".join(ops))  # one request: one transaction on the embedded store
    return target


__all__ = ["Proposal", "ProposalRejected", "IntegrityError", "read_proposal", "form_to_proposal", "submit",
           "review", "list_proposals", "history", "check", "neighbourhood"]
