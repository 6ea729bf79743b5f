"""The Flask web app: the prioritized list as a page, JSON and CSV.

``create_app(store)`` is an application factory; ``partnergraph serve`` runs it under waitress.
Labels come from data (and from Wikidata): Jinja escapes them everywhere, and a Content Security
Policy forbids inline scripts and anything from another origin.
"""

from __future__ import annotations

import datetime as _dt
import hmac
import secrets
import threading
from typing import Any

from flask import Flask, Response, abort, render_template, request, session

from partnergraph.errors import PartnergraphError
from partnergraph.output import to_csv, to_json
from partnergraph.store import Store

CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"


class _Cache:
    """Validation is the slow part of a ranking; keep the last one until the data changes."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.key: Any = None
        self.value: Any = None


def create_app(store: Store) -> Flask:
    """Build the app over an open store."""
    app = Flask(__name__)
    app.config["STORE"] = store
    # Signs the session cookie that carries the form's CSRF token; a fresh one per process is
    # enough for a form that is filled and sent in one sitting.
    app.secret_key = secrets.token_hex(32)
    app.config["SESSION_COOKIE_SAMESITE"] = "Strict"
    cache = _Cache()

    def ranking(as_of: _dt.date | None, show_all: bool) -> list[dict[str, Any]]:
        from partnergraph.service import rank, validate_store

        key = (store.generation, as_of)
        with cache.lock:
            if cache.key != key:
                cache.value = validate_store(store, as_of=as_of)
                cache.key = key
            validation = cache.value
        return rank(store, as_of=as_of, validation=validation, eligible_only=not show_all)

    def as_of_arg() -> _dt.date | None:
        raw = request.args.get("as_of") or None
        if raw is None:
            return None
        try:
            return _dt.date.fromisoformat(raw)
        except ValueError:
            abort(400, description=f"as_of must be a date (YYYY-MM-DD), not {raw!r}")

    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @app.errorhandler(PartnergraphError)
    def user_error(exc: PartnergraphError) -> tuple[str, int]:
        return render_template("error.html", message=str(exc)), 400

    @app.route("/")
    @app.route("/partners")
    def partners() -> str:
        as_of = as_of_arg()
        show_all = request.args.get("all") in ("1", "true", "yes")
        rows = ranking(as_of, show_all)
        return render_template("partners.html", rows=rows, as_of=as_of, show_all=show_all)

    @app.route("/partners.json")
    def partners_json() -> Response:
        rows = ranking(as_of_arg(), request.args.get("all") in ("1", "true", "yes"))
        return Response(to_json(rows), mimetype="application/json")

    @app.route("/partners.csv")
    def partners_csv() -> Response:
        rows = ranking(as_of_arg(), request.args.get("all") in ("1", "true", "yes"))
        columns = ["rank", "qid", "label", "score", "stack", "goals", "engagement", "status_score", "status", "eligible", "reasons", "iri"]
        return Response(to_csv(rows, columns), mimetype="text/csv",
                        headers={"Content-Disposition": "attachment; filename=partners.csv"})

    def goal_choices() -> list[tuple[str, str]]:
        rows = store.query(
            "PREFIX skos: <http://www.w3.org/2004/02/skos/core#> PREFIX pg: <https://w3id.org/partnergraph/ns#> "
            "SELECT DISTINCT ?g (MIN(STR(?l)) AS ?label) WHERE { ?h a pg:HomeOrganization ; pg:goalScheme ?s . "
            "?g skos:inScheme ?s ; skos:prefLabel ?l } GROUP BY ?g ORDER BY ?label"
        ).rows
        return [(str(g), str(label)) for g, label in rows]

    @app.route("/propose", methods=["GET", "POST"])
    def propose() -> tuple[str, int] | str:
        from partnergraph.errors import UserError
        from partnergraph.loaders.proposals import ACTIVITY_TYPES, ProposalRejected, form_to_proposal, submit

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

    return app
