"""The Flask web app: the prioritized list as a page, JSON and CSV.

``create_app(store)`` is an application factory; ``partnergraph serve`` runs it under waitress.
Labels come from data (and from Wikidata): Jinja escapes them everywhere, and a Content Security
Policy forbids inline scripts and anything from another origin.
"""

from __future__ import annotations

import datetime as _dt
import threading
from typing import Any

from flask import Flask, Response, abort, render_template, request

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
    cache = _Cache()

    def ranking(as_of: _dt.date | None, show_all: bool) -> list[dict[str, Any]]:
        from partnergraph.service import rank, validate_store

        key = (tuple(store.graph_sizes()), as_of)
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

    return app
