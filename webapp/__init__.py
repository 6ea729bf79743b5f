"""The Flask web app: the SPARQL endpoint, the query editor and the partner pages.

``create_app(store, …)`` is an application factory with two blueprints: ``sparql`` (``/sparql``,
the SPARQL 1.1 Protocol, see sparql.py) and ``pages`` (the editor at ``/``, ``/partners``,
``/org/<QID>``, ``/goals``, ``/graph``, ``/propose``; pages.py). ``partnergraph serve`` runs it
under granian (or waitress). Labels come from data (and from Wikidata): Jinja escapes them everywhere, and a
Content Security Policy forbids inline scripts and anything from another origin.
"""

from __future__ import annotations

import secrets

from flask import Flask, Response

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
#: Sent with every answer (by Flask's after_request hook, and by the endpoint's WSGI front).
SECURITY_HEADERS = [("Content-Security-Policy", CSP), ("X-Content-Type-Options", "nosniff"),
                    ("Referrer-Policy", "no-referrer")]


def create_app(store, *, query_timeout: float = 30.0, max_rows: int = 10_000, workers: int = 2,  # noqa: ANN001
               update_token: str | None = None, allow_service: bool = False, cache_mb: int = 64,
               epoch=None, warm: bool = False) -> Flask:  # noqa: ANN001
    """Build the app over an open store.

    ``warm``: derive the ranking and goal progress in the background whenever the data changes
    (and each new day), so that the partners, goals and organization pages answer from the derived
    answers instead of computing them on a visitor's request (``partnergraph serve`` does).

    ``workers`` > 0 evaluates /sparql queries in that many killable processes when the store is an
    on-disk Oxigraph (the only way to enforce ``query_timeout``); 0 evaluates them in-process.
    ``epoch``: the ``SharedEpoch`` of the web processes of one server, so that an update through
    one of them invalidates the answer caches of all (and updates run one at a time across them)."""
    from partnergraph.webapp import pages, sparql

    app = Flask(__name__)
    app.config["STORE"] = store
    # Signs the session cookie that carries the form's CSRF token; a fresh one per process is
    # enough for a form that is filled and sent in one sitting.
    app.secret_key = secrets.token_hex(32)
    app.config["SESSION_COOKIE_SAMESITE"] = "Strict"
    sparql.configure(app, query_timeout=query_timeout, max_rows=max_rows, workers=workers,
                     update_token=update_token, allow_service=allow_service, cache_mb=cache_mb, epoch=epoch)
    app.register_blueprint(sparql.bp)
    app.wsgi_app = sparql.QueryFront(app, cache_mb << 20)  # type: ignore[method-assign]
    app.register_blueprint(pages.bp)

    if warm:
        app.config["WARMER"] = Warmer(store)

    @app.after_request
    def security_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS:
            response.headers[name] = value
        return response

    return app


class Warmer:
    """A daemon thread that derives the answers the pages read (the whole ranking, which the
    partners page and every organization page's position come from, and goal progress) for the
    home organization and today, each time the store's generation or the date changes. Every web
    process runs one; Store.derived lets one of them compute each answer and the others read it."""

    def __init__(self, store, interval: float = 5.0) -> None:  # noqa: ANN001
        import threading

        self.store = store
        self.interval = interval
        self.warmed: object = None  # (generation, day) last derived
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="partnergraph-warmer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import datetime as dt
        import logging
        import time

        from partnergraph import service

        log = logging.getLogger("partnergraph.warmer")
        failed: tuple | None = None  # (state, when): a failing state is tried again after 5 minutes
        while not self._stop.is_set():
            state = None
            try:
                state = (self.store.generation, dt.date.today())
                if state != self.warmed and (failed is None or failed[0] != state
                                             or time.monotonic() - failed[1] > 300):
                    service.rank(self.store, eligible_only=False)
                    service.goals(self.store)
                    self.warmed, failed = state, None
            except Exception as exc:  # noqa: BLE001 - a page computes it on request instead
                self.errors += 1
                failed = (state, time.monotonic())
                log.warning("could not derive the ranking and goals in the background (pages will compute them "
                            "on request): %s", exc)
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()


def close_app(app: Flask) -> None:
    """Stop the app's query workers and warmer (``partnergraph serve`` calls it on shutdown)."""
    warmer = app.config.pop("WARMER", None)
    if warmer is not None:
        warmer.stop()
    runner = app.config.get("SPARQL_RUNNER")
    if runner is not None:
        runner.close()
        app.config["SPARQL_RUNNER"] = None
