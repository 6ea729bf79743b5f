"""Open a store by URL and give the rest of the code one object over it.

| URL               | backend                                                         |
|-------------------|-----------------------------------------------------------------|
| ``oxigraph:PATH`` | embedded on-disk Oxigraph (the default, ``./.partnergraph/store``) |
| ``memory:``       | rdflib in memory, for tests and throw-away runs                 |

Every store keeps one named graph per source. ``replace_graph`` is atomic: a load that fails or
is killed leaves the previous graph exactly as it was, and readers never see a mix. On disk, the
embedded store writes straight into the database under a snapshot and a marker that undoes an
unfinished replace (see ``_Snapshots``); the in-memory and remote stores write into a hidden staging
graph and swap it in with one ``MOVE`` (staging graphs are never part of what queries read).

SPARQL is evaluated natively by Oxigraph for the embedded store (rdflib's own engine is the
baseline we measure against); ``store.dataset`` gives an rdflib ``Dataset`` view for code that
wants rdflib's API (pyshacl, serializers).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import re
import threading
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence
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
    from pyparsing import ParseResults
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
        elif isinstance(node, (list, tuple, ParseResults)):
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
    #: Whether a large set of bindings is best handed to a query as a sub-select joined on its
    #: variable rather than a VALUES block: Oxigraph joins a sub-select by hash, and a VALUES block
    #: row by row with anything but a basic pattern. rdflib joins sub-selects pair by pair, and
    #: Virtuoso 7.2 answers some such joins wrongly: they keep VALUES.
    joins_subselects_by_hash: bool = False

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

    @abstractmethod
    def replace_graphs(self, graphs: dict[URIRef, Iterable[Triple]], drop: Sequence[URIRef] = ()) -> None:
        """Replace several graphs and drop the graphs in ``drop``, as one atomic change."""

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

    # ------------------------------------------------------------------ derived values

    #: At most this many derived values are kept in memory per store object, and this many bytes.
    _DERIVED_ENTRIES = 256
    _DERIVED_BYTES = 64 << 20

    def _derived_version(self) -> tuple[object, Path | None]:
        """The version of the data that derived values are keyed on, and the folder they persist
        in for other processes (None: kept in this process only)."""
        return (self.generation, None)

    def derived(self, key: str, compute: Callable[[], Any]) -> Any:
        """A JSON value derived from the data (goal progress, an explanation, the ranking),
        computed once per version of the data and key, then answered from memory — and, for an
        on-disk store, from a file beside the published snapshot, so that the next process reading
        the same data does not compute it again. A write makes a new version; a value is only
        kept if the data did not change while it was computed. Each call returns a fresh copy."""
        import json

        version, folder = self._derived_version()
        memo_key = (version, key)
        with _DERIVED_LOCK:
            memo = self.__dict__.setdefault("_derived_memo", {})
            text = memo.pop(memo_key, None)
            if text is not None:
                memo[memo_key] = text  # most recently used last
                return json.loads(text)
        path = folder / (hashlib.sha256(key.encode("utf-8")).hexdigest()[:40] + ".json") if folder is not None else None
        if path is not None:
            text = _read_derived(path, key)
        if text is None:
            # One computation per value at a time: a caller that finds it under way (another
            # thread, or another process reading the same snapshot: the web processes, the
            # server's warmer, a CLI call) waits for it and reads its result instead of computing
            # the same answer beside it on the same cores.
            with _derived_flight(memo_key, path):
                with _DERIVED_LOCK:
                    text = memo.get(memo_key)
                if text is None and path is not None:
                    text = _read_derived(path, key)
                if text is None:
                    value = compute()
                    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
                    if self._derived_version()[0] != version:
                        return json.loads(text)  # the data changed meanwhile: right for the caller, not kept
                    if path is not None:
                        _write_derived(path, key, text)
        with _DERIVED_LOCK:
            memo[memo_key] = text
            total = sum(len(t) for t in memo.values())
            while memo and (len(memo) > self._DERIVED_ENTRIES or total > self._DERIVED_BYTES):
                total -= len(memo.pop(next(iter(memo))))
        return json.loads(text)

    def ensure_ontology(self) -> None:
        """Load the vocabulary into its own graph when it is missing or out of date."""
        current = ontology_graph()
        stored = set(self.graph_triples(ONTOLOGY_GRAPH)) if ONTOLOGY_GRAPH in self.graph_names() else set()
        # Compared by value: servers normalize literals (Virtuoso answers "3"^^xsd:decimal for "3.0").
        wanted = {_value_key(t) for t in current}
        if len(stored) != len(current) or any(_value_key(t) not in wanted for t in stored):
            if self.read_only:
                return  # a read-only store is read as it is; the next writer brings the vocabulary up to date
            self.replace_graph(ONTOLOGY_GRAPH, current)


_DERIVED_LOCK = threading.Lock()
#: Files of derived values kept per published snapshot (the oldest go first).
_DERIVED_FILES = 512


_DERIVED_FLIGHTS: dict[tuple, list] = {}  # memo key -> [lock, holders]; under _DERIVED_LOCK


def _read_derived(path: Path, key: str) -> str | None:
    """A persisted derived value, as JSON text; None when absent or unreadable (half-written by a
    process that was killed, or another key's: computed again)."""
    import json

    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(saved, dict) and saved.get("key") == key and "value" in saved:
        return json.dumps(saved["value"], ensure_ascii=False, separators=(",", ":"))
    return None


@contextlib.contextmanager
def _derived_flight(memo_key: tuple, path: Path | None):  # noqa: ANN202
    """Hold the right to compute one derived value: a lock per value among this process's threads
    and, where the value persists beside a snapshot, an advisory file lock (``fcntl.flock``, freed
    by the kernel if its holder dies) among the processes reading that snapshot."""
    with _DERIVED_LOCK:
        entry = _DERIVED_FLIGHTS.setdefault(memo_key, [threading.Lock(), 0])
        entry[1] += 1
    try:
        with entry[0]:
            handle = None
            if path is not None:
                try:
                    import fcntl

                    path.parent.mkdir(parents=True, exist_ok=True)
                    handle = open(path.with_suffix(".lock"), "a+b")  # noqa: SIM115 - held across the yield
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                except (OSError, ImportError):
                    if handle is not None:
                        handle.close()
                    handle = None  # a folder that cannot be written: this process alone is kept in step
            try:
                yield
            finally:
                if handle is not None:
                    handle.close()  # closing frees the lock
    finally:
        with _DERIVED_LOCK:
            entry[1] -= 1
            if entry[1] == 0:
                _DERIVED_FLIGHTS.pop(memo_key, None)


def _write_derived(path: Path, key: str, text: str) -> None:
    """Persist one derived value: written aside, then renamed in (readers never see half a file);
    a folder that cannot be written (a store on read-only media) only means no persistence."""
    import json

    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "w", encoding="utf-8") as f:
            f.write('{"key":' + json.dumps(key, ensure_ascii=False) + ',"value":')
            f.write(text)
            f.write("}")
        os.replace(tmp, path)
        files = sorted(path.parent.glob("*.json"), key=lambda p: p.stat().st_mtime)
        for old in files[: max(0, len(files) - _DERIVED_FILES)]:
            old.unlink(missing_ok=True)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _value_key(triple: tuple) -> tuple:
    """A triple with a typed literal object as its value and datatype: equal values, equal keys."""
    s, p, o = triple
    if isinstance(o, Literal) and o.datatype is not None and o.value is not None:
        return s, p, ("literal", o.value, o.datatype)
    return s, p, o


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


def pause_point(name: str) -> None:
    """A named point where a test can freeze a write (``PARTNERGRAPH_PAUSE_AT=name``) to kill it
    exactly there; nothing happens otherwise."""
    if os.environ.get("PARTNERGRAPH_PAUSE_AT") == name:
        import sys
        import time

        print(f"partnergraph: paused at {name}", file=sys.stderr, flush=True)
        time.sleep(3600)


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
        pause_point("staging-written")
        self.update(f"MOVE SILENT <{staging}> TO <{name}>")  # type: ignore[attr-defined]

    def replace_graphs(self, graphs: dict[URIRef, Iterable[Triple]], drop: Sequence[URIRef] = ()) -> None:
        """Replace several graphs and drop others, all at once: every graph is staged first, then
        one update request swaps them all in (one transaction), so a restore is whole or absent."""
        staged: dict[URIRef, URIRef] = {}
        try:
            for name, triples in graphs.items():
                staged[name] = URIRef(f"{STAGING_PREFIX}{uuid.uuid4().hex}")
                self._write_staging(staged[name], triples)  # type: ignore[attr-defined]
        except BaseException:
            for staging in staged.values():
                self._drop(staging)  # type: ignore[attr-defined]
            raise
        pause_point("staging-written")
        ops = [f"MOVE SILENT <{staging}> TO <{name}>" for name, staging in staged.items()]
        ops += [f"DROP SILENT GRAPH <{name}>" for name in drop if name not in staged]
        if ops:
            self.update(" ;\n".join(ops))  # type: ignore[attr-defined]


class _VisibleGraphs(list):
    """The named graphs queries see; ``everything`` when no graph of the store is hidden."""

    def __init__(self, named_graphs) -> None:  # noqa: ANN001
        everything = True
        visible = []
        for g in named_graphs:
            if _is_hidden(g.value):
                everything = False
            else:
                visible.append(g)
        super().__init__(visible)
        self.everything = everything


class _Snapshot:
    """One published snapshot, open read-only, shared by the queries running on it."""

    def __init__(self, number: int, ox_store, lock_file) -> None:  # noqa: ANN001
        self.number = number
        self.ox = ox_store
        self.lock_file = lock_file
        self.refs = 0
        self.stale = False
        self.graphs: list | None = None

    def close(self) -> None:
        self.ox = None
        if self.lock_file is not None:
            self.lock_file.close()  # releases the shared lock: the writer may now delete it
            self.lock_file = None


class _Snapshots:
    """Read-only snapshots of an on-disk store, beside it in ``PATH.snapshots/``.

    RocksDB lets one process write; opening the same files read-only while it writes is undefined
    behaviour. So every write session ends by publishing a checkpoint (``Store.backup``: hard
    links, cheap) as ``gen-N``, and pointing ``CURRENT`` at it with an atomic rename. Readers —
    ``partnergraph serve``, ``rank``, ``query`` in other processes — open the newest snapshot and
    move to the next one when ``CURRENT`` changes: they see the old data or the new, never a mix,
    and never wait for a load. A snapshot is deleted only when no reader holds its lock file.
    A ``DIRTY`` marker says that the primary was written since the last snapshot (a writer killed
    before publishing): the next writer publishes."""

    def __init__(self, path: str) -> None:
        self.dir = Path(f"{path}.snapshots")

    def number(self) -> int | None:
        try:
            text = (self.dir / "CURRENT").read_text().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    @property
    def dirty_marker(self) -> Path:
        return self.dir / "DIRTY"

    def mark_dirty(self) -> None:
        if not self.dirty_marker.exists():
            self.dir.mkdir(parents=True, exist_ok=True)
            self.dirty_marker.touch()

    def publish(self, primary, point: str = "snapshot-written") -> int:  # noqa: ANN001
        """Checkpoint the primary (held open for writing by the caller) as the newest snapshot."""
        import shutil

        self.dir.mkdir(parents=True, exist_ok=True)
        number = (self.number() or 0) + 1
        tmp = self.dir / f"tmp-{uuid.uuid4().hex}"
        primary.backup(str(tmp))
        pause_point(point)
        os.rename(tmp, self.dir / f"gen-{number}")
        pointer = self.dir / f"CURRENT.{uuid.uuid4().hex}"
        pointer.write_text(f"{number}\n")
        os.replace(pointer, self.dir / "CURRENT")
        self.dirty_marker.unlink(missing_ok=True)
        self.prune(number, shutil.rmtree)
        return number

    def prune(self, keep: int, rmtree) -> None:  # noqa: ANN001
        import fcntl

        derived = self.dir / "derived"
        if derived.is_dir():  # values derived from older snapshots (Store.derived)
            for entry in derived.iterdir():
                if entry.name != f"gen-{keep}":
                    rmtree(entry, ignore_errors=True)
        for entry in self.dir.iterdir():
            name = entry.name
            if name.startswith("tmp-") or (name.startswith("gen-") and not name.endswith(".lock") and name != f"gen-{keep}"):
                lock_path = self.dir / f"{name}.lock"
                with open(lock_path, "a") as lock:
                    try:
                        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except OSError:
                        continue  # a reader still has it open
                    rmtree(entry, ignore_errors=True)
                    lock_path.unlink(missing_ok=True)
            elif name.endswith(".lock") and not (self.dir / name[: -len(".lock")]).exists():
                lock_path = entry
                with open(lock_path, "a") as lock:
                    try:
                        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    except OSError:
                        continue
                    lock_path.unlink(missing_ok=True)

    # A bulk replace writes straight into the primary (no staging copy, no transaction: the
    # bulk loader and quad-by-quad removal keep memory flat whatever the graph's size). Before it
    # starts, the primary is published as a snapshot and REPLACING names that snapshot and the
    # graphs being rewritten; it is removed only once they are complete and on disk. A writer
    # that finds it (an exception, or a process killed in the middle) puts those graphs back
    # from the snapshot: the previous version, exactly.

    @property
    def replace_marker(self) -> Path:
        return self.dir / "REPLACING"

    def begin_replace(self, number: int, names: Sequence[URIRef]) -> None:
        import json

        tmp = self.dir / f"REPLACING.{uuid.uuid4().hex}"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"snapshot": number, "graphs": [str(n) for n in names]}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.replace_marker)
        _fsync_dir(self.dir)

    def end_replace(self) -> None:
        self.replace_marker.unlink(missing_ok=True)
        _fsync_dir(self.dir)

    def recover(self, primary) -> bool:  # noqa: ANN001
        """Undo a bulk replace that did not finish; True when there was one."""
        import fcntl
        import json

        import pyoxigraph as ox

        try:
            marker = json.loads(self.replace_marker.read_text(encoding="utf-8"))
            number, names = int(marker["snapshot"]), [str(n) for n in marker["graphs"]]
        except FileNotFoundError:
            return False
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"cannot read {self.replace_marker} (left by an interrupted load): {exc}") from exc
        target = self.dir / f"gen-{number}"
        with open(self.dir / f"gen-{number}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_SH)  # kept from pruning while we read it
            try:
                snapshot = ox.Store.read_only(str(target))
            except OSError as exc:
                raise StoreError(
                    f"an interrupted load left {self.replace_marker}, but its snapshot {target} cannot be read: {exc}"
                ) from exc
            for name in names:
                graph = ox.NamedNode(name)
                _clear_graph(primary, graph)
                quads = snapshot.quads_for_pattern(None, None, None, graph)
                while batch := list(itertools.islice(quads, _BULK_SLICE_QUADS)):
                    primary.bulk_extend(batch)
                if snapshot.contains_named_graph(graph):
                    primary.add_graph(graph)
            del snapshot
        primary.flush()
        self.end_replace()
        return True

    def open_latest(self) -> _Snapshot | None:
        import fcntl

        import pyoxigraph as ox

        for _ in range(20):
            number = self.number()
            if number is None:
                return None
            lock = open(self.dir / f"gen-{number}.lock", "a")  # noqa: SIM115 - held while the snapshot is open
            fcntl.flock(lock, fcntl.LOCK_SH)
            target = self.dir / f"gen-{number}"
            if target.is_dir():
                try:
                    return _Snapshot(number, ox.Store.read_only(str(target)), lock)
                except OSError:
                    pass
            lock.close()  # deleted between reading CURRENT and locking it: read CURRENT again
        raise StoreError(f"cannot open a snapshot of the store in {self.dir}")


#: How much of an N-Triples file goes to Oxigraph's bulk loader at a time (about 50,000 triples).
_BULK_SLICE_BYTES = 8 * 1024 * 1024
_BULK_SLICE_QUADS = 50_000


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _clear_graph(primary, graph) -> None:  # noqa: ANN001
    """Empty one graph quad by quad. ``clear_graph`` and ``DROP`` are one transaction, which holds
    every removed quad in memory (1.6 GB for a million); one removal at a time stays flat, and the
    iterator reads a consistent view while we remove."""
    for quad in primary.quads_for_pattern(None, None, None, graph):
        primary.remove(quad)
    primary.remove_graph(graph)  # the name itself (empty now: cheap)


def _open_primary(path: str, wait: float):  # noqa: ANN202
    """Open the RocksDB database for writing, waiting up to ``wait`` seconds for another writer."""
    import time

    import pyoxigraph as ox

    deadline = time.monotonic() + wait
    while True:
        try:
            return ox.Store(path)
        except OSError as exc:
            message = str(exc)
            if "lock" not in message.lower():
                raise StoreError(f"cannot open the store at {path}: {message}") from exc
            if time.monotonic() >= deadline:
                raise StoreError(
                    f"the store at {path} is being written by another partnergraph process (a load?); "
                    "try again when it has finished"
                ) from exc
            time.sleep(0.1)


class OxigraphStore(_StagedReplace, Store):
    """The embedded default: an on-disk Oxigraph (RocksDB) database, queried natively.

    Three ways to open it: writable (one process at a time: load, propose, review), read-only
    (reads the newest snapshot: rank, query, validate, never blocked by a load), and shared
    (``partnergraph serve``: reads the newest snapshot, and opens the database for writing only
    for the moment of a write, so that a load in another process can run while it serves)."""

    joins_subselects_by_hash = True

    def __init__(self, path: str | None, *, read_only: bool = False, shared: bool = False) -> None:
        import pyoxigraph as ox

        self.path = path
        self.read_only = read_only
        self.shared = shared and not read_only and path is not None
        self.url = f"oxigraph:{path}" if path else "oxigraph:"
        self._lock = threading.RLock()
        self._dataset: Dataset | None = None
        self._graphs: list | None = None
        self._writes = 0
        self._snap: _Snapshot | None = None
        self._snaps = _Snapshots(path) if path else None
        self._dirty = False
        self._ox = None
        self._wait = float(os.environ.get("PARTNERGRAPH_LOCK_WAIT", "10"))
        if path is None:
            self._ox = ox.Store()
        elif read_only or self.shared:
            if not Path(path).exists():
                if read_only:
                    raise StoreError(f"no store at {path}: load data first (partnergraph load, or partnergraph demo)")
                self._init_primary()
            elif self._snaps.number() is None:  # type: ignore[union-attr]
                if read_only:
                    # A store written before snapshots existed: read the database itself.
                    try:
                        self._ox = ox.Store.read_only(path)
                    except OSError as exc:
                        raise StoreError(f"cannot open the store at {path}: {exc}") from exc
                else:
                    self._init_primary()
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            self._ox = _open_primary(path, self._wait)
            self._snaps.recover(self._ox)  # type: ignore[union-attr]
            # A writer killed after writing but before publishing left the snapshot behind.
            self._dirty = self._snaps.dirty_marker.exists() or self._snaps.number() is None  # type: ignore[union-attr]

    def _init_primary(self) -> None:
        """Create the database and its first snapshot (a shared store opened on nothing)."""
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)  # type: ignore[arg-type]
        primary = _open_primary(self.path, self._wait)  # type: ignore[arg-type]
        try:
            self._snaps.recover(primary)  # type: ignore[union-attr]
            self._snaps.publish(primary)  # type: ignore[union-attr]
        finally:
            del primary

    # ------------------------------------------------------------------ sessions

    @property
    def _reads_snapshots(self) -> bool:
        return self._snaps is not None and self._ox is None

    @contextlib.contextmanager
    def _reading(self):  # noqa: ANN202
        """The Oxigraph store reads go to: the primary when this process holds it, else the newest snapshot."""
        if not self._reads_snapshots:
            yield self._ox, None
            return
        with self._lock:
            number = self._snaps.number()  # type: ignore[union-attr]
            if self._snap is None or (number is not None and number != self._snap.number):
                fresh = self._snaps.open_latest()  # type: ignore[union-attr]
                if fresh is None:
                    raise StoreError(f"no store at {self.path}: load data first")
                old, self._snap = self._snap, fresh
                if old is not None:
                    old.stale = True
                    if old.refs == 0:
                        old.close()
            snap = self._snap
            snap.refs += 1
        try:
            yield snap.ox, snap
        finally:
            with self._lock:
                snap.refs -= 1
                if snap.stale and snap.refs == 0:
                    snap.close()

    @contextlib.contextmanager
    def _writing(self):  # noqa: ANN202
        """The primary, for one write: held by a writable store, opened for the moment in a shared one."""
        if self.read_only:
            raise StoreError("the store is open read-only")
        with self._lock:
            self._graphs = None
            self._writes += 1
            if self._snaps is not None:
                self._snaps.mark_dirty()
            if not self.shared:
                self._dirty = True
                try:
                    yield self._ox
                finally:
                    self._graphs = None
                    self._writes += 1  # again at the end: nothing read during the write is taken as current
                return
            primary = _open_primary(self.path, self._wait)  # type: ignore[arg-type]
            try:
                self._snaps.recover(primary)  # type: ignore[union-attr]
                yield primary
                pause_point("before-publish")
                self._snaps.publish(primary)  # type: ignore[union-attr]
            finally:
                del primary

    @property
    def generation(self) -> int:  # type: ignore[override]
        """Own writes in a writable store; the snapshot number where reads go to snapshots, so that
        a web app notices a load made by another process."""
        if self._reads_snapshots:
            return self._snaps.number() or 0  # type: ignore[union-attr]
        return self._writes

    @generation.setter
    def generation(self, _value: int) -> None:
        pass

    def _derived_version(self) -> tuple[object, Path | None]:
        # A published snapshot never changes: values derived from snapshot N are kept beside it
        # (PATH.snapshots/derived/gen-N/) for every process that reads it. The primary, held for
        # writing, is this process's own: its values are kept in memory, per write.
        if self._reads_snapshots:
            number = self._snaps.number()  # type: ignore[union-attr]
            if number is not None:
                return (f"gen-{number}", self._snaps.dir / "derived" / f"gen-{number}")  # type: ignore[union-attr]
        return (f"own-{self._writes}", None)

    # Default graph of every query: the store's default graph plus each named graph that is
    # not hidden (staging, pending proposals); GRAPH ?g sees the same graphs.
    def _visible_named_graphs(self, ox_store, snap: _Snapshot | None) -> list:  # noqa: ANN001
        # Cached: listing graph names scans the graph index, tombstones included (9 ms at 100k
        # triples after a staging graph was dropped, every query). Own writes invalidate it; a
        # snapshot never changes.
        if snap is not None:
            if snap.graphs is None:
                snap.graphs = _VisibleGraphs(ox_store.named_graphs())
            return snap.graphs
        if self._graphs is None:
            self._graphs = _VisibleGraphs(ox_store.named_graphs())
        return self._graphs

    def query(self, text: str) -> QueryResult:
        import pyoxigraph as ox

        check_service(text, self.allowed_service_hosts)
        with self._reading() as (ox_store, snap):
            try:  # results are lazy: evaluation errors (a SERVICE call, say) come while reading them
                visible = self._visible_named_graphs(ox_store, snap)
                if visible.everything:
                    # Nothing hidden: the union flag names the same dataset, and Oxigraph reads it
                    # with one index lookup per pattern instead of one per graph (~30% faster).
                    result = ox_store.query(text, use_default_graph_as_union=True)
                else:
                    result = ox_store.query(text, default_graph=[ox.DefaultGraph(), *visible], named_graphs=visible)
                if isinstance(result, ox.QueryBoolean):
                    return QueryResult("ASK", boolean=bool(result))
                if isinstance(result, ox.QuerySolutions):
                    variables = [v.value for v in result.variables]
                    width = len(variables)
                    # Terms repeat across rows (labels, statuses, IRIs): each distinct one is made
                    # into an rdflib term once per result (rdflib's Literal() costs ~30 µs).
                    made: dict = {}

                    def term(t, made=made):  # noqa: ANN001, ANN202
                        if t is None:
                            return None
                        got = made.get(t)
                        if got is None:
                            got = made[t] = _from_ox(t)
                        return got

                    rows = [tuple(term(sol[i]) for i in range(width)) for sol in result]
                    return QueryResult("SELECT", variables=variables, rows=rows)
                g = Graph()
                for prefix, ns in PREFIXES.items():
                    g.bind(prefix, ns)
                for t in result:
                    g.add((_from_ox(t.subject), _from_ox(t.predicate), _from_ox(t.object)))  # type: ignore[arg-type]
                return QueryResult("CONSTRUCT", graph=g)
            except SyntaxError as exc:
                raise UserError(f"SPARQL syntax error: {exc}") from exc
            except (OSError, ValueError, RuntimeError) as exc:
                raise UserError(f"query failed: {exc}") from exc

    def update(self, text: str) -> None:
        if self.read_only:
            raise StoreError("the store is open read-only")
        check_service(text, self.allowed_service_hosts)
        try:
            with self._writing() as primary:
                primary.update(text)
        except SyntaxError as exc:
            raise UserError(f"SPARQL update syntax error: {exc}") from exc

    def graph_names(self) -> list[URIRef]:
        with self._reading() as (ox_store, snap):
            return [URIRef(g.value) for g in self._visible_named_graphs(ox_store, snap)]

    def _all_graph_names(self) -> list[URIRef]:
        with self._reading() as (ox_store, _snap):
            return [URIRef(g.value) for g in ox_store.named_graphs()]

    def graph_triples(self, name: URIRef) -> Iterator[Triple]:
        import pyoxigraph as ox

        with self._reading() as (ox_store, _snap):
            for q in ox_store.quads_for_pattern(None, None, None, ox.NamedNode(str(name))):
                yield (_from_ox(q.subject), _from_ox(q.predicate), _from_ox(q.object))  # type: ignore[misc]

    # ------------------------------------------------------------------ replacing graphs
    #
    # In memory (no path): a staging graph and one transactional MOVE, as on a remote store.
    # On disk: straight into the primary, guarded by the snapshot and the REPLACING marker (see
    # _Snapshots), so that memory stays flat and nothing is copied twice; readers in other
    # processes read snapshots and never see the graph half-written.

    def replace_graph(self, name: URIRef, triples: Iterable[Triple]) -> None:
        if self.path is None:
            _StagedReplace.replace_graph(self, name, triples)
        else:
            self._bulk_replace({name: self._triple_writer(triples)}, ())

    def replace_graphs(self, graphs: dict[URIRef, Iterable[Triple]], drop: Sequence[URIRef] = ()) -> None:
        if self.path is None:
            _StagedReplace.replace_graphs(self, graphs, drop)
        else:
            self._bulk_replace({name: self._triple_writer(t) for name, t in graphs.items()}, drop)

    def replace_graph_from_file(self, name: URIRef, path: str, fmt: str = "nt") -> None:
        """Replace a graph with a file parsed natively by Oxigraph (the fast path for big files).
        No integrity check: for trusted bulk data."""
        import pyoxigraph as ox

        formats = {"nt": ox.RdfFormat.N_TRIPLES, "ttl": ox.RdfFormat.TURTLE}

        def write(primary, graph) -> None:  # noqa: ANN001
            if fmt != "nt":
                primary.bulk_load(path=path, format=formats[fmt], to_graph=graph)
                return
            # N-Triples is one triple a line: fed to the bulk loader in slices, whose buffers then
            # stay the size of a slice (one call buffers up to a million quads a thread). Blank
            # node labels keep their names across slices.
            with open(path, "rb") as f:
                first = 1
                while True:
                    lines = f.readlines(_BULK_SLICE_BYTES)
                    if not lines:
                        break
                    try:
                        primary.bulk_load(b"".join(lines), formats[fmt], to_graph=graph)
                    except SyntaxError as exc:
                        raise SyntaxError(f"{path}, in lines {first}-{first + len(lines) - 1}: {exc}") from exc
                    first += len(lines)
                    pause_point("replace-batch")

        if self.path is None:
            staging = URIRef(f"{STAGING_PREFIX}{uuid.uuid4().hex}")
            try:
                with self._writing() as primary:
                    write(primary, ox.NamedNode(str(staging)))
            except BaseException:
                self._drop(staging)
                raise
            self.update(f"MOVE SILENT <{staging}> TO <{name}>")
        else:
            self._bulk_replace({name: write}, ())

    @staticmethod
    def _triple_writer(triples: Iterable[Triple]):  # noqa: ANN205
        import pyoxigraph as ox

        def write(primary, graph) -> None:  # noqa: ANN001
            # In slices, like the file path: the bulk loader's buffers stay the size of a slice.
            batch: list = []
            for s, p, o in triples:
                batch.append(ox.Quad(_to_ox(s), _to_ox(p), _to_ox(o), graph))
                if len(batch) >= _BULK_SLICE_QUADS:
                    primary.bulk_extend(batch)
                    batch = []
                    pause_point("replace-batch")
                elif len(batch) == 1000:
                    pause_point("replace-batch")  # some way into the first slice (small loads too)
            if batch:
                primary.bulk_extend(batch)

        return write

    def _bulk_replace(self, writers: dict, drop: Sequence[URIRef]) -> None:
        import pyoxigraph as ox

        names = list(writers) + [d for d in drop if d not in writers]
        if not names:
            return
        snaps: _Snapshots = self._snaps  # type: ignore[assignment]
        with self._writing() as primary:
            # The snapshot is the way back: it must hold exactly what the primary holds now.
            number = snaps.publish(primary, "base-snapshot-written")
            self._dirty = False
            snaps.begin_replace(number, names)
            try:
                for name in names:
                    _clear_graph(primary, ox.NamedNode(str(name)))
                pause_point("replace-cleared")
                for name, write in writers.items():
                    write(primary, ox.NamedNode(str(name)))
                primary.flush()
                pause_point("replace-written")
            except BaseException:
                snaps.recover(primary)
                raise
            finally:
                self._graphs = None
            snaps.mark_dirty()  # before the marker goes: a kill in between publishes the new graphs
            self._dirty = True
            snaps.end_replace()

    def _write_staging(self, staging: URIRef, triples: Iterable[Triple]) -> None:
        import pyoxigraph as ox

        with self._writing() as primary:
            g = ox.NamedNode(str(staging))
            batch: list = []
            for s, p, o in triples:
                batch.append(ox.Quad(_to_ox(s), _to_ox(p), _to_ox(o), g))
                if len(batch) >= 100_000:
                    primary.extend(batch)
                    batch = []
                    pause_point("staging-batch")
            if batch:
                primary.extend(batch)

    def _drop(self, name: URIRef) -> None:
        if self.path is None:
            self.update(f"DROP SILENT GRAPH <{name}>")
        else:
            self._bulk_replace({}, [name])

    @property
    def dataset(self) -> Dataset:
        """An rdflib Dataset over the same Oxigraph store (SPARQL still runs natively)."""
        if self._dataset is None:
            from oxrdflib import OxigraphStore as OxRdflibStore

            if self._ox is None:
                with self._reading() as (ox_store, _snap):
                    target = ox_store
            else:
                target = self._ox
            self._dataset = Dataset(store=OxRdflibStore(store=target), default_union=True)
        return self._dataset

    def flush(self) -> None:
        if self._ox is not None and not self.read_only and self.path:
            self._ox.flush()

    def publish(self) -> None:
        """Make this writer's changes visible to readers in other processes now."""
        if self._ox is not None and self._snaps is not None and not self.read_only and self._dirty:
            pause_point("before-publish")
            self._snaps.publish(self._ox)
            self._dirty = False

    def close(self) -> None:
        if self._ox is not None:
            self.flush()
            self.publish()
            self._dataset = None
            self._ox = None
        if self._snap is not None:
            with self._lock:
                self._snap.stale = True
                if self._snap.refs == 0:
                    self._snap.close()
                self._snap = None


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

    def replace_graphs(self, graphs: dict[URIRef, Iterable[Triple]], drop: Sequence[URIRef] = ()) -> None:
        """Replace several graphs and drop others under one lock (parsed completely first)."""
        new = {name: list(triples) for name, triples in graphs.items()}
        with self._lock:
            self.generation += 1
            for name in list(new) + [d for d in drop if d not in new]:
                self._ds.remove_graph(self._ds.graph(name))
            for name, triples in new.items():
                target = self._ds.graph(name)
                for t in triples:
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


def open_store(url: str | None = None, *, read_only: bool = False, init: bool = True, shared: bool = False) -> Store:
    """Open the store named by ``url`` (default: ``$PARTNERGRAPH_STORE`` or the embedded store).

    A writable store is tidied on open: staging graphs left by a killed load are dropped and the
    vocabulary graph is brought up to date. ``shared``: a long-running process that reads and
    writes now and then (``partnergraph serve``) without keeping other writers out."""
    url = url or os.environ.get("PARTNERGRAPH_STORE") or DEFAULT_STORE_URL
    scheme, _, rest = url.partition(":")
    if scheme == "memory":
        store: Store = MemoryStore()
    elif scheme == "oxigraph":
        store = OxigraphStore(rest or None, read_only=read_only, shared=shared)
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
