"""Any SPARQL 1.1 server as the store: ``sparql:QUERY_URL[ UPDATE_URL]``.

Everything goes through the SPARQL 1.1 Protocol (queries and updates as form POSTs), so the same
code runs on Virtuoso, Fuseki, QLever, Blazegraph or an Oxigraph server. What the embedded store
does with its own default-graph list is done here with the protocol's ``default-graph-uri`` and
``named-graph-uri`` parameters: a query sees exactly the visible graphs, never a staging graph or a
pending proposal — which matters on Virtuoso, whose default graph is the union of every graph
(its system graphs included) unless the request names one.

Credentials come from the environment only, never from the URL or the command line:
``PARTNERGRAPH_SPARQL_USER`` / ``PARTNERGRAPH_SPARQL_PASSWORD`` (HTTP Basic or Digest, whichever
the server asks for; Virtuoso's ``/sparql-auth`` asks for Digest) or ``PARTNERGRAPH_SPARQL_TOKEN``
(a bearer token).

Loads go into a staging graph in batches of ``INSERT DATA`` (``PARTNERGRAPH_SPARQL_BATCH``
triples each, default 2000, halved when the server says a batch is too big; retried on network errors and 5xx answers: inserting the same triples twice is
harmless), then one update request swaps it in with ``MOVE``. Where the server has the SPARQL 1.1
Graph Store Protocol (a third URL, ``sparql:QUERY_URL UPDATE_URL GSP_URL``, or
``PARTNERGRAPH_SPARQL_GSP``; Virtuoso: ``/sparql-graph-crud-auth``), the staging graph is filled
instead by POSTing Turtle in large chunks (``PARTNERGRAPH_SPARQL_GSP_BATCH`` triples, default
50000, retried the same way; triples with blank nodes still go in one SPARQL request, so a retried
chunk can never duplicate a node), before the same ``MOVE``. A swap whose answer was lost is
never blindly repeated (a second ``MOVE`` of a graph already moved would empty the target): the
store looks whether the staging graph is still there and repeats only if it is.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Iterable, Iterator

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from partnergraph.errors import StoreError, UserError
from partnergraph.ontology import GRAPH, PG, PREFIXES
from partnergraph.store import (
    CONTROL_GRAPH,
    STAGING_PREFIX,
    QueryResult,
    Store,
    Triple,
    _is_hidden,
    _is_staging,
    check_service,
)

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_GRAPH_BASE = str(GRAPH)
#: A graph that never holds anything: the default graph of a query when no graph is visible yet
#: (an empty default-graph list would mean "every graph" to Virtuoso).
_NO_GRAPH = str(GRAPH[".none"])
_KIND = re.compile(r"\b(SELECT|ASK|CONSTRUCT|DESCRIBE)\b", re.IGNORECASE)
_STAGING_AGE_LIMIT = 6 * 3600  # a remote staging graph older than this belongs to a dead load


def _strip_prologue(text: str) -> str:
    """The query without comments and string literals, to tell its form from its first keyword."""
    text = re.sub(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'', '""', text)
    text = re.sub(r"<[^<>\s]*>", "<>", text)
    return re.sub(r"#[^\n]*", "", text)


def query_kind(text: str) -> str:
    """SELECT, ASK, CONSTRUCT or DESCRIBE: the query form, read after the prologue."""
    m = _KIND.search(_strip_prologue(text))
    if not m:
        raise UserError("SPARQL syntax error: not a SELECT, ASK, CONSTRUCT or DESCRIBE query")
    return m.group(1).upper()


def term_from_json(b: dict) -> Node:
    """One binding of SPARQL 1.1 JSON results (and Virtuoso's older 'typed-literal') as an rdflib term."""
    kind = b.get("type")
    value = b.get("value", "")
    if kind == "uri":
        return URIRef(value)
    if kind == "bnode":
        # Virtuoso names blank nodes "nodeID://b10000": keep the name, but as a valid label.
        return BNode(re.sub(r"[^A-Za-z0-9_]", "_", value))
    if kind in ("literal", "typed-literal"):
        lang = b.get("xml:lang")
        if lang:
            return Literal(value, lang=lang)
        dt = b.get("datatype")
        if dt and dt != _XSD_STRING:
            return Literal(value, datatype=URIRef(dt))
        return Literal(value)
    raise StoreError(f"the SPARQL server sent a result term of unknown type {kind!r}")


def _nt(t: Triple) -> str:
    return f"{t[0].n3()} {t[1].n3()} {t[2].n3()} ."


class SparqlStore(Store):
    """A remote SPARQL 1.1 server, through the Protocol (and nothing server-specific)."""

    def __init__(self, query_url: str, update_url: str | None = None, gsp_url: str | None = None, *,
                 read_only: bool = False, batch: int | None = None, timeout: float | None = None,
                 retries: int = 4) -> None:
        gsp_url = gsp_url or os.environ.get("PARTNERGRAPH_SPARQL_GSP") or None
        for u in (query_url, update_url, gsp_url):
            if u is not None and not re.match(r"^https?://[^\s]+$", u):
                raise UserError(f"not an http(s) URL for a SPARQL endpoint: {u!r}")
            if u is not None and urllib.parse.urlsplit(u).password:
                raise UserError("put SPARQL credentials in $PARTNERGRAPH_SPARQL_USER and $PARTNERGRAPH_SPARQL_PASSWORD, "
                                "never in the store URL")
        self.query_url = query_url
        self.update_url = update_url or query_url
        self.gsp_url = gsp_url
        self.url = f"sparql:{query_url}" + (f" {self.update_url}" if self.update_url != query_url or gsp_url else "") + (
            f" {gsp_url}" if gsp_url else "")
        self.read_only = read_only
        self.batch = batch or int(os.environ.get("PARTNERGRAPH_SPARQL_BATCH", "2000"))
        self.gsp_batch = int(os.environ.get("PARTNERGRAPH_SPARQL_GSP_BATCH", "50000"))
        self.timeout = timeout or float(os.environ.get("PARTNERGRAPH_SPARQL_TIMEOUT", "600"))
        self.retries = retries
        self._lock = threading.RLock()
        self._graphs: tuple[float, list[URIRef], list[URIRef], str] | None = None  # (when, every, visible, token)
        self._token: tuple[float, str] | None = None
        self._generations: dict[str, int] = {}
        self._opener = self._make_opener()
        self.allowed_service_hosts: tuple[str, ...] = ()

    # ------------------------------------------------------------------ HTTP

    def _make_opener(self) -> urllib.request.OpenerDirector:
        handlers: list[urllib.request.BaseHandler] = []
        user = os.environ.get("PARTNERGRAPH_SPARQL_USER")
        password = os.environ.get("PARTNERGRAPH_SPARQL_PASSWORD")
        self._bearer = os.environ.get("PARTNERGRAPH_SPARQL_TOKEN")
        if user is not None and password is not None:
            manager = urllib.request.HTTPPasswordMgrWithDefaultRealm()
            for u in {self.query_url, self.update_url, self.gsp_url} - {None}:
                manager.add_password(None, u, user, password)
            handlers += [urllib.request.HTTPDigestAuthHandler(manager), urllib.request.HTTPBasicAuthHandler(manager)]
        return urllib.request.build_opener(*handlers)

    def _post(self, url: str, form: list[tuple[str, str]], accept: str, *, retry: bool = True) -> tuple[bytes, str, dict]:
        """POST a form; returns (body, content type, headers). Retries network errors and 5xx."""
        body = urllib.parse.urlencode(form).encode("utf-8")
        return self._request(url, body, "application/x-www-form-urlencoded; charset=utf-8", accept, retry=retry)

    def _request(self, url: str, body: bytes, content_type: str, accept: str, *, retry: bool = True) -> tuple[bytes, str, dict]:
        """POST a body; returns (body, content type, headers). Retries network errors and 5xx."""
        headers = {"Accept": accept, "Content-Type": content_type, "User-Agent": "partnergraph"}
        if self._bearer:
            headers["Authorization"] = f"Bearer {self._bearer}"
        attempts = self.retries + 1 if retry else 1
        for attempt in range(attempts):
            request = urllib.request.Request(url, data=body, headers=headers, method="POST")
            try:
                with self._opener.open(request, timeout=self.timeout) as response:
                    return response.read(), response.headers.get("Content-Type", ""), dict(response.headers)
            except urllib.error.HTTPError as exc:
                detail = " ".join(exc.read(4000).decode("utf-8", "replace").split())
                detail = detail.split(" SPARQL query:")[0]  # Virtuoso repeats the whole query after its message
                if exc.code in (401, 403):
                    raise StoreError(f"the SPARQL server at {url} refused access ({exc.code}): set "
                                     "$PARTNERGRAPH_SPARQL_USER and $PARTNERGRAPH_SPARQL_PASSWORD (or $PARTNERGRAPH_SPARQL_TOKEN) "
                                     "to an account allowed to do this") from None
                if exc.code >= 500 and attempt + 1 < attempts and not _is_query_error(detail):
                    time.sleep(min(0.5 * 2**attempt, 8))
                    continue
                if exc.code < 500 or _is_query_error(detail):
                    raise UserError(f"the SPARQL server rejected the request ({exc.code}): {detail[:600]}") from None
                raise StoreError(f"the SPARQL server at {url} failed ({exc.code}): {detail[:600]}") from None
            except (urllib.error.URLError, OSError) as exc:
                if attempt + 1 < attempts:
                    time.sleep(min(0.5 * 2**attempt, 8))
                    continue
                reason = getattr(exc, "reason", exc)
                raise StoreError(f"cannot reach the SPARQL server at {url}: {reason}") from None
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ graphs

    def _scan(self) -> tuple[list[URIRef], list[URIRef]]:
        """(every graph, the visible ones). Visible: not hidden, and either under the project's graph
        base or registered by a load into a graph of another name — so a server's own graphs
        (Virtuoso's system graphs) stay out of partnergraph's view."""
        # Read again when partnergraph wrote since (the write token changed: one tiny query), and at
        # least every 30 s for writes made by other means.
        now = time.monotonic()
        token = self._read_token()
        with self._lock:
            self._token = (now, token)  # fresh: `generation` need not ask again within its second
            if self._graphs is not None and self._graphs[3] == token and now - self._graphs[0] < 30.0:
                return self._graphs[1], self._graphs[2]
        # (GROUP BY, not DISTINCT: the same answer, but Virtuoso 7.2 takes 25 s for DISTINCT over
        # 100,000 quads and 20 ms for GROUP BY, and every query reads this list)
        rows = self._select("SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g", dataset=False).rows
        every = sorted({r[0] for r in rows if isinstance(r[0], URIRef)})
        registered = {r[0] for r in self._select(
            f"SELECT ?g WHERE {{ GRAPH <{CONTROL_GRAPH}> {{ <{CONTROL_GRAPH}> <{PG.managedGraph}> ?g }} }}", dataset=False).rows}
        visible = [g for g in every if not _is_hidden(g) and (str(g).startswith(_GRAPH_BASE) or g in registered)]
        with self._lock:
            self._graphs = (now, every, visible, token)
        return every, visible

    def _read_token(self) -> str:
        """The write token in the control graph, read now: it changes with every write through partnergraph."""
        rows = self._select(f"SELECT ?t WHERE {{ GRAPH <{CONTROL_GRAPH}> {{ <{CONTROL_GRAPH}> <{PG.writeToken}> ?t }} }}",
                            dataset=False).rows
        return str(rows[0][0]) if rows else ""

    def _derived_version(self) -> tuple[object, None]:
        # The write token, read now (one tiny query), and the half-minute: a server is also written
        # by other means than partnergraph, which the token does not see. Kept in this process only.
        return ((self._read_token(), int(time.monotonic() // 30)), None)

    def _forget(self) -> None:
        with self._lock:
            self._graphs = None
            self._token = None

    def graph_names(self) -> list[URIRef]:
        return list(self._scan()[1])

    def _all_graph_names(self) -> list[URIRef]:
        return [g for g in self._scan()[0] if str(g).startswith(_GRAPH_BASE) or g in self._scan()[1]]

    def graph_triples(self, name: URIRef) -> Iterator[Triple]:
        result = self._select(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{name}> {{ ?s ?p ?o }} }}", dataset=False)
        for row in result.rows:
            yield row  # type: ignore[misc]

    def graph_sizes(self) -> list[tuple[URIRef, int]]:
        visible = self.graph_names()
        if not visible:
            return []
        values = " ".join(f"<{g}>" for g in visible)
        rows = self._select(f"SELECT ?g (COUNT(*) AS ?n) WHERE {{ VALUES ?g {{ {values} }} GRAPH ?g {{ ?s ?p ?o }} }} "
                            "GROUP BY ?g ORDER BY ?g", dataset=False).rows
        return [(g, int(n)) for g, n in rows]  # type: ignore[arg-type]

    # ------------------------------------------------------------------ queries

    def _dataset_form(self) -> list[tuple[str, str]]:
        visible = self.graph_names() or [URIRef(_NO_GRAPH)]
        return [("default-graph-uri", str(g)) for g in visible] + [("named-graph-uri", str(g)) for g in visible]

    def _select(self, text: str, *, dataset: bool = True) -> QueryResult:
        form = [("query", text)] + (self._dataset_form() if dataset else [])
        raw, _ctype, headers = self._post(self.query_url, form, "application/sparql-results+json")
        truncated = headers.get("X-SPARQL-MaxRows") or headers.get("x-sparql-maxrows")
        if truncated:
            raise StoreError(f"the SPARQL server cut the result at {truncated} rows (Virtuoso: raise ResultSetMaxRows "
                             "in the [SPARQL] section of virtuoso.ini)")
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise StoreError(f"the SPARQL server did not answer in SPARQL JSON: {raw[:200]!r}") from exc
        if "boolean" in doc:
            return QueryResult("ASK", boolean=bool(doc["boolean"]))
        variables = list(doc.get("head", {}).get("vars", []))
        rows = []
        for b in doc.get("results", {}).get("bindings", []):
            rows.append(tuple(term_from_json(b[v]) if v in b else None for v in variables))
        return QueryResult("SELECT", variables=variables, rows=rows)  # type: ignore[arg-type]

    def query(self, text: str) -> QueryResult:
        check_service(text, self.allowed_service_hosts)
        kind = query_kind(text)
        if kind in ("SELECT", "ASK"):
            return self._select(text)
        raw, ctype, _h = self._post(self.query_url, [("query", text)] + self._dataset_form(),
                                    "application/n-triples, text/plain;q=0.9, text/turtle;q=0.8")
        fmt = "turtle" if "turtle" in ctype else "nt"
        g = Graph()
        for prefix, ns in PREFIXES.items():
            g.bind(prefix, ns)
        try:
            g.parse(data=raw.decode("utf-8"), format=fmt)
        except Exception as exc:  # noqa: BLE001 - rdflib parsers raise many kinds
            raise StoreError(f"the SPARQL server's {kind} answer did not parse as {fmt}: {exc}") from exc
        return QueryResult("CONSTRUCT", graph=g)

    # ------------------------------------------------------------------ writes

    def _write_token_ops(self) -> str:
        """Operations appended to every write: a fresh token in the control graph, so that every
        process reading this server sees that the data changed (store.generation)."""
        token = uuid.uuid4().hex
        return (f"DELETE WHERE {{ GRAPH <{CONTROL_GRAPH}> {{ <{CONTROL_GRAPH}> <{PG.writeToken}> ?t }} }} ;\n"
                f"INSERT DATA {{ GRAPH <{CONTROL_GRAPH}> {{ <{CONTROL_GRAPH}> <{PG.writeToken}> \"{token}\" }} }}")

    def _update(self, text: str, *, retry: bool = False) -> None:
        if self.read_only:
            raise StoreError("the store is open read-only")
        try:
            self._post(self.update_url, [("update", text)], "application/sparql-results+json, */*;q=0.1", retry=retry)
        finally:
            self._forget()

    def update(self, text: str) -> None:
        check_service(text, self.allowed_service_hosts)
        self._update(f"{text} ;\n{self._write_token_ops()}")

    @property
    def generation(self) -> int:  # type: ignore[override]
        """Changes whenever any process wrote to the server through partnergraph (checked at most
        once a second: a cache key for the web app)."""
        now = time.monotonic()
        with self._lock:
            if self._token is not None and now - self._token[0] < 1.0:
                token = self._token[1]
            else:
                token = self._read_token()
                self._token = (now, token)
            return self._generations.setdefault(token, len(self._generations))

    @generation.setter
    def generation(self, _value: int) -> None:
        pass

    def _gsp_post(self, staging: URIRef, lines: list[str]) -> None:
        """One chunk of triples into the staging graph through the Graph Store Protocol (POST adds
        to a graph; sent as Turtle, of which the lines, N-Triples or with long strings, are valid)."""
        if self.read_only:
            raise StoreError("the store is open read-only")
        assert self.gsp_url is not None
        url = self.gsp_url + ("&" if "?" in self.gsp_url else "?") + urllib.parse.urlencode({"graph": str(staging)})
        try:
            self._request(url, "\n".join(lines).encode("utf-8"), "text/turtle; charset=utf-8", "*/*", retry=True)
        finally:
            self._forget()

    def _insert_batches(self, staging: URIRef, triples: Iterable[Triple]) -> None:
        """Batches of INSERT DATA (or Graph Store Protocol POSTs) into the staging graph. Triples with
        blank nodes all go in the last request, an update: blank node labels are scoped to one
        request, so splitting them would split nodes, and a retried POST would copy them."""
        with_bnodes: list[str] = []
        batch: list[str] = []
        gsp = self.gsp_url is not None
        size = self.gsp_batch if gsp else self.batch

        def send(lines: list[str], bnodes: bool = False) -> None:
            nonlocal size
            body = "{ GRAPH <%s> {\n%s\n} }" % (staging, "\n".join(lines))
            # INSERT DATA may not carry blank nodes on Virtuoso; a template with an empty WHERE
            # (one solution) makes the same fresh nodes on any server.
            try:
                if gsp and not bnodes:
                    self._gsp_post(staging, lines)
                else:
                    self._update(f"INSERT {body} WHERE {{}}" if bnodes else f"INSERT DATA {body}", retry=True)
            except UserError as exc:
                # Too big for the server's parser (Virtuoso: "memory exhausted" near 5000 lines):
                # halve the batch, and keep the smaller size for the rest of the load.
                if bnodes or len(lines) < 2 or not re.search(r"memory exhausted|\(413\)|too large", str(exc), re.I):
                    raise
                half = len(lines) // 2
                size = max(1, min(size, half))
                if not gsp:
                    self.batch = size
                send(lines[:half])
                send(lines[half:])

        for t in triples:
            line = _nt(t)
            if isinstance(t[0], BNode) or isinstance(t[2], BNode):
                with_bnodes.append(line)
                continue
            batch.append(line)
            if len(batch) >= size:
                send(batch)
                batch = []
        if batch:
            send(batch)
        if with_bnodes:
            send(with_bnodes, bnodes=True)

    def _swap(self, staging: URIRef, name: URIRef) -> None:
        """MOVE staging to name in one request; if its answer is lost, repeat only while the
        staging graph is still there (a second MOVE of a moved graph would empty the target)."""
        register = ""
        if not str(name).startswith(_GRAPH_BASE):
            register = (f"INSERT DATA {{ GRAPH <{CONTROL_GRAPH}> {{ <{CONTROL_GRAPH}> <{PG.managedGraph}> <{name}> }} }} ;\n")
        text = f"MOVE SILENT <{staging}> TO <{name}> ;\n{register}{self._write_token_ops()}"
        self._swap_update(text, staging, f"could not swap the new content into <{name}>; the previous graph is unchanged")

    def _swap_update(self, text: str, probe: URIRef, failure: str) -> None:
        """Send an update that moves ``probe`` (a staging graph) away; on a lost answer, retry only
        while ``probe`` is still there, since repeating a MOVE that took effect would empty its target."""
        for attempt in range(self.retries + 1):
            try:
                self._update(text)
                return
            except StoreError:
                time.sleep(min(0.5 * 2**attempt, 8))
                try:
                    still_there = self._select(f"ASK {{ GRAPH <{probe}> {{ ?s ?p ?o }} }}", dataset=False).boolean
                except StoreError:
                    continue
                if not still_there:
                    return
        raise StoreError(failure)

    def replace_graph(self, name: URIRef, triples: Iterable[Triple]) -> None:
        if self.read_only:
            raise StoreError("the store is open read-only")
        staging = URIRef(f"{STAGING_PREFIX}{int(time.time())}-{uuid.uuid4().hex}")
        try:
            self._insert_batches(staging, triples)
        except BaseException:
            try:
                self._drop(staging)
            except Exception:  # noqa: BLE001 - the original error matters more; cleanup_staging retries later
                pass
            raise
        try:
            self._swap(staging, name)
        except UserError as exc:  # the server refused the swap: nothing changed, the staging graph goes
            try:
                self._drop(staging)
            except Exception:  # noqa: BLE001
                pass
            hint = (" (Virtuoso: raise TransactionAfterImageLimit in the [Parameters] section of virtuoso.ini; "
                    "a graph is swapped in one transaction)") if "SR325" in str(exc) else ""
            raise StoreError(f"the server refused to swap the new content into <{name}>; the previous graph is "
                             f"unchanged: {exc}{hint}") from None

    def replace_graphs(self, graphs: dict[URIRef, Iterable[Triple]], drop: Iterable[URIRef] = ()) -> None:
        """Stage every graph, then one update request swaps them all in and drops ``drop``
        (one request: one transaction on Virtuoso). A lost answer is resolved as in _swap."""
        if self.read_only:
            raise StoreError("the store is open read-only")
        staged: dict[URIRef, URIRef] = {}
        try:
            for name, triples in graphs.items():
                staged[name] = URIRef(f"{STAGING_PREFIX}{int(time.time())}-{uuid.uuid4().hex}")
                self._insert_batches(staged[name], triples)
        except BaseException:
            for staging in staged.values():
                try:
                    self._drop(staging)
                except Exception:  # noqa: BLE001
                    pass
            raise
        ops = []
        for name, staging in staged.items():
            ops.append(f"MOVE SILENT <{staging}> TO <{name}>")
            if not str(name).startswith(_GRAPH_BASE):
                ops.append(f"INSERT DATA {{ GRAPH <{CONTROL_GRAPH}> {{ <{CONTROL_GRAPH}> <{PG.managedGraph}> <{name}> }} }}")
        for name in drop:
            if name not in staged:
                ops.append(f"DROP SILENT GRAPH <{name}>")
                ops.append(f"DELETE DATA {{ GRAPH <{CONTROL_GRAPH}> {{ <{CONTROL_GRAPH}> <{PG.managedGraph}> <{name}> }} }}")
        if not staged:
            if ops:
                self._update(" ;\n".join(ops + [self._write_token_ops()]))
            return
        text = " ;\n".join(ops + [self._write_token_ops()])
        self._swap_update(text, next(iter(staged.values())), "could not swap the restored graphs in; the store is unchanged")

    def _drop(self, name: URIRef) -> None:
        unregister = f"DELETE DATA {{ GRAPH <{CONTROL_GRAPH}> {{ <{CONTROL_GRAPH}> <{PG.managedGraph}> <{name}> }} }} ;\n"
        self._update(f"DROP SILENT GRAPH <{name}> ;\n{unregister}{self._write_token_ops()}")

    def cleanup_staging(self) -> int:
        """Drop staging graphs of dead loads: on a shared server another process may be loading
        right now, so only staging graphs older than six hours go."""
        now = time.time()
        left = []
        for g in self._scan()[0]:
            if not _is_staging(g):
                continue
            stamp = str(g)[len(STAGING_PREFIX):].split("-", 1)[0]
            if not stamp.isdigit() or now - int(stamp) > _STAGING_AGE_LIMIT:
                left.append(g)
        for g in left:
            self._drop(g)
        return len(left)

    def wipe(self) -> None:
        """Drop every graph partnergraph manages on this server (tests, and import --replace)."""
        graphs = self._all_graph_names()
        if graphs:
            self._update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in graphs))

    @property
    def dataset(self):  # noqa: ANN201
        """An rdflib Dataset copy of the visible graphs (small stores only: it reads everything)."""
        from rdflib import Dataset

        ds = Dataset(default_union=True)
        for name in self.graph_names():
            target = ds.graph(name)
            for t in self.graph_triples(name):
                target.add(t)
        return ds


def _is_query_error(detail: str) -> bool:
    """Virtuoso answers some malformed queries with 500 and an SQL state of class 37000 (syntax)
    or 22023/SP0xx (SPARQL compiler): not worth retrying, and the user's fault."""
    return bool(re.search(r"\b(37000|SP0\d\d|SR\d{3}|22023|42000)\b", detail))


def parse_sparql_url(rest: str) -> tuple[str, str | None, str | None]:
    """``QUERY_URL[ UPDATE_URL[ GSP_URL]]`` (a space or a comma between them)."""
    parts = [p for p in re.split(r"[\s,]+", rest.strip()) if p]
    if not parts or len(parts) > 3:
        raise UserError("use --store 'sparql:QUERY_URL', 'sparql:QUERY_URL UPDATE_URL' or "
                        "'sparql:QUERY_URL UPDATE_URL GRAPH_STORE_URL'")
    return parts[0], parts[1] if len(parts) > 1 else None, parts[2] if len(parts) > 2 else None
