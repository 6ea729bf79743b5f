"""The pages for people: the SPARQL editor, the partner list, the network, the proposal form.

Every data page also answers as JSON and CSV, by suffix (``/partners.json``) or by ``Accept``.
The pages' own queries are .rq files in webapp/queries/, bound like the catalogue's.
"""

from __future__ import annotations

import datetime as _dt
import hmac
import json
import re
import secrets
from importlib import resources
from typing import Any, Callable

from flask import Blueprint, Response, abort, current_app, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from partnergraph.errors import PartnergraphError
from partnergraph.output import to_csv, to_json

bp = Blueprint("pages", __name__)

RANK_COLUMNS = ["rank", "qid", "label", "score", "stack", "goals", "engagement", "status_score", "responsiveness",
                "diversity", "status", "eligible", "reasons", "iri", "page"]


def components() -> list[tuple[str, str, float]]:
    """(component, key in a ranking row, default weight): to draw each component's share of a score."""
    from partnergraph.service import DEFAULT_WEIGHTS

    return [(name, "status_score" if name == "status" else name, w) for name, w in DEFAULT_WEIGHTS.items()]


def page_query(name: str):  # noqa: ANN201
    """A query of the pages' own (webapp/queries/NAME.rq)."""
    from partnergraph.queries import parse_query

    text = resources.files("partnergraph.webapp").joinpath("queries", f"{name}.rq").read_text(encoding="utf-8")
    return parse_query(text, name, path=f"webapp/queries/{name}.rq")


def _store():  # noqa: ANN202
    return current_app.config["STORE"]


def ranking(as_of: _dt.date | None, show_all: bool) -> list[dict[str, Any]]:
    """The prioritized list as the ranking service gives it: a derived answer, computed once per
    version of the data (and shared with `partnergraph rank` and the other web processes)."""
    from partnergraph.service import rank

    return rank(_store(), as_of=as_of, eligible_only=not show_all)


def as_of_arg() -> _dt.date | None:
    raw = request.args.get("as_of") or None
    if raw is None:
        return None
    try:
        return _dt.date.fromisoformat(raw)
    except ValueError:
        abort(400, description=f"as_of must be a date (YYYY-MM-DD), not {raw!r}")


def _flag(name: str) -> bool:
    return request.args.get(name) in ("1", "true", "yes", "on")


def wanted_format(suffix: str | None) -> str:
    """html, json or csv: from the URL suffix, else from Accept (browsers get HTML)."""
    if suffix is not None:
        if suffix not in ("json", "csv"):
            abort(404)
        return suffix
    best = request.accept_mimetypes.best_match(["text/html", "application/json", "text/csv"], default="text/html")
    return {"application/json": "json", "text/csv": "csv"}.get(best, "html")


def data_response(fmt: str, rows: list[dict[str, Any]] | dict[str, Any], columns: list[str], filename: str,
                  html: Callable[[], str]) -> Response | str:
    """One page, three faces: HTML, JSON, CSV."""
    if fmt == "json":
        body = to_json(rows) if isinstance(rows, list) else json.dumps(rows, indent=2, ensure_ascii=False, default=str)
        return Response(body, mimetype="application/json")
    if fmt == "csv":
        table = rows if isinstance(rows, list) else rows.get("rows", [])
        return Response(to_csv(table, columns), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename={filename}.csv"})
    return html()


def error_response(status: int, message: str) -> Response:
    """An error in the face that was asked for: JSON for .json or Accept JSON, plain text for CSV
    and for /sparql, else the site's error page (scripts read the first two, people the last)."""
    path = request.path
    if path.startswith("/sparql"):
        return Response(message.rstrip() + "\n", status=status, mimetype="text/plain")
    if path.endswith(".json"):
        fmt = "json"
    elif path.endswith(".csv"):
        fmt = "csv"
    else:
        fmt = wanted_format(None)
    if fmt == "json":
        return Response(json.dumps({"error": message, "status": status}, ensure_ascii=False) + "\n", status=status,
                        mimetype="application/json")
    if fmt == "csv":
        return Response(message.rstrip() + "\n", status=status, mimetype="text/plain")
    return Response(render_template("error.html", message=message), status=status, mimetype="text/html")


@bp.app_errorhandler(PartnergraphError)
def user_error(exc: PartnergraphError) -> Response:
    return error_response(400, str(exc))


@bp.app_errorhandler(HTTPException)
def http_error(exc: HTTPException) -> Response:
    response = error_response(exc.code or 500, exc.description or exc.name)
    if exc.code == 405 and isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


# ------------------------------------------------------------------ the editor


def gallery() -> list[dict[str, Any]]:
    """The catalogue's named queries, with their parameters, for the editor's gallery."""
    from partnergraph import queries

    out = []
    for name, q in queries.catalogue().items():
        out.append({"name": name, "title": q.title or name, "description": q.description, "text": q.text,
                    "params": [{"name": p.name, "type": p.type, "default": p.default, "description": p.description}
                               for p in q.params]})
    return out


def editor_built() -> bool:
    return resources.files("partnergraph.webapp").joinpath("static", "vendor", "editor.js").is_file()


@bp.route("/")
def editor() -> str:
    """The SPARQL editor: the query comes from ?query= (shareable links) or the gallery."""
    from partnergraph.ontology import PREFIXES

    initial = request.args.get("query") or (
        "PREFIX pg: <https://w3id.org/partnergraph/ns#>\nPREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n\n"
        "SELECT ?org ?label WHERE {\n  ?org a <http://www.w3.org/ns/org#Organization> ; rdfs:label ?label .\n}\n"
        "ORDER BY ?label\nLIMIT 20\n")
    config = {"endpoint": url_for("sparql.endpoint"), "query": initial,
              "prefixes": {k: str(v) for k, v in sorted(PREFIXES.items())}, "gallery": gallery()}
    return render_template("editor.html", config=config, built=editor_built(), gallery=config["gallery"])


# ------------------------------------------------------------------ partners


def goal_choices() -> list[tuple[str, str]]:
    rows = _store().query(page_query("home_goals").text).rows
    return [(str(g), str(label)) for g, label in rows]


def _goal_members(goal: str) -> set[str]:
    from partnergraph.queries import run

    return {str(r[0]) for r in run(_store(), page_query("goal_members"), {"goal": goal}).rows}


def _with_shares(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each row with its score components weighted (the parts its score is the sum of)."""
    out = []
    for r in rows:
        parts = [(name, float(r.get(key) or 0) * weight) for name, key, weight in components()]
        out.append(dict(r, parts=parts, parts_total=sum(v for _, v in parts)))
    return out


@bp.route("/partners")
@bp.route("/partners.<suffix>")
def partners(suffix: str | None = None) -> Response | str:
    """The prioritized list; filters: status, goal, all (eligible or not), as_of."""
    fmt = wanted_format(suffix)
    as_of = as_of_arg()
    show_all = _flag("all")
    status = request.args.get("status") or ""
    goal = request.args.get("goal") or ""
    rows = ranking(as_of, show_all)
    if goal:
        from partnergraph.queries import to_term

        goal = str(to_term(goal, "iri", "goal"))
    statuses = sorted({r["status"] for r in rows if r["status"]})
    if status:
        rows = [r for r in rows if (r["status"] or "") == status]
    if goal:
        members = _goal_members(goal)
        rows = [r for r in rows if r["iri"] in members]
    rows = [dict(r, page=org_url(r["iri"], external=True, as_of=as_of)) for r in rows]

    def html() -> str:
        shown = _with_shares(rows)
        scale = max([r["parts_total"] for r in shown] + [1e-9])
        return render_template("partners.html", rows=shown, scale=scale, as_of=as_of, show_all=show_all,
                               status=status, goal=goal, statuses=statuses, goals=goal_choices(),
                               components=[c[0] for c in components()], args=request.args.to_dict())

    return data_response(fmt, rows, RANK_COLUMNS, "partners", html)


# ------------------------------------------------------------------ graph


def network() -> dict[str, Any]:
    """Organizations, components and goals as nodes; maintains / shares goal / uses as edges."""
    from partnergraph.ontology import qid_of

    result = _store().query(page_query("graph_edges").text)
    nodes: dict[str, dict[str, Any]] = {}
    edges = []
    for r in result.dicts():
        for end in ("s", "o"):
            iri = str(r[end])
            kind = str(r[f"{end}Kind"])
            label = str(r[f"{end}Label"]) if r.get(f"{end}Label") is not None else (qid_of(iri) or iri.rsplit("/", 1)[-1])
            node = nodes.setdefault(iri, {"id": iri, "label": label, "kind": kind, "qid": qid_of(iri), "page": None})
            if kind == "home":
                node["kind"] = "home"
            if node["kind"] in ("organization", "home"):
                node["page"] = org_url(iri)
        edges.append({"source": str(r["s"]), "target": str(r["o"]), "relation": str(r["relation"])})
    return {"nodes": sorted(nodes.values(), key=lambda n: (n["kind"], n["label"])), "edges": edges}


@bp.route("/graph")
@bp.route("/graph.<suffix>")
def graph(suffix: str | None = None) -> Response | str:
    """The network of organizations, components and goals (drawn by cytoscape in the browser)."""
    fmt = wanted_format(suffix)
    data = network()
    if fmt == "csv":
        labels = {n["id"]: n["label"] for n in data["nodes"]}
        rows = [dict(e, source_label=labels[e["source"]], target_label=labels[e["target"]]) for e in data["edges"]]
        return data_response("csv", rows, ["source", "source_label", "relation", "target", "target_label"], "graph",
                             lambda: "")
    return data_response(fmt, data, [], "graph", lambda: render_template(
        "graph.html", counts={k: sum(1 for n in data["nodes"] if n["kind"] == k) for k in ("organization", "component", "goal")},
        edges=len(data["edges"]), built=resources.files("partnergraph.webapp").joinpath("static", "vendor", "graph.js").is_file()))


# ------------------------------------------------------------------ propose


@bp.route("/propose", methods=["GET", "POST"])
def propose() -> tuple[str, int] | str:
    from partnergraph.errors import UserError
    from partnergraph.loaders.proposals import ACTIVITY_TYPES, ProposalRejected, form_to_proposal, submit

    store = _store()
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    context: dict[str, Any] = {"goals": goal_choices(), "types": list(ACTIVITY_TYPES), "values": {},
                               "errors": [], "rejected": [], "stored": None, "csrf": session["csrf"]}
    if request.method == "GET":
        return render_template("propose.html", **context)
    values = {k: request.form.get(k, "").strip() for k in request.form if k not in ("csrf", "goals")}
    values["goals"] = request.form.getlist("goals")
    context["values"] = values
    if not hmac.compare_digest(request.form.get("csrf", ""), session["csrf"]):
        context["errors"] = ["the form expired or came from another site: reload the page and send it again"]
        return render_template("propose.html", **context), 400
    form: dict[str, Any] = {"kind": "organization"}
    for name in ("label", "qid", "website", "country", "description", "source", "proposer", "rationale"):
        if values.get(name):
            form[name] = values[name]
    form["goals"] = values["goals"]
    if any(values.get(f"activity_{k}") for k in ("title", "type", "date", "source")):
        form["activities"] = [{k: values.get(f"activity_{k}", "") for k in ("title", "type", "date", "source")}]
    try:
        proposal = form_to_proposal(form, store, today=_dt.date.today())
        pid = submit(store, proposal)
    except ProposalRejected as exc:
        context["rejected"] = exc.findings
        return render_template("propose.html", **context), 422
    except UserError as exc:
        lines = [line.strip()[2:] for line in str(exc).splitlines()[1:] if line.strip().startswith("- ")]
        context["errors"] = lines or [str(exc)]
        return render_template("propose.html", **context), 422
    context["stored"] = {"id": pid, "warnings": proposal.warnings}
    context["values"] = {}
    return render_template("propose.html", **context)


# ------------------------------------------------------------------ one organization, goals


def _timeline(items: list[dict[str, Any]], width: int = 640) -> dict[str, Any]:
    """Positions (x in px) of dated items on one horizontal axis, with year ticks."""
    dated = [(i, _dt.date.fromisoformat(str(i["date"])[:10])) for i in items if i.get("date")]
    if not dated:
        return {"points": [], "ticks": [], "width": width}
    first, last = min(d for _, d in dated), max(d for _, d in dated)
    start, end = _dt.date(first.year, 1, 1), _dt.date(last.year + 1, 1, 1)
    span = (end - start).days or 1

    def x(d: _dt.date) -> float:
        return 10 + (width - 20) * (d - start).days / span

    step = max(1, (end.year - start.year) // 8)
    ticks = [{"x": x(_dt.date(y, 1, 1)), "year": y} for y in range(start.year, end.year + 1, step)]
    return {"points": [{"x": x(d), "item": i} for i, d in dated], "ticks": ticks, "width": width}


#: The local part of a partnergraph IRI (after https://w3id.org/partnergraph/id/), as the loaders make them.
_LOCAL_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9/_.-]*$")


def org_url(iri: Any, suffix: str | None = None, external: bool = False, as_of: _dt.date | None = None) -> str | None:
    """The /org page of an organization IRI: /org/Q… for a Wikidata item, /org/id/<local> for a
    partnergraph IRI (proposed or curated, not yet on Wikidata); None for any other IRI. A list
    shown as of a date links to the pages as of that date."""
    from partnergraph.ontology import PGID, qid_of

    text = str(iri)
    qid = qid_of(text)
    args: dict[str, Any] = {"_external": external}
    if as_of is not None:
        args["as_of"] = as_of.isoformat()
    if qid is not None:
        return url_for("pages.organization", qid=qid, suffix=suffix, **args)
    if text.startswith(str(PGID)) and _LOCAL_ID.match(text[len(str(PGID)):]) and ".." not in text:
        local = text[len(str(PGID)):]
        return url_for("pages.organization_local", local=local + (f".{suffix}" if suffix else ""), **args)
    return None


bp.add_app_template_global(org_url, "org_url")


def is_web_url(value: Any) -> bool:
    """Only http(s) addresses become links: a homepage or source from the data could say
    ``javascript:`` (the CSP would block it; it is not even rendered as a link)."""
    return isinstance(value, str) and re.match(r"^https?://[^\s]+$", value, re.I) is not None


bp.add_app_template_test(is_web_url, "web_url")


@bp.route("/org/<qid>")
@bp.route("/org/<qid>.<suffix>")
def organization(qid: str, suffix: str | None = None) -> Response | str:
    """One organization named by its Wikidata item."""
    from partnergraph.ontology import WD, is_qid

    fmt = wanted_format(suffix)
    if not is_qid(qid):
        return _not_found(fmt, f"{qid!r} is not a Wikidata item id (Q…); an organization without one has its page "
                               "at /org/id/<its partnergraph id>")
    return _organization_page(WD[qid], fmt, f"org-{qid}")


@bp.route("/org/id/<path:local>")
def organization_local(local: str) -> Response | str:
    """One organization named by a partnergraph IRI (https://w3id.org/partnergraph/id/LOCAL): those
    proposed or curated without a Wikidata item. ``.json``/``.csv`` at the end ask for data."""
    from partnergraph.ontology import PGID

    suffix = None
    for ext in ("json", "csv"):
        if local.endswith(f".{ext}"):
            local, suffix = local[: -len(ext) - 1], ext
    fmt = wanted_format(suffix)
    if not _LOCAL_ID.match(local) or ".." in local:
        return _not_found(fmt, f"{local!r} is not a partnergraph id (letters, digits, '-', '_', '.', '/')")
    return _organization_page(PGID[local], fmt, "org-" + re.sub(r"[^A-Za-z0-9_-]+", "-", local))


def _not_found(fmt: str, message: str) -> Response:  # noqa: ARG001 - the handler reads the format itself
    return error_response(404, message)


def _organization_page(iri: Any, fmt: str, filename: str) -> Response | str:
    """Its score explained, stack, goals, activities, status history, principles, sources."""
    from partnergraph.queries import run
    from partnergraph.service import explain

    as_of = as_of_arg()
    if not run(_store(), page_query("org_known"), {"org": iri}).boolean:
        return _not_found(fmt, f"nothing is known about {qid_of_or_iri(iri)} in this store")
    try:
        data = explain(_store(), iri, as_of=as_of)
    except PartnergraphError as exc:
        return _not_found(fmt, str(exc))
    data["page"] = org_url(iri, external=True)
    rows = [{"component": c["name"], "weight": c["weight"], "contribution": c["contribution"], "item": e["item"],
             "label": e["label"], "points": e["points"], "date": e["date"], "detail": e["detail"],
             "sources": " ".join(e["sources"])} for c in data["components"] for e in c["evidence"]]

    def html() -> str:
        comps = {c["name"]: c for c in data["components"]}
        scale = max([c["contribution"] for c in data["components"]] + [1e-9])
        sources = sorted({s for c in data["components"] for e in c["evidence"] for s in e["sources"]}
                         | {h["source"] for h in data["status_history"] if h.get("source")})
        return render_template("org.html", org=data, comps=comps, scale=scale, timeline=_timeline(data["activities"]),
                               sources=sources, as_of=as_of)

    if fmt == "json":
        return data_response("json", data, [], "org", html)
    return data_response(fmt, rows, ["component", "weight", "contribution", "item", "label", "points", "date", "detail",
                                     "sources"], filename, html)


def qid_of_or_iri(iri: Any) -> str:
    from partnergraph.ontology import qid_of

    return qid_of(iri) or str(iri)


@bp.route("/goals")
@bp.route("/goals.<suffix>")
def goals(suffix: str | None = None) -> Response | str:
    """Partnership goals: how many organizations stand at each status level against the target."""
    from partnergraph.service import goals as goal_progress

    fmt = wanted_format(suffix)
    as_of = as_of_arg()
    data = goal_progress(_store(), as_of=as_of)
    for level in data["levels"]:
        for o in level["organizations"]:
            o["page"] = org_url(o["iri"], external=True, as_of=as_of)
    rows = [{k: level[k] for k in ("label", "level", "target", "count", "missing", "met", "stale", "status", "source")}
            for level in data["levels"]]

    def html() -> str:
        scale = max([(lv["target"] or 0) for lv in data["levels"]] + [lv["count"] for lv in data["levels"]] + [1])
        return render_template("goals.html", data=data, scale=scale, as_of=as_of)

    if fmt == "json":
        return data_response("json", data, [], "goals", html)
    return data_response(fmt, rows, ["label", "level", "target", "count", "missing", "met", "stale", "status", "source"],
                         "goals", html)
