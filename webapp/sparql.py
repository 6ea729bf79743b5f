"""``/sparql``: the SPARQL 1.1 Protocol endpoint (query, update, service description).

- Queries by GET ``?query=``, POST form, or POST ``application/sparql-query``; the dataset from
  ``default-graph-uri`` / ``named-graph-uri`` (else the query's FROM clauses, else every public graph).
- Results negotiated from ``Accept`` (q-values) or ``format=``; 406 when nothing fits.
- Every query has a time limit and a row cap; it runs in a killable worker process (workers.py).
- Read-only unless the app was given an update token; then ``Authorization: Bearer <token>``.
- SERVICE (federation) is refused: the server would otherwise fetch any URL a stranger names.
- CORS for GET/POST so that browser tools on other origins can query it.
"""

from __future__ import annotations

import functools
import hmac
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Flask, Response, current_app, request, url_for

from partnergraph.webapp.results import FORMAT_ALIASES, GRAPH_FORMATS, RESULT_FORMATS, Answer

log = logging.getLogger("partnergraph.sparql")
bp = Blueprint("sparql", __name__)

_TOKEN = re.compile(
    r"""(?P<comment>\#[^\n]*)
    |(?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    |(?P<string>\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"|'''(?:[^'\\]|\\.|'(?!''))*'''|"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
    |(?P<var>[?$]\w+)
    |(?P<pname>[A-Za-z][\w.-]*:[^\s{}()<>,;"']*|:[^\s{}()<>,;"']*)
    |(?P<word>[A-Za-z_]\w*)
    |(?P<space>\s+)
    |(?P<other>.)""",
    re.S | re.X,
)
_QUERY_FORMS = {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}
_UPDATE_WORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"}


@dataclass
class Scan:
    """What a cheap lexical scan tells about a query before it is evaluated."""

    form: str | None = None
    service: bool = False
    from_default: list[str] = field(default_factory=list)
    from_named: list[str] = field(default_factory=list)
    from_unsupported: bool = False
    iris: list[str] = field(default_factory=list)
    words: list[str] = field(default_factory=list)


def scan(text: str) -> Scan:
    """Tokenize (comments, strings and IRIs skipped correctly) and read keywords."""
    out = Scan()
    tokens = [(m.lastgroup, m.group()) for m in _TOKEN.finditer(text) if m.lastgroup not in ("space", "comment")]
    for i, (kind, value) in enumerate(tokens):
        if kind == "iri":
            out.iris.append(value[1:-1])
        if kind != "word":
            continue
        word = value.upper()
        out.words.append(word)
        if out.form is None and word in _QUERY_FORMS:
            out.form = "CONSTRUCT" if word == "DESCRIBE" else word
        elif word == "SERVICE":
            out.service = True
        elif word == "FROM":
            j = i + 1
            named = j < len(tokens) and tokens[j][0] == "word" and tokens[j][1].upper() == "NAMED"
            j += 1 if named else 0
            if j < len(tokens) and tokens[j][0] == "iri":
                (out.from_named if named else out.from_default).append(tokens[j][1][1:-1])
            else:
                out.from_unsupported = True
    return out


class InlineRunner:
    """Evaluates in the web process: for in-memory stores, which no other process can open.
    Time limits cannot be enforced here (a query thread cannot be stopped); serve uses the pool."""

    def __init__(self, store) -> None:  # noqa: ANN001
        self.store = store

    def run(self, job: dict[str, Any], timeout: float) -> Answer:  # noqa: ARG002
        from partnergraph.webapp.results import evaluate_oxigraph, evaluate_rdflib_store
        from partnergraph.webapp.workers import _dataset, _visible_graphs

        ox_store = getattr(self.store, "_ox", None)
        if ox_store is not None:
            default, named = _dataset(ox_store, _visible_graphs(ox_store), job["default"], job["named"])
            return evaluate_oxigraph(ox_store, job["query"], default, named, job["format"], job["cap"])
        if job["default"] is not None or job["named"] is not None:
            return Answer(status=400, message="default-graph-uri, named-graph-uri and FROM need the Oxigraph store")
        return evaluate_rdflib_store(self.store, job["query"], job["format"], job["cap"])

    def close(self) -> None:
        pass


class AnswerCache:
    """Answers of recent queries, keyed on the store's write generation, the query, its dataset and
    format: a repeated query (dashboards, the gallery, shared links) is answered without a worker
    round trip. Only this process can write to the store, so a generation bump invalidates all."""

    def __init__(self, max_bytes: int) -> None:
        from collections import OrderedDict

        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, Answer] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple) -> Answer | None:
        with self._lock:
            answer = self._items.get(key)
            if answer is not None:
                self._items.move_to_end(key)
            return answer

    def put(self, key: tuple, answer: Answer) -> None:
        size = len(answer.body) + len(key[1])
        if answer.status != 200 or size > self.max_bytes // 16:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = answer
            self._bytes += size
            while self._bytes > self.max_bytes and self._items:
                old_key, old = self._items.popitem(last=False)
                self._bytes -= len(old.body) + len(old_key[1])


class SharedEpoch:
    """What the web processes of one server share (made before they start, handed to each):
    a write counter in shared memory, read without a lock on every query, and the lock that makes
    an update's integrity check and write one step across all of them (two processes checking
    their updates against the same data and then both writing would let through what neither
    check saw)."""

    def __init__(self, ctx: Any = None) -> None:
        import multiprocessing as mp

        ctx = ctx or mp.get_context("spawn")
        self.counter = ctx.RawValue("q", 0)  # an aligned 64-bit word: reads are atomic
        self.update_lock = ctx.Lock()
        self._bump = ctx.Lock()

    @property
    def value(self) -> int:
        return self.counter.value

    def bump(self) -> None:
        with self._bump:
            self.counter.value += 1


class GenerationClock:
    """The store's write generation, read at most every ``ttl`` seconds. Where reads go to
    published snapshots, ``store.generation`` reads a file: twice per query that was a tenth of a
    small query's cost in the web process. A load by another process is seen within ``ttl``; this
    process's own writes call ``refresh`` and are seen at once.

    ``epoch``: a ``SharedEpoch``, the counter shared by the web processes of one server. An
    update through any of them bumps it, and the others read the store's generation again on their
    next query: no process answers from its cache what an authorized update made stale, not even
    within ``ttl``."""

    def __init__(self, store, ttl: float = 0.05, epoch: Any = None) -> None:  # noqa: ANN001
        self.store = store
        self.ttl = ttl
        self.epoch = epoch
        self._epoch = epoch.value if epoch is not None else 0
        self._value = store.generation
        self._at = time.monotonic()
        self._reading = threading.Lock()

    def __call__(self) -> Any:
        if self.epoch is not None and self.epoch.value != self._epoch:
            with self._reading:  # another process wrote: every thread waits for the fresh value
                seen = self.epoch.value
                if seen != self._epoch:
                    self._value = self.store.generation
                    self._at = time.monotonic()
                    self._epoch = seen
        elif time.monotonic() - self._at > self.ttl and self._reading.acquire(blocking=False):
            try:  # one thread reads; the others meanwhile go on with the value they have
                self._value = self.store.generation
                self._at = time.monotonic()
            finally:
                self._reading.release()
        return self._value

    def refresh(self) -> None:
        """After a write by this process (published already): seen here, and by the other web processes."""
        if self.epoch is not None:
            self.epoch.bump()
        self._value = self.store.generation
        self._at = time.monotonic()


def runner_for(app: Flask):  # noqa: ANN201
    """The app's query runner, made on first use: a worker pool for an on-disk Oxigraph store."""
    cfg = app.config
    with cfg["SPARQL_LOCK"]:
        if cfg.get("SPARQL_RUNNER") is None:
            store = cfg["STORE"]
            path = getattr(store, "path", None)
            if path and cfg.get("SPARQL_WORKERS", 0) > 0:
                from partnergraph.webapp.workers import WorkerPool

                if hasattr(store, "flush"):
                    store.flush()
                cfg["SPARQL_RUNNER"] = WorkerPool(path, cfg["SPARQL_WORKERS"], generation=cfg["SPARQL_GENERATION"])
            else:
                cfg["SPARQL_RUNNER"] = InlineRunner(store)
        return cfg["SPARQL_RUNNER"]


def _generation_ttl() -> float:
    """How long a load made by another process may go unnoticed by the answer caches (seconds,
    $PARTNERGRAPH_GENERATION_TTL, default 0.05). Writes through the endpoint never wait for it."""
    import os

    try:
        return max(0.0, float(os.environ.get("PARTNERGRAPH_GENERATION_TTL", "0.05")))
    except ValueError:
        return 0.05


def configure(app: Flask, *, query_timeout: float = 30.0, max_rows: int = 10_000, workers: int = 2,
              update_token: str | None = None, allow_service: bool = False, cache_mb: int = 64,
              epoch: Any = None) -> None:
    """Endpoint settings (also what ``partnergraph serve`` sets from its options); ``epoch``: the
    ``SharedEpoch`` of the server's web processes (see GenerationClock)."""
    app.config.update(SPARQL_CACHE=AnswerCache(cache_mb << 20) if cache_mb > 0 else None,
                      SPARQL_GENERATION=GenerationClock(app.config["STORE"], ttl=_generation_ttl(), epoch=epoch),
                      SPARQL_TIMEOUT=query_timeout, SPARQL_MAX_ROWS=max_rows, SPARQL_WORKERS=workers,
                      SPARQL_UPDATE_TOKEN=update_token or None, SPARQL_ALLOW_SERVICE=allow_service,
                      SPARQL_LOCK=threading.Lock(), SPARQL_RUNNER=None,
                      SPARQL_UPDATE_LOCK=epoch.update_lock if epoch is not None else threading.Lock())


# ------------------------------------------------------------------ responses


def _error(status: int, message: str) -> Response:
    return Response(message.rstrip() + "\n", status=status, mimetype="text/plain")


#: CORS headers of every /sparql answer: any origin may query (browser tools such as YASGUI).
CORS_HEADERS = [("Access-Control-Allow-Origin", "*"),
                ("Access-Control-Expose-Headers", "Content-Type, X-Result-Truncated, X-Query-Time-Ms, X-Cache")]


@bp.after_request
def _cors(response: Response) -> Response:
    for name, value in CORS_HEADERS:
        response.headers[name] = value
    if request.method == "OPTIONS":
        response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type, Accept, Authorization"
        response.headers["Access-Control-Max-Age"] = "86400"
    response.headers["Vary"] = "Accept"
    return response


def _negotiate(kind: str) -> tuple[str | None, str]:
    """(format name or None, explanation) for the query kind, from format= or Accept."""
    wanted = request.args.get("format") or request.form.get("format") or ""
    return negotiate(kind, wanted, request.headers.get("Accept") or "")


@functools.lru_cache(maxsize=512)
def negotiate(kind: str, wanted: str, accept: str) -> tuple[str | None, str]:
    """(format name or None, explanation) from a ``format`` value and an Accept header; clients
    send the same few Accept headers again and again, so the answers are remembered."""
    from werkzeug.datastructures import MIMEAccept
    from werkzeug.http import parse_accept_header

    table = RESULT_FORMATS if kind in ("SELECT", "ASK") else GRAPH_FORMATS
    wanted = wanted.strip().lower()
    if wanted:
        name = FORMAT_ALIASES.get(wanted)
        if table is GRAPH_FORMATS and name in ("json", "xml"):  # the graph formats written in JSON, in XML
            name = {"json": "jsonld", "xml": "rdfxml"}[name]
        if name is None:
            name = next((n for n, (_, types) in table.items() if wanted in types), None)
        if name in table:
            return name, ""
        return None, f"format={wanted!r} is not offered for a {kind} query; offered: {', '.join(table)}"
    if not accept:
        return next(iter(table)), ""
    offered = [t for _, types in table.values() for t in types]
    best = parse_accept_header(accept, MIMEAccept).best_match(offered)
    if best is None:
        types = ", ".join(main for main, _ in table.values())
        return None, f"none of the media types in Accept can be produced for a {kind} query; offered: {types}"
    return next(n for n, (_, types) in table.items() if best in types), ""


def _params() -> tuple[dict[str, list[str]], str | None]:
    """Protocol parameters from the query string and the body; (params, error)."""
    params: dict[str, list[str]] = {k: request.args.getlist(k) for k in request.args}
    if request.method == "POST":
        ctype = (request.mimetype or "").lower()
        if ctype == "application/x-www-form-urlencoded":
            for k in request.form:
                params.setdefault(k, []).extend(request.form.getlist(k))
        elif ctype == "application/sparql-query":
            params.setdefault("query", []).append(request.get_data(as_text=True))
        elif ctype == "application/sparql-update":
            params.setdefault("update", []).append(request.get_data(as_text=True))
        elif ctype or request.content_length:
            return params, (f"unsupported Content-Type {ctype or '(none)'}: send application/x-www-form-urlencoded, "
                            "application/sparql-query or application/sparql-update")
    return params, None


@bp.route("/sparql", methods=["GET", "POST", "OPTIONS"])
def endpoint() -> Response:
    """The SPARQL 1.1 Protocol."""
    if request.method == "OPTIONS":
        return Response(status=204)
    params, problem = _params()
    if problem:
        return _error(415, problem)
    queries, updates = params.get("query", []), params.get("update", [])
    if len(queries) > 1 or len(updates) > 1:
        return _error(400, "give exactly one query (or one update) per request")
    if queries and updates:
        return _error(400, "a request carries a query or an update, not both")
    if updates:
        if request.method != "POST":
            response = _error(405, "SPARQL Update must be sent by POST")
            response.headers["Allow"] = "POST"
            return response
        return _update(updates[0], params)
    if not queries:
        if request.method == "POST":
            return _error(400, "no query: send query= (or update=) in the body, or a application/sparql-query body")
        return service_description()
    return _query(queries[0], params)


@dataclass
class Reply:
    """A /sparql answer ready to send, built without Flask (the WSGI front sends it as is)."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    log: tuple = ()  # (form, format, rows, one-line query) of a 200 answer: what a cached copy logs


def _plain(status: int, message: str) -> Reply:
    return Reply(status, [("Content-Type", "text/plain; charset=utf-8")], (message.rstrip() + "\n").encode())


def query_reply(app: Flask, text: str, params: dict[str, list[str]], accept: str, method: str) -> Reply:
    """Everything between a query's parameters and its answer: checks, negotiation, dataset,
    answer cache, evaluation in a worker, the log line."""
    cfg = app.config
    started = time.perf_counter()
    if not text.strip():
        return _plain(400, "the query is empty")
    found = scan(text)
    if found.form is None:
        if any(w in _UPDATE_WORDS for w in found.words):
            return _plain(400, "this is a SPARQL Update: send it as update= by POST (it needs the update token)")
        return _plain(400, "SPARQL syntax error: expected SELECT, ASK, CONSTRUCT or DESCRIBE")
    if found.service and not cfg["SPARQL_ALLOW_SERVICE"]:
        return _plain(400, "SERVICE (federated query) is disabled on this endpoint: it would make the server fetch "
                           "other hosts. Query the other endpoint yourself.")
    fmt, why = negotiate(found.form, (params.get("format") or [""])[0], accept)
    if fmt is None:
        return _plain(406, why)
    default = params.get("default-graph-uri") or None
    named = params.get("named-graph-uri") or None
    if default is None and named is None and (found.from_default or found.from_named):
        default, named = found.from_default or [], found.from_named or []
    elif found.from_unsupported and default is None and named is None:
        return _plain(400, "write the graph after FROM / FROM NAMED as a full IRI in <…>")
    job = {"query": text, "default": default, "named": named, "format": fmt, "cap": cfg["SPARQL_MAX_ROWS"]}
    cache: AnswerCache | None = cfg["SPARQL_CACHE"]
    answer = None
    if cache is not None:
        key = (cfg["SPARQL_GENERATION"](), text, tuple(default) if default is not None else None,
               tuple(named) if named is not None else None, fmt, cfg["SPARQL_MAX_ROWS"])
        answer = cache.get(key)
    hit = answer is not None
    if answer is None:
        answer = runner_for(app).run(job, cfg["SPARQL_TIMEOUT"])
        if cache is not None:
            cache.put(key, answer)
    ms = (time.perf_counter() - started) * 1000
    one_line = " ".join(text.split())[:120]
    log.info("sparql %s %d %s rows=%d%s%s %.1fms %s", found.form, answer.status, fmt, answer.rows,
             " truncated" if answer.truncated else "", " cached" if hit else "", ms, one_line)
    if answer.status != 200:
        return _plain(answer.status, answer.message)
    headers = [("Content-Type", f"{answer.content_type}; charset=utf-8"), ("X-Query-Time-Ms", f"{ms:.1f}"),
               ("X-Cache", "hit" if hit else "miss")]
    if answer.truncated:
        headers.append(("X-Result-Truncated", f"only the first {answer.rows} results were returned (row cap)"))
    if method == "GET":
        headers.append(("Cache-Control", "no-cache"))
    return Reply(200, headers, answer.body, (found.form, fmt, answer.rows, one_line))


def _query(text: str, params: dict[str, list[str]]) -> Response:
    reply = query_reply(current_app, text, params, request.headers.get("Accept") or "", request.method)
    response = Response(reply.body, status=reply.status)
    for name, value in reply.headers:
        response.headers[name] = value
    return response


class QueryFront:
    """WSGI middleware in front of Flask for the endpoint's hot path: a query by GET, by POST form
    or by POST application/sparql-query is parsed, answered and sent without building a Flask
    request and response (for a small query, Flask's request, routing and response objects cost
    more than the query). Anything else — updates, the service description, OPTIONS, unusual
    bodies — goes to Flask. With ``max_bytes``, a repeated GET (same query string, Accept and write
    generation) is answered from memory before anything is parsed; still one log line per query."""

    MAX_BODY = 1 << 20  # larger POST bodies go to Flask (its own limits and messages apply)

    def __init__(self, app: Flask, max_bytes: int = 0) -> None:
        from collections import OrderedDict

        from partnergraph.webapp import SECURITY_HEADERS

        self.app = app
        self.wsgi = app.wsgi_app
        self.fixed = [*SECURITY_HEADERS, *CORS_HEADERS, ("Vary", "Accept")]
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, tuple] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict, start_response: Any) -> Any:
        if environ.get("PATH_INFO") != "/sparql":
            return self.wsgi(environ, start_response)
        method = environ.get("REQUEST_METHOD")
        started = time.perf_counter()
        raw_key = None
        if method == "GET":
            qs = environ.get("QUERY_STRING", "")
            if not qs:
                return self.wsgi(environ, start_response)  # the service description
            if self.max_bytes:
                raw_key = (self.app.config["SPARQL_GENERATION"](), qs, environ.get("HTTP_ACCEPT", ""))
                with self._lock:
                    entry = self._items.get(raw_key)
                    if entry is not None:
                        self._items.move_to_end(raw_key)
                if entry is not None:
                    headers, body, (form, fmt, rows, one_line) = entry
                    ms = (time.perf_counter() - started) * 1000
                    start_response("200 OK", headers + [("X-Query-Time-Ms", f"{ms:.1f}")])
                    log.info("sparql %s 200 %s rows=%d cached %.1fms %s", form, fmt, rows, ms, one_line)
                    return [body]
            params = self._parse(qs)
        elif method == "POST":
            params = self._post_params(environ)
        else:
            params = None
        if params is None or len(params.get("query", ())) != 1 or "update" in params:
            return self.wsgi(environ, start_response)  # Flask answers (and explains) everything else
        reply = query_reply(self.app, params["query"][0], params, environ.get("HTTP_ACCEPT", ""), method)
        headers = reply.headers + self.fixed + [("Content-Length", str(len(reply.body)))]
        start_response(f"{reply.status} {_REASONS.get(reply.status, '')}".rstrip(), headers)
        if raw_key is not None and reply.status == 200:
            self._keep(raw_key, headers, reply)
        return [reply.body]

    @staticmethod
    def _parse(text: str) -> dict[str, list[str]] | None:
        from urllib.parse import parse_qs

        try:
            # WSGI strings are bytes as latin-1: back to bytes, then UTF-8 (as werkzeug reads them)
            return parse_qs(text.encode("latin-1").decode("utf-8", "replace"), keep_blank_values=True,
                            errors="replace", max_num_fields=1000)
        except (UnicodeEncodeError, ValueError):
            return None

    def _post_params(self, environ: dict) -> dict[str, list[str]] | None:
        import io

        ctype = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        if ctype not in ("application/x-www-form-urlencoded", "application/sparql-query"):
            return None
        try:
            length = int(environ.get("CONTENT_LENGTH") or -1)
        except ValueError:
            return None
        if length < 0 or length > self.MAX_BODY:
            return None
        body = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(body)  # Flask may still read it
        params = self._parse(environ.get("QUERY_STRING", "")) or {}
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if ctype == "application/sparql-query":
            params.setdefault("query", []).append(text)
            return params
        form = self._parse(text)
        if form is None:
            return None
        for k, v in form.items():
            params.setdefault(k, []).extend(v)
        return params

    def _keep(self, key: tuple, headers: list, reply: Reply) -> None:
        size = len(reply.body) + len(key[1])
        if size > self.max_bytes // 16:
            return
        kept = [(k, "hit" if k == "X-Cache" else v) for k, v in headers if k != "X-Query-Time-Ms"]
        with self._lock:
            if key in self._items:
                return
            self._items[key] = (kept, reply.body, reply.log)
            self._bytes += size
            while self._bytes > self.max_bytes and self._items:
                old_key, old = self._items.popitem(last=False)
                self._bytes -= len(old[1]) + len(old_key[1])


_REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 406: "Not Acceptable",
            500: "Internal Server Error", 503: "Service Unavailable"}


def _update(text: str, params: dict[str, list[str]]) -> Response:
    from partnergraph.errors import PartnergraphError
    from partnergraph.store import PENDING_PREFIX, STAGING_PREFIX

    cfg = current_app.config
    token = cfg.get("SPARQL_UPDATE_TOKEN")
    if not token:
        return _error(403, "this endpoint is read-only: start 'partnergraph serve' with an update token "
                           "($PARTNERGRAPH_UPDATE_TOKEN or --update-token) to accept SPARQL Update")
    sent = request.headers.get("Authorization", "")
    scheme, _, credential = sent.partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(credential.strip().encode(), token.encode()):
        return _error(403, "SPARQL Update needs the header 'Authorization: Bearer <token>' with the server's update token")
    if params.get("using-graph-uri") or params.get("using-named-graph-uri"):
        return _error(400, "using-graph-uri / using-named-graph-uri are not supported: write USING in the update")
    found = scan(text)
    if any(i.startswith((STAGING_PREFIX, PENDING_PREFIX)) for i in found.iris) or "ALL" in found.words:
        return _error(403, "this update would touch partnergraph's own hidden graphs (staging, pending proposals); "
                           "name the graphs to change")
    if "LOAD" in found.words and not cfg["SPARQL_ALLOW_SERVICE"]:
        return _error(400, "LOAD is disabled on this endpoint: it would make the server fetch other hosts, and "
                           "unchecked. Load files with 'partnergraph load FILE --graph NAME'.")
    started = time.perf_counter()
    store = cfg["STORE"]
    with cfg["SPARQL_UPDATE_LOCK"]:
        try:
            check_update(store, text)
            store.update(text)
        except PartnergraphError as exc:
            log.info("sparql UPDATE 400 %.1fms refused", (time.perf_counter() - started) * 1000)
            return _error(400, str(exc))
        if hasattr(store, "flush"):
            store.flush()
        cfg["SPARQL_GENERATION"].refresh()
    log.info("sparql UPDATE 204 %.1fms %s", (time.perf_counter() - started) * 1000, " ".join(text.split())[:120])
    return Response(status=204)


_DEFAULT_GRAPH_WRITE = ("this update writes into the default graph, which here is the union of the named graphs: "
                        "write into a named graph (INSERT DATA { GRAPH <…> { … } }, or WITH <…>), one per source")


def check_update(store, text: str) -> None:  # noqa: ANN001
    """Run the update on an in-memory copy and check every graph it changes against the integrity
    shapes, so that nothing reaches the store that a load would refuse. (Copies the store: fine for
    curated data, slow for millions of triples; bulk data goes through the loaders.)"""
    import pyoxigraph as ox
    from pyparsing import ParseException
    from rdflib import Dataset, Graph

    from partnergraph.errors import UserError
    from partnergraph.shapes import check_integrity

    # Oxigraph's parser first, on an empty scratch store: its syntax errors give the line and
    # column (rdflib's often point at the start of the text), and what lands in the default graph
    # shows which data has no named graph.
    scratch = ox.Store()
    try:
        scratch.update(text)
    except SyntaxError as exc:
        raise UserError(f"SPARQL update syntax error: {exc}") from exc
    except OSError as exc:
        raise UserError(f"update failed: {exc}") from exc
    if any(True for _ in scratch.quads_for_pattern(None, None, None, ox.DefaultGraph())):
        raise UserError(_DEFAULT_GRAPH_WRITE)
    ds = Dataset()
    before: dict[Any, set] = {}
    for name in store.graph_names():
        g = ds.graph(name)
        for t in store.graph_triples(name):
            g.add(t)
        before[name] = set(g)
    try:
        ds.update(text)
    except ParseException as exc:
        raise UserError(f"SPARQL update syntax error: {exc}") from exc
    except Exception as exc:  # rdflib raises many kinds for bad updates
        raise UserError(f"update failed: {exc}") from exc
    if len(ds.default_graph):
        raise UserError(_DEFAULT_GRAPH_WRITE)
    graphs = {g.identifier: g for g in ds.graphs()}
    changed = [n for n, g in graphs.items() if set(g) != before.get(n, set())]
    changed += [n for n in before if n not in graphs and before[n]]
    for name in changed:
        data = Graph()
        for t in graphs.get(name, Graph()):
            data.add(t)
        context = Graph()
        for other, g in graphs.items():
            if other != name:
                for t in g:
                    context.add(t)
        check_integrity(data, context)


def service_description() -> Response:
    """SPARQL 1.1 Service Description of this endpoint: Turtle, or another RDF format by Accept/format=."""
    from rdflib import BNode, Graph, Literal, Namespace, URIRef
    from rdflib.namespace import RDF

    sd = Namespace("http://www.w3.org/ns/sparql-service-description#")
    formats = Namespace("http://www.w3.org/ns/formats/")
    cfg = current_app.config
    g = Graph()
    g.bind("sd", sd)
    g.bind("formats", formats)
    me = URIRef(url_for("sparql.endpoint", _external=True))
    g.add((me, RDF.type, sd.Service))
    g.add((me, sd.endpoint, me))
    g.add((me, sd.supportedLanguage, sd.SPARQL11Query))
    if cfg.get("SPARQL_UPDATE_TOKEN"):
        g.add((me, sd.supportedLanguage, sd.SPARQL11Update))
    g.add((me, sd.feature, sd.UnionDefaultGraph))
    for name in ("SPARQL_Results_JSON", "SPARQL_Results_XML", "SPARQL_Results_CSV", "SPARQL_Results_TSV",
                 "Turtle", "N-Triples", "JSON-LD", "RDF_XML"):
        g.add((me, sd.resultFormat, formats[name]))
    dataset = BNode()
    g.add((me, sd.defaultDataset, dataset))
    g.add((dataset, RDF.type, sd.Dataset))
    default = BNode()
    g.add((dataset, sd.defaultGraph, default))
    g.add((default, RDF.type, sd.Graph))
    for name in cfg["STORE"].graph_names():
        ng = BNode()
        g.add((dataset, sd.namedGraph, ng))
        g.add((ng, RDF.type, sd.NamedGraph))
        g.add((ng, sd.name, URIRef(name)))
    g.add((me, URIRef("http://www.w3.org/2000/01/rdf-schema#comment"),
           Literal(f"partnergraph SPARQL endpoint; queries time out after {cfg['SPARQL_TIMEOUT']:g} s and return at "
                   f"most {cfg['SPARQL_MAX_ROWS']} rows; SERVICE is {'allowed' if cfg['SPARQL_ALLOW_SERVICE'] else 'refused'}.")))
    if request.args.get("format"):
        fmt, why = _negotiate("CONSTRUCT")
        if fmt is None:
            return _error(406, why)
    else:  # only the RDF media types themselves: a browser's "application/xml;q=0.9, */*" gets Turtle
        mains = {main: name for name, (main, _) in GRAPH_FORMATS.items()}
        fmt = mains[request.accept_mimetypes.best_match(list(mains), default="text/turtle") or "text/turtle"]
    media, _ = GRAPH_FORMATS[fmt]
    rdflib_format = {"turtle": "turtle", "ntriples": "nt", "jsonld": "json-ld", "rdfxml": "xml"}[fmt]
    return Response(g.serialize(format=rdflib_format), content_type=f"{media}; charset=utf-8")
