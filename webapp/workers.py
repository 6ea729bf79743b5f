"""A pool of worker processes that evaluate SPARQL queries and can be killed at a time limit.

pyoxigraph cannot interrupt a query running in a thread: a thread stuck in a pathological
query would hold its CPU and its answer slot until the query ends, however long. So the endpoint
evaluates queries in separate processes, each with its own read-only view of the on-disk store
(RocksDB lets read-only opens sit beside the web process's writable one). A query past its time
limit gets its worker killed (SIGKILL) and answered with an error; a fresh worker is started in
the background and the others go on answering. A read-only open sees the store as it was when it
opened, so the web process sends its write generation with every job, and a worker reopens when
the generation moved.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import threading
import time
from multiprocessing.connection import Connection
from typing import Any

from partnergraph.webapp.results import Answer


def _visible_graphs(ox_store):  # noqa: ANN001, ANN202
    from partnergraph.store import _is_hidden

    return [g for g in ox_store.named_graphs() if not _is_hidden(g.value)]


def _dataset(ox_store, visible, default_uris, named_uris):  # noqa: ANN001, ANN202
    """The query's dataset: the protocol's graph IRIs when given (hidden graphs stay hidden),
    else every visible graph as the default graph (union) and as named graphs."""
    import pyoxigraph as ox

    if default_uris is None and named_uris is None:
        return [ox.DefaultGraph(), *visible], visible
    names = {g.value for g in visible}
    default = [ox.NamedNode(u) for u in default_uris or [] if u in names] or [ox.NamedNode("urn:x-partnergraph:empty")]
    named = [ox.NamedNode(u) for u in named_uris or [] if u in names]
    return default, named


def _worker_main(conn: Connection, path: str) -> None:
    """Serve jobs from the pool until told to stop (None) or killed."""
    import signal

    import pyoxigraph as ox

    # Ctrl-C in a terminal reaches the whole process group: the server stops its workers itself,
    # and a worker must not print a KeyboardInterrupt traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    from partnergraph.webapp.results import evaluate_oxigraph

    store = None
    visible: list = []
    generation = None
    try:
        conn.send("ready")  # imports done: the pool hands out this worker only now
    except OSError:  # the server stopped while this worker was starting: nothing to say
        return

    def reopen() -> str | None:
        # A read-only RocksDB open races with the web process's own flushes and compactions
        # (a file listed in the manifest may be gone a moment later): retry a few times.
        nonlocal store, visible
        store = None
        problem = None
        for attempt in range(5):
            try:
                store = ox.Store.read_only(path)
                visible = _visible_graphs(store)
                return None
            except (OSError, RuntimeError) as exc:  # pyoxigraph says "Corruption: … No such file" as RuntimeError
                problem = str(exc)
                time.sleep(0.05 * (attempt + 1))
        return problem

    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        job, gen = message
        if gen != generation or store is None:
            problem = reopen()
            if problem is not None:
                conn.send(Answer(status=503, message=f"the store cannot be read: {problem}"))
                continue
            generation = gen
        default, named = _dataset(store, visible, job["default"], job["named"])
        answer = evaluate_oxigraph(store, job["query"], default, named, job["format"], job["cap"])
        if answer.status == 500 and reopen() is None:  # a read error: once more on a fresh view
            default, named = _dataset(store, visible, job["default"], job["named"])
            answer = evaluate_oxigraph(store, job["query"], default, named, job["format"], job["cap"])
        conn.send(answer)


class _Worker:
    def __init__(self, ctx, path: str) -> None:  # noqa: ANN001
        self.generation: Any = None  # the store generation of its last answer (None: not opened yet)
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_worker_main, args=(child, path), daemon=True, name="partnergraph-sparql")
        self.process.start()
        child.close()

    def wait_ready(self, seconds: float = 120) -> bool:
        """Wait for the worker's "ready" (a new Python process takes a second or more to start)."""
        try:
            return self.conn.poll(seconds) and self.conn.recv() == "ready"
        except (EOFError, OSError):
            return False

    def kill(self) -> None:
        try:
            self.process.kill()
        except (OSError, AttributeError):
            pass
        self.conn.close()
        self.process.join(5)


class WorkerPool:
    """``size`` worker processes over the store at ``path``; ``run`` gives each job to a free one."""

    def __init__(self, path: str, size: int, generation: Any = None) -> None:
        self.path = path
        self.size = size
        # Never a plain fork of this process (it holds threads and RocksDB). A fork server is a clean
        # process started once with pyoxigraph imported: a replacement worker is ready in ~20 ms
        # instead of the ~0.5 s (more on a busy machine) a spawned Python process takes.
        if "forkserver" in mp.get_all_start_methods():
            self._ctx = mp.get_context("forkserver")
            self._ctx.set_forkserver_preload(["pyoxigraph", "partnergraph.store", "partnergraph.webapp.results",
                                              "partnergraph.webapp.workers"])
        else:
            self._ctx = mp.get_context("spawn")
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._generation = generation or (lambda: 0)
        self._closed = False
        self._lock = threading.Lock()
        self._all: set[_Worker] = set()
        # One started worker waits in reserve: a killed worker is replaced at once, not after the
        # second or so a new Python process needs to start (during which the next heavy query
        # would take the worker the other clients are using).
        self._spare: queue.Queue[_Worker] = queue.Queue()
        starting = [_Worker(self._ctx, path) for _ in range(size + 1)]  # start all, then wait for all
        for worker in starting[:-1]:
            self._add(worker)
        if starting[-1].wait_ready():
            with self._lock:
                self._all.add(starting[-1])
            self._spare.put(starting[-1])
        else:
            starting[-1].kill()
        self.killed = 0

    def _add(self, worker: _Worker) -> None:
        if not worker.wait_ready():
            worker.kill()
            raise RuntimeError("a SPARQL query worker did not start")
        with self._lock:
            if self._closed:
                worker.kill()
                return
            self._all.add(worker)
        self._idle.put(worker)

    def _refill_spare(self) -> None:
        worker = _Worker(self._ctx, self.path)
        if not worker.wait_ready():
            worker.kill()
            return
        with self._lock:
            if self._closed:
                worker.kill()
                return
            self._all.add(worker)
        self._spare.put(worker)

    def _replace(self, worker: _Worker) -> None:
        """Kill a worker; the spare takes its place at once and a new spare starts in the
        background (the request does not wait)."""
        with self._lock:
            self._all.discard(worker)
        self.killed += 1
        try:
            self._idle.put(self._spare.get_nowait())
            refill = self._refill_spare
        except queue.Empty:
            def refill() -> None:
                self._add(_Worker(self._ctx, self.path))
        threading.Thread(target=lambda: (worker.kill(), refill()), daemon=True).start()

    def run(self, job: dict[str, Any], timeout: float) -> Answer:
        """Evaluate a job within ``timeout`` seconds (waiting for a free worker included)."""
        deadline = time.monotonic() + timeout
        generation = self._generation()
        for attempt in range(2):
            try:
                worker = self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return Answer(status=503, message=f"all {self.size} query workers stayed busy for the whole time "
                                                  f"limit ({timeout:g} s); try again later")
            reopening = worker.generation != generation
            try:
                worker.conn.send((job, generation))
                if worker.conn.poll(max(0.0, deadline - time.monotonic())):
                    answer = worker.conn.recv()
                    worker.generation = generation
                    self._idle.put(worker)
                    return answer
            except (EOFError, OSError, BrokenPipeError):
                self._replace(worker)
                # A worker that died while opening the store's new state (a read-only RocksDB open
                # racing with the writer's flush) is not the query's fault: once more on another.
                if attempt == 0 and reopening:
                    continue
                return Answer(status=500, message="the query worker died while evaluating the query (out of memory?)")
            self._replace(worker)
            return Answer(status=503, message=f"query stopped: it ran past the time limit of {timeout:g} s")
        return Answer(status=500, message="the query worker died while evaluating the query (out of memory?)")

    def close(self) -> None:
        """Stop every worker."""
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
        for w in workers:
            try:
                w.conn.send(None)
            except OSError:
                pass
        for w in workers:
            w.process.join(2)
            if w.process.is_alive():
                w.kill()
