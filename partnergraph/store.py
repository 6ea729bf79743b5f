"""Open a store by URL and give the rest of the code one object over it.

| URL               | backend                                                         |
|-------------------|-----------------------------------------------------------------|
| ``oxigraph:PATH`` | embedded on-disk Oxigraph (the default, ``./.partnergraph/store``) |
| ``memory:``       | rdflib in memory, for tests and throw-away runs                 |

Every store keeps one named graph per source. ``replace_graph`` is atomic: the new triples go
into a hidden staging graph first and are swapped in by one transactional ``MOVE``, so a load
that fails or is killed leaves the previous graph exactly as it was, and readers never see a mix
(staging graphs are never part of the default graph that queries read).

SPARQL is evaluated natively by Oxigraph for the embedded store (rdflib's own engine is the
baseline we measure against); ``store.dataset`` gives an rdflib ``Dataset`` view for code that
wants rdflib's API (pyshacl, serializers).
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence
from urllib.parse import urlsplit

from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.term import Node

from partnergraph.errors import StoreError, UserError
from partnergraph.ontology import GRAPH, ONTOLOGY_GRAPH, PREFIXES, ontology_graph

DEFAULT_STORE_URL = "oxigraph:./.partnergraph/store"
#: Graphs whose local name starts with a dot are partnergraph's own bookkeeping, never data.
INTERNAL_PREFIX = str(GRAPH["."])
STAGING_PREFIX = str(GRAPH[".staging/"])
#: Bookkeeping of a remote store: which graphs it manages, a token that changes on every write.
CONTROL_GRAPH = GRAPH[".control"]
#: Pending proposals live in graphs under this prefix until a reviewer accepts them.
PENDING_PREFIX = str(GRAPH["proposal/"])

Triple = tuple[Node, Node, Node]


@dataclass
class QueryResult:
    """What a query returned, in rdflib terms, whatever the backend.

    ``kind`` is SELECT, ASK or CONSTRUCT (DESCRIBE answers as CONSTRUCT)."""

    kind: str
    variables: list[str] = field(default_factory=list)
    rows: list[tuple[Node | None, ...]] = field(default_factory=list)
    boolean: bool | None = None
    graph: Graph | None = None

    def dicts(self) -> list[dict[str, Node | None]]:
        """Rows as dicts keyed by variable name."""
        return [dict(zip(self.variables, row)) for row in self.rows]


def _is_staging(name: object) -> bool:
    return str(name).startswith(STAGING_PREFIX)


def _is_hidden(name: object) -> bool:
    """Graphs that queries never read: staging graphs of loads, bookkeeping, and pending proposals."""
    return str(name).startswith((INTERNAL_PREFIX, PENDING_PREFIX))


_STRINGS_AND_IRIS = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>\s]*>|#[^\n]*')


def check_service(text: str, allowed_hosts: Sequence[str] = ()) -> None:
    """Refuse a query or update that asks the engine to call another server (``SERVICE``), unless
    that server's host is allowed: a query must not turn the store into a client of arbitrary hosts."""
    if not re.search(r"\bSERVICE\b", _STRINGS_AND_IRIS.sub(" ", text), re.IGNORECASE):
        return
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate
    from rdflib.plugins.sparql.parserutils import CompValue

    try:
        tree = parseQuery(text)
    except Exception:  # noqa: BLE001
        try:
            tree = parseUpdate(text)
        except Exception:  # noqa: BLE001
            raise UserError("the query uses SERVICE in a form partnergraph cannot check; refused") from None
    prefixes: dict[str, str] = {}
    targets: list[object] = []

    def walk(node: object) -> None:
        if isinstance(node, CompValue):
            if node.name == "PrefixDecl":
                prefixes[str(node.get("prefix") or "")] = str(node.get("iri"))
            if node.name == "ServiceGraphPattern":
                targets.append(node.get("term"))
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for item in node:
                walk(item)

    walk(tree)
    for term in targets:
        if isinstance(term, CompValue) and term.name == "pname":
            term = URIRef(prefixes.get(str(term.get("prefix") or ""), "") + str(term.get("localname") or ""))
        host = urlsplit(str(term)).hostname if isinstance(term, URIRef) else None
        if host is None:
            raise UserError("SERVICE with a variable or a relative IRI is refused: name the server")
        if host.lower() not in {h.lower() for h in allowed_hosts}:
            raise UserError(f"the query calls SERVICE <{term}>: refused, partnergraph does not query other servers "
                            f"unless told to (partnergraph query --allow-service {host})")


class Store(ABC):
    """The interface every backend offers. Graph names are IRIs (rdflib URIRef)."""

    url: str
    #: Bumped by every write this object makes: a cheap "has the data changed?" for caches
    #: (only the process that holds the store can write to it).
    generation: int = 0
    read_only: bool = False
    #: Hosts a query may reach with SERVICE (none by default: see check_service).
    allowed_service_hosts: tuple[str, ...] = ()

    @abstractmethod
    def query(self, text: str) -> QueryResult:
        """Run a SPARQL 1.1 query over the union of the store's graphs (staging excluded)."""

    @abstractmethod
    def update(self, text: str) -> None:
        """Run a SPARQL 1.1 update, atomically where the backend can."""

    @abstractmethod
    def graph_names(self) -> list[URIRef]:
        """The named graphs that hold data (staging graphs excluded)."""

    @abstractmethod
    def graph_triples(self, name: URIRef) -> Iterator[Triple]:
        """Stream the triples of one named graph."""

    @abstractmethod
    def _drop(self, name: URIRef) -> None:
        """Drop a graph, silently if absent."""

    @abstractmethod
    def _all_graph_names(self) -> list[URIRef]:
        """Every named graph, staging included."""

    def close(self) -> None:
        """Release the store (file locks, connections)."""

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ shared behaviour

    @abstractmethod
    def replace_graph(self, name: URIRef, triples: Iterable[Triple]) -> None:
        """Replace graph ``name`` with ``triples``, atomically: all of them or none."""

    def drop_graph(self, name: URIRef) -> None:
        """Remove one named graph (atomically)."""
        self._drop(name)

    def graph_sizes(self) -> list[tuple[URIRef, int]]:
        """Each named graph with its number of triples."""
        result = self.query(
            "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g"
        )
        return [(g, int(n)) for g, n in result.rows if not _is_hidden(g)]  # type: ignore[arg-type]

    def get_graph(self, name: URIRef) -> Graph:
        """A copy of one named graph in rdflib memory."""
        g = Graph()
        for prefix, ns in PREFIXES.items():
            g.bind(prefix, ns)
        for t in self.graph_triples(name):
            g.add(t)
        return g

    def union_graph(self, names: Sequence[URIRef] | None = None) -> Graph:
        """A copy of several named graphs (default: all) merged into one rdflib memory graph."""
        g = Graph()
        for prefix, ns in PREFIXES.items():
            g.bind(prefix, ns)
        for name in names if names is not None else self.graph_names():
            for t in self.graph_triples(name):
                g.add(t)
        return g

    def cleanup_staging(self) -> int:
        """Drop staging graphs left behind by a load that was killed; returns how many."""
        left = [g for g in self._all_graph_names() if _is_staging(g)]
        for g in left:
            self._drop(g)
        return len(left)

    def ensure_ontology(self) -> None:
        """Load the vocabulary into its own graph when it is missing or out of date."""
        current = ontology_graph()
        stored = set(self.graph_triples(ONTOLOGY_GRAPH)) if ONTOLOGY_GRAPH in self.graph_names() else set()
        if len(stored) != len(current) or any(t not in current for t in stored):
            self.replace_graph(ONTOLOGY_GRAPH, current)


# ---------------------------------------------------------------------- Oxigraph


def _to_ox(term: Node):  # noqa: ANN202 - pyoxigraph types
    import pyoxigraph as ox

    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"cannot store {term!r}")


_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def _from_ox(term) -> Node | None:  # noqa: ANN001
    import pyoxigraph as ox

    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        dt = term.datatype.value
        # Oxigraph types every plain literal xsd:string; give rdflib a plain literal so that
        # comparisons with plain strings (sh:in lists, tests) behave as they do in memory.
        return Literal(term.value) if dt == _XSD_STRING else Literal(term.value, datatype=URIRef(dt))
    if isinstance(term, ox.DefaultGraph):
        return None
    raise TypeError(f"unexpected term from Oxigraph: {term!r}")


class _StagedReplace:
    """Atomic graph replacement for stores that speak SPARQL Update.

    The triples are written into a fresh staging graph; only when that is complete does one
    transactional ``MOVE`` put them in place. An exception (or a kill) before the move leaves
    the old graph untouched and at most a staging graph, which the next open removes."""

    def replace_graph(self, name: URIRef, triples: Iterable[Triple]) -> None:
        staging = URIRef(f"{STAGING_PREFIX}{uuid.uuid4().hex}")
        try:
            self._write_staging(staging, triples)  # type: ignore[attr-defined]
        except BaseException:
            self._drop(staging)  # type: ignore[attr-defined]
            raise
        self.update(f"MOVE SILENT <{staging}> TO <{name}>")  # type: ignore[attr-defined]


class OxigraphStore(_StagedReplace, Store):
    """The embedded default: an on-disk Oxigraph (RocksDB) database, queried natively."""

    def __init__(self, path: str | None, *, read_only: bool = False) -> None:
        import pyoxigraph as ox

        self.path = path
        self.read_only = read_only
        self.url = f"oxigraph:{path}" if path else "oxigraph:"
        try:
            if path is None:
                self._ox = ox.Store()
            elif read_only:
                if not Path(path).exists():
                    raise StoreError(f"no store at {path}: load data first (partnergraph load, or partnergraph demo)")
                self._ox = ox.Store.read_only(path)
            else:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                self._ox = ox.Store(path)
        except OSError as exc:
            message = str(exc)
            if "lock" in message.lower():
                raise StoreError(
                    f"the store at {path} is in use by another partnergraph process "
                    "(is 'partnergraph serve' running?); stop it or use another --store"
                ) from exc
            raise StoreError(f"cannot open the store at {path}: {message}") from exc
        self._lock = threading.RLock()
        self._dataset: Dataset | None = None
        self._graphs: list | None = None

    # Default graph of every query: the store's default graph plus each named graph that is
    # not hidden (staging, pending proposals); GRAPH ?g sees the same graphs. Computed per query
    # (cheap: a scan of graph names).
    def _visible_named_graphs(self) -> list:
        # Cached: listing graph names scans the graph index, tombstones included (9 ms at 100k
        # triples after a staging graph was dropped, every query). Only this process can write
        # (RocksDB's lock; a read-only open sees the state at opening), so own writes invalidate it.
        if self._graphs is None:
            self._graphs = [g for g in self._ox.named_graphs() if not _is_hidden(g.value)]
        return self._graphs

    def query(self, text: str) -> QueryResult:
        import pyoxigraph as ox

        check_service(text, self.allowed_service_hosts)
        try:
            visible = self._visible_named_graphs()
            result = self._ox.query(text, default_graph=[ox.DefaultGraph(), *visible], named_graphs=visible)
        except SyntaxError as exc:
            raise UserError(f"SPARQL syntax error: {exc}") from exc
        except (OSError, ValueError, RuntimeError) as exc:
            raise UserError(f"query failed: {exc}") from exc
        if isinstance(result, ox.QueryBoolean):
            return QueryResult("ASK", boolean=bool(result))
        if isinstance(result, ox.QuerySolutions):
            variables = [v.value for v in result.variables]
            width = len(variables)
            rows = [tuple(_from_ox(sol[i]) for i in range(width)) for sol in result]
            return QueryResult("SELECT", variables=variables, rows=rows)
        g = Graph()
        for prefix, ns in PREFIXES.items():
            g.bind(prefix, ns)
        for t in result:
            g.add((_from_ox(t.subject), _from_ox(t.predicate), _from_ox(t.object)))  # type: ignore[arg-type]
        return QueryResult("CONSTRUCT", graph=g)

    def update(self, text: str) -> None:
        if self.read_only:
            raise StoreError("the store is open read-only")
        check_service(text, self.allowed_service_hosts)
        try:
            with self._lock:
                self._graphs = None
                self.generation += 1
                self._ox.update(text)
                self._graphs = None
        except SyntaxError as exc:
            raise UserError(f"SPARQL update syntax error: {exc}") from exc

    def graph_names(self) -> list[URIRef]:
        return [URIRef(g.value) for g in self._visible_named_graphs()]

    def _all_graph_names(self) -> list[URIRef]:
        return [URIRef(g.value) for g in self._ox.named_graphs()]

    def graph_triples(self, name: URIRef) -> Iterator[Triple]:
        import pyoxigraph as ox

        for q in self._ox.quads_for_pattern(None, None, None, ox.NamedNode(str(name))):
            yield (_from_ox(q.subject), _from_ox(q.predicate), _from_ox(q.object))  # type: ignore[misc]

    def _write_staging(self, staging: URIRef, triples: Iterable[Triple]) -> None:
        import pyoxigraph as ox

        if self.read_only:
            raise StoreError("the store is open read-only")
        self._graphs = None
        g = ox.NamedNode(str(staging))
        batch: list = []
        for s, p, o in triples:
            batch.append(ox.Quad(_to_ox(s), _to_ox(p), _to_ox(o), g))
            if len(batch) >= 100_000:
                self._ox.extend(batch)
                batch = []
        if batch:
            self._ox.extend(batch)

    def _drop(self, name: URIRef) -> None:
        self.update(f"DROP SILENT GRAPH <{name}>")

    def replace_graph_from_file(self, name: URIRef, path: str, fmt: str = "nt") -> None:
        """Replace a graph with a file parsed natively by Oxigraph (the fast path for big files),
        through a staging graph like replace_graph. No integrity check: for trusted bulk data."""
        import pyoxigraph as ox

        formats = {"nt": ox.RdfFormat.N_TRIPLES, "ttl": ox.RdfFormat.TURTLE}
        staging = URIRef(f"{STAGING_PREFIX}{uuid.uuid4().hex}")
        self._graphs = None
        try:
            self._ox.bulk_load(path=path, format=formats[fmt], to_graph=ox.NamedNode(str(staging)))
        except BaseException:
            self._drop(staging)
            raise
        self.update(f"MOVE SILENT <{staging}> TO <{name}>")
        # Compact now rather than leave RocksDB to do it in the background while queries run.
        self._ox.optimize()

    @property
    def dataset(self) -> Dataset:
        """An rdflib Dataset over the same Oxigraph store (SPARQL still runs natively)."""
        if self._dataset is None:
            from oxrdflib import OxigraphStore as OxRdflibStore

            self._dataset = Dataset(store=OxRdflibStore(store=self._ox), default_union=True)
        return self._dataset

    def flush(self) -> None:
        if not self.read_only and self.path:
            self._ox.flush()

    def close(self) -> None:
        if getattr(self, "_ox", None) is not None:
            self.flush()
            self._dataset = None
            del self._ox
            self._ox = None  # type: ignore[assignment]


# ---------------------------------------------------------------------- rdflib memory


class MemoryStore(Store):
    """rdflib's in-memory Dataset; SPARQL by rdflib's own engine (slow, but needs nothing)."""

    def __init__(self) -> None:
        self.url = "memory:"
        self._ds = Dataset(default_union=True)
        for prefix, ns in PREFIXES.items():
            self._ds.bind(prefix, ns)
        self._lock = threading.RLock()

    def _visible(self) -> Dataset:
        """The dataset queries read: every graph but pending proposals (staging graphs exist only
        inside replace_graph, under the lock, so readers never see one)."""
        hidden = [g for g in self._ds.graphs() if _is_hidden(g.identifier)]
        if not hidden:
            return self._ds
        view = Dataset(default_union=True)
        for prefix, ns in PREFIXES.items():
            view.bind(prefix, ns)
        for g in self._ds.graphs():
            if not _is_hidden(g.identifier) and isinstance(g.identifier, URIRef):
                target = view.graph(g.identifier)
                for t in g:
                    target.add(t)
        return view

    def query(self, text: str) -> QueryResult:
        from pyparsing import ParseException

        check_service(text, self.allowed_service_hosts)
        try:
            with self._lock:
                result = self._visible().query(text)
                if result.type == "ASK":
                    return QueryResult("ASK", boolean=bool(result.askAnswer))
                if result.type == "SELECT":
                    variables = [str(v) for v in result.vars]
                    rows = [tuple(row) for row in result]
                    return QueryResult("SELECT", variables=variables, rows=rows)  # type: ignore[arg-type]
                g = Graph()
                for t in result.graph:  # type: ignore[union-attr]
                    g.add(t)
                return QueryResult("CONSTRUCT", graph=g)
        except ParseException as exc:
            raise UserError(f"SPARQL syntax error: {exc}") from exc
        except Exception as exc:  # rdflib raises many kinds for bad queries
            raise UserError(f"query failed: {exc}") from exc

    def update(self, text: str) -> None:
        from pyparsing import ParseException

        check_service(text, self.allowed_service_hosts)
        try:
            with self._lock:
                self.generation += 1
                self._ds.update(text)  # on the full dataset: updates may touch pending graphs
        except ParseException as exc:
            raise UserError(f"SPARQL update syntax error: {exc}") from exc

    def replace_graph(self, name: URIRef, triples: Iterable[Triple]) -> None:
        new = Graph()
        for t in triples:  # everything is parsed before anything is touched
            new.add(t)
        with self._lock:
            self.generation += 1
            self._ds.remove_graph(self._ds.graph(name))
            target = self._ds.graph(name)
            for t in new:
                target.add(t)

    def _all_graph_names(self) -> list[URIRef]:
        return [g.identifier for g in self._ds.graphs() if isinstance(g.identifier, URIRef)
                and str(g.identifier) != "urn:x-rdflib:default" and len(g) > 0]  # type: ignore[misc]

    def graph_names(self) -> list[URIRef]:
        return [g for g in self._all_graph_names() if not _is_hidden(g)]

    def graph_triples(self, name: URIRef) -> Iterator[Triple]:
        yield from self._ds.graph(name).triples((None, None, None))

    def _drop(self, name: URIRef) -> None:
        with self._lock:
            self.generation += 1
            self._ds.remove_graph(self._ds.graph(name))

    @property
    def dataset(self) -> Dataset:
        return self._ds


# ---------------------------------------------------------------------- opening by URL


def open_store(url: str | None = None, *, read_only: bool = False, init: bool = True) -> Store:
    """Open the store named by ``url`` (default: ``$PARTNERGRAPH_STORE`` or the embedded store).

    A writable store is tidied on open: staging graphs left by a killed load are dropped and the
    vocabulary graph is brought up to date."""
    url = url or os.environ.get("PARTNERGRAPH_STORE") or DEFAULT_STORE_URL
    scheme, _, rest = url.partition(":")
    if scheme == "memory":
        store: Store = MemoryStore()
    elif scheme == "oxigraph":
        store = OxigraphStore(rest or None, read_only=read_only)
    elif scheme == "sparql":
        from partnergraph.store_sparql import SparqlStore, parse_sparql_url

        store = SparqlStore(*parse_sparql_url(rest), read_only=read_only)
    else:
        raise UserError(
            f"unknown store URL {url!r}: use oxigraph:PATH (the embedded default), memory:, "
            "or sparql:QUERY_URL[ UPDATE_URL] (any SPARQL 1.1 server)"
        )
    if init and not read_only:
        try:
            store.cleanup_staging()
            store.ensure_ontology()
        except Exception:
            store.close()
            raise
    return store
