"""`partnergraph serve` under granian: several web processes behind one port, one answer cache
each, kept correct by the write counter they share; waitress still there as --server waitress;
clean stops (no process left behind) and clear refusals."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

import pytest
from conftest import write
from test_endpoint import TOKEN, Server

from partnergraph.loaders.rdf import load_paths
from partnergraph.store import open_store
from partnergraph.webapp.sparql import GenerationClock, SharedEpoch

WORLD = """@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix wd: <http://www.wikidata.org/entity/> .
wd:Q2001 a org:Organization ; rdfs:label "Alpha Foundation"@en .
"""
LABELS = "SELECT ?label WHERE { <http://www.wikidata.org/entity/Q2001> <http://www.w3.org/2000/01/rdf-schema#label> ?label } ORDER BY ?label"
CURATED = "https://w3id.org/partnergraph/graph/curated"


class DrainedServer(Server):
    """A server whose output is read as it comes: a query logs a line, and thousands of them
    would fill the pipe and block the server's logging (and with it the server)."""

    def __init__(self, *args: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.lines: list[str] = []
        self.reader = threading.Thread(target=lambda: self.lines.extend(iter(self.proc.stdout.readline, "")), daemon=True)
        self.reader.start()

    def stop(self, how: int = signal.SIGINT) -> str:
        self.proc.send_signal(how)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.reader.join(10)
        return "".join(self.lines)


class FakeStore:
    generation = 1


def test_an_update_in_one_process_is_seen_at_once_by_the_clock_of_another():
    epoch = SharedEpoch()
    a_store, b_store = FakeStore(), FakeStore()
    a, b = GenerationClock(a_store, ttl=3600, epoch=epoch), GenerationClock(b_store, ttl=3600, epoch=epoch)
    assert a() == b() == 1
    a_store.generation = b_store.generation = 2  # the store changed (a published snapshot)…
    assert b() == 1  # …which b, within its ttl, does not look at: its cache key stays
    a.refresh()  # a wrote it: the shared counter moves
    assert a() == 2 and b() == 2
    alone = GenerationClock(FakeStore(), ttl=3600)  # no shared counter: one process, as before
    alone.store.generation = 5
    assert alone() == 1
    alone.refresh()
    assert alone() == 5


def _hold(lock, held, released: str) -> None:  # noqa: ANN001
    with lock:
        held.set()
        time.sleep(0.5)
        with open(released, "w") as f:
            f.write("released")


def test_updates_through_different_web_processes_run_one_at_a_time(tmp_path, world):
    """Another web process (here: a spawned stand-in) holding the shared update lock makes an
    update here wait: each update is checked against the data the previous one left."""
    import multiprocessing as mp

    from partnergraph.webapp import close_app, create_app

    epoch = SharedEpoch()
    store = open_store(world, shared=True)
    app = create_app(store, workers=0, update_token=TOKEN, epoch=epoch)
    released = tmp_path / "released"
    ctx = mp.get_context("spawn")
    held = ctx.Event()
    other = ctx.Process(target=_hold, args=(epoch.update_lock, held, str(released)))
    other.start()
    try:
        assert held.wait(60)
        upd = f'INSERT DATA {{ GRAPH <{CURATED}> {{ <http://www.wikidata.org/entity/Q2001> <http://www.w3.org/2000/01/rdf-schema#label> "A"@de }} }}'
        r = app.test_client().post("/sparql", data=upd, headers={"Content-Type": "application/sparql-update",
                                                                 "Authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 204, r.get_data(as_text=True)
        assert released.exists()  # it waited for the other process's update to end
        assert epoch.value == 1
    finally:
        other.join(30)
        close_app(app)
        store.close()


def _get(port: int, query: str) -> tuple[dict, str]:
    """One query on a fresh connection (the kernel hands each to one of the web processes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", "/sparql?" + urllib.parse.urlencode({"query": query}),
                     headers={"Accept": "application/sparql-results+json"})
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 200, body
        return json.loads(body), resp.headers.get("X-Cache", "")
    finally:
        conn.close()


def _labels(data: dict) -> list[str]:
    return [b["label"]["value"] for b in data["results"]["bindings"]]


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def world(tmp_path) -> str:
    url = f"oxigraph:{tmp_path / 'store'}"
    with open_store(url) as s:
        load_paths(s, [write(tmp_path, "world.ttl", WORLD)], graph=CURATED)
    return url


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find the server's processes")
def test_an_authorized_update_invalidates_the_answer_caches_of_every_web_process(world):
    srv = DrainedServer(world, "--processes", "2", "--workers", "2", "--cache-mb", "16",
                        env={"PARTNERGRAPH_UPDATE_TOKEN": TOKEN, "PARTNERGRAPH_GENERATION_TTL": "30"})
    try:
        # Each fresh connection goes to one of the two processes: enough of them fill both caches.
        hits = 0
        for _ in range(30):
            data, cache = _get(srv.port, LABELS)
            assert _labels(data) == ["Alpha Foundation"]
            hits += cache == "hit"
        assert hits >= 20
        # Clients keep querying meanwhile. Each process reads the store's generation again only
        # every PARTNERGRAPH_GENERATION_TTL (50 ms by default, 30 s here): without the shared
        # counter, the process that did not write would answer from its cache until then.
        stop = threading.Event()

        def hammer() -> None:
            while not stop.is_set():
                _get(srv.port, LABELS)

        hammers = [threading.Thread(target=hammer) for _ in range(4)]
        for t in hammers:
            t.start()
        time.sleep(0.3)
        labels = ["Alpha Foundation"]
        try:
            for n in range(3):  # three rounds: the stale window, when there is one, is short
                name = f"Alpha {n}"
                upd = (f'INSERT DATA {{ GRAPH <{CURATED}> {{ <http://www.wikidata.org/entity/Q2001> '
                       f'<http://www.w3.org/2000/01/rdf-schema#label> "{name}"@de }} }}')
                conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
                conn.request("POST", "/sparql", body=upd.encode(), headers={"Content-Type": "application/sparql-update",
                                                                             "Authorization": f"Bearer {TOKEN}"})
                resp = conn.getresponse()
                assert resp.status == 204, resp.read()
                conn.close()
                labels = sorted([*labels, name])
                # at once (no pause for a cache to expire), from whichever process answers
                seen = [_labels(_get(srv.port, LABELS)[0]) for _ in range(20)]
                assert all(s == labels for s in seen), (n, seen)
        finally:
            stop.set()
            for t in hammers:
                t.join()
    finally:
        out = srv.stop()
    pids = {m.group(1) for m in re.finditer(r"\[(\d+)\] sparql SELECT 200", out)}
    assert len(pids) == 2, out  # both web processes answered (and logged their lines)
    assert len(re.findall(r"\[\d+\] sparql UPDATE 204", out)) == 3, out


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc to find the server's processes")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_every_process_of_the_server(world, how):
    srv = DrainedServer(world, "--processes", "2", "--workers", "1")
    # two web processes, each with a fork server and its query workers (one, and a spare)
    deadline = time.monotonic() + 60
    while len(family := _descendants(srv.proc.pid)) < 8 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(family) >= 8, family
    assert _labels(_get(srv.port, LABELS)[0]) == ["Alpha Foundation"]
    out = srv.stop(how)
    assert srv.proc.returncode == 0, out
    assert out.rstrip().endswith("stopped"), out
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in family) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in family if _alive(p)], out


def test_waitress_is_still_there(world):
    srv = Server(world, "--server", "waitress", "--workers", "1")
    try:
        assert _labels(_get(srv.port, LABELS)[0]) == ["Alpha Foundation"]
    finally:
        out = srv.stop()
    assert "waitress" in out and "sparql SELECT 200" in out


def test_a_host_name_is_resolved(world):
    srv = Server(world, "--host", "localhost", "--processes", "1", "--workers", "1")  # granian binds an address
    try:
        assert _labels(_get(srv.port, LABELS)[0]) == ["Alpha Foundation"]
    finally:
        out = srv.stop()
    assert "on http://localhost:" in out


def test_refusals_are_one_clear_line(world):
    cli = [sys.executable, "-m", "partnergraph", "--store", world, "serve"]
    r = subprocess.run([*cli, "--server", "waitress", "--processes", "2"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "--processes needs --server granian" in r.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = subprocess.run([*cli, "--port", str(port)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in r.stderr and "Traceback" not in r.stderr
    r = subprocess.run([*cli, "--host", "no-such-host.invalid"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "cannot listen on no-such-host.invalid:8000" in r.stderr and "Traceback" not in r.stderr
