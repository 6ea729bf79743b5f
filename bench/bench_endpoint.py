"""endpoint: `partnergraph serve` against rdflib-endpoint (the closest Python peer), same data, same client.

Both serve the bundled Wikimedia dataset on 127.0.0.1 (partnergraph: the embedded Oxigraph store,
queries in its worker processes; rdflib-endpoint: the same triples as one Turtle file in rdflib's
memory store, served by uvicorn). rdflib-endpoint is installed from PyPI into its own venv under
.partnergraph/bench/ (it pins its own FastAPI stack). A Python client with persistent HTTP/1.1
connections runs 1, 8 and 32 concurrent clients for a lookup query (one organization's label and
website) and for the ranking (queries/prioritized_partners.rq), each for --seconds.

Figures: endpoint_qps_c32 / endpoint_p99_ms_c32 (lookup, partnergraph as served by default, with
its answer cache), the same per query and concurrency, endpoint_vs_rdflib_endpoint_ratio (lookup
throughput at 32 clients over the peer's); the endpoint_uncached_* figures with the cache off
(every query through a worker process); and endpoint_p99_ms_c8_under_heavy: 8 lookup clients
(cache off) while another client keeps sending a pathological query that runs into the time limit
(--heavy-timeout) and is killed each time, beside endpoint_p99_ms_c8 (cache off, no heavy query).
Lookups are driven by wrk when it is installed (apt-get install wrk), else by the Python client.
endpoint_waitress_qps_c32 / endpoint_granian_vs_waitress_ratio: the cached lookup at 32 clients under
``--server waitress`` (one process, HTTP in Python), beside the default granian front, same run.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOOKUP = ("PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX foaf: <http://xmlns.com/foaf/0.1/> "
          "SELECT ?label ?site WHERE { <http://www.wikidata.org/entity/Q6542248> rdfs:label ?label . "
          "OPTIONAL { <http://www.wikidata.org/entity/Q6542248> foaf:homepage ?site } }")
PATHOLOGICAL = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    if not any(a.dest == "seconds" for a in parser._actions):
        parser.add_argument("--seconds", type=float, default=5.0, help="endpoint: seconds per load level")
    if not any(a.dest == "heavy_timeout" for a in parser._actions):
        parser.add_argument("--heavy-timeout", type=float, default=2.0, help="endpoint: the server's query time limit")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(port: int, path: str, proc: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", path)
            c.getresponse().read()
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"server on port {port} did not start")


def _peer_venv() -> Path:
    venv = ROOT / ".partnergraph" / "bench" / "rdflib-endpoint-venv"
    exe = venv / "bin" / "rdflib-endpoint"
    if not exe.exists():
        print("# installing rdflib-endpoint from PyPI into .partnergraph/bench/", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "rdflib-endpoint[cli]", "uvicorn"], check=True)
    return exe


def _load(port: int, path: str, query: str, clients: int, seconds: float, stop: threading.Event | None = None) -> dict:
    """``clients`` threads, each with its own keep-alive connection, for ``seconds``."""
    body_path = f"{path}?{urllib.parse.urlencode({'query': query})}"
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        mine = []
        while time.monotonic() < end and not (stop and stop.is_set()):
            started = time.perf_counter()
            try:
                conn.request("GET", body_path, headers={"Accept": "application/sparql-results+json"})
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    errors[0] += 1
                    continue
            except (OSError, http.client.HTTPException):
                errors[0] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
                continue
            mine.append(time.perf_counter() - started)
        conn.close()
        with lock:
            latencies.extend(mine)

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000 if latencies else float("nan")
    p50 = statistics.median(latencies) * 1000 if latencies else float("nan")
    return {"qps": len(latencies) / elapsed, "p50": p50, "p99": p99, "n": len(latencies), "errors": errors[0]}


def _serve(store_url: str, port: int, timeout: float, cache: bool = True, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "partnergraph", "--store", store_url, "serve", "--port", str(port),
                             "--query-timeout", str(timeout), "--cache-mb", "64" if cache else "0", *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)


def _rows(port: int, path: str, query: str) -> int:
    import json

    c = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    c.request("GET", f"{path}?{urllib.parse.urlencode({'query': query})}", headers={"Accept": "application/sparql-results+json"})
    data = json.loads(c.getresponse().read())
    c.close()
    return len(data["results"]["bindings"])


def _wrk(port: int, path: str, query: str, clients: int, seconds: float) -> dict | None:
    """The same measurement with wrk (Debian's, C, far lighter than a Python client) when present."""
    import re
    import shutil

    if shutil.which("wrk") is None:
        return None
    url = f"http://127.0.0.1:{port}{path}?{urllib.parse.urlencode({'query': query})}"
    out = subprocess.run(["wrk", f"-t{min(2, clients)}", f"-c{clients}", f"-d{seconds:g}s", "--latency", "--timeout", "120s",
                          "-H", "Accept: application/sparql-results+json", url], capture_output=True, text=True, check=True).stdout
    unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    m99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    m50 = re.search(r"^\s*50%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    qps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    n = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = int(bad.group(1)) if bad else 0
    return {"qps": qps * (n - errors) / max(n, 1), "p50": float(m50.group(1)) * unit[m50.group(2)],
            "p99": float(m99.group(1)) * unit[m99.group(2)], "n": n - errors, "errors": errors}


def _measure(port: int, path: str, query: str, clients: int, seconds: float, fast: bool) -> dict:
    """wrk for fast queries (the client must not be the bottleneck), the Python client for slow
    ones (it waits for the answers still in flight at the end; wrk would drop them)."""
    return (_wrk(port, path, query, clients, seconds) if fast else None) or _load(port, path, query, clients, seconds)


def _ranking_query() -> str:
    from partnergraph import queries
    from partnergraph.ontology import DEFAULT_HOME

    return queries.get("prioritized_partners").bind({"home": DEFAULT_HOME, "asOf": "2026-01-01"})


def run(args: argparse.Namespace) -> None:
    from partnergraph.service import load_bundled
    from partnergraph.store import open_store

    seconds = getattr(args, "seconds", 5.0)
    heavy_timeout = getattr(args, "heavy_timeout", 2.0)
    peer = _peer_venv()
    ranking = _ranking_query()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        store_url = f"oxigraph:{tmp / 'store'}"
        with open_store(store_url) as store:
            report = load_bundled(store)
            union = store.union_graph()
        ttl = tmp / "bundled.ttl"
        union.serialize(ttl, format="turtle")
        print(f"# bundled data: {report.triples} curated triples, {len(union)} with the vocabulary; "
              f"cpus: {os.cpu_count()}", file=sys.stderr)

        ours_port, peer_port = _free_port(), _free_port()
        ours = _serve(store_url, ours_port, 30.0)
        theirs = subprocess.Popen([str(peer), "serve", str(ttl), "--host", "127.0.0.1", "--port", str(peer_port)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        try:
            _wait(ours_port, "/sparql?query=ASK%7B%7D", ours)
            _wait(peer_port, "/?query=ASK%7B%7D", theirs)
            for qname, query in (("lookup", LOOKUP), ("ranking", ranking)):
                counts = [_rows(port, path, query) for port, path in ((ours_port, "/sparql"), (peer_port, "/"))]
                print(f"# {qname}: partnergraph {counts[0]} rows, rdflib-endpoint {counts[1]} rows", file=sys.stderr)
            results: dict[tuple[str, str, int], dict] = {}
            for server, port, path in (("partnergraph", ours_port, "/sparql"), ("rdflib_endpoint", peer_port, "/")):
                for qname, query in (("lookup", LOOKUP), ("ranking", ranking)):
                    _load(port, path, query, 1, min(1.0, seconds))  # warm-up
                    for clients in (1, 8, 32):
                        r = _measure(port, path, query, clients, seconds, fast=qname == "lookup")
                        results[(server, qname, clients)] = r
                        print(f"# {server} {qname} c{clients}: {r['qps']:.1f} q/s, p50 {r['p50']:.1f} ms, "
                              f"p99 {r['p99']:.1f} ms, {r['n']} ok, {r['errors']} errors", file=sys.stderr)
            # the same lookups under the fallback server (waitress, one process): what the front buys
            ours.send_signal(2)
            ours.wait(30)
            ours_port = _free_port()
            ours = _serve(store_url, ours_port, 30.0, True, "--server", "waitress")
            _wait(ours_port, "/sparql?query=ASK%7B%7D", ours)
            _load(ours_port, "/sparql", LOOKUP, 1, min(1.0, seconds))
            r = _measure(ours_port, "/sparql", LOOKUP, 32, seconds, fast=True)
            results[("waitress", "lookup", 32)] = r
            print(f"# partnergraph --server waitress lookup c32: {r['qps']:.1f} q/s, p50 {r['p50']:.1f} ms, "
                  f"p99 {r['p99']:.1f} ms, {r['n']} ok, {r['errors']} errors", file=sys.stderr)
            # the same without the answer cache: every query evaluated by a worker
            ours.send_signal(2)
            ours.wait(30)
            ours_port = _free_port()
            ours = _serve(store_url, ours_port, 30.0, cache=False)
            _wait(ours_port, "/sparql?query=ASK%7B%7D", ours)
            for qname, query in (("lookup", LOOKUP), ("ranking", ranking)):
                _load(ours_port, "/sparql", query, 1, min(1.0, seconds))
                for clients in (8, 32):
                    r = _measure(ours_port, "/sparql", query, clients, seconds, fast=qname == "lookup")
                    results[("uncached", qname, clients)] = r
                    print(f"# partnergraph uncached {qname} c{clients}: {r['qps']:.1f} q/s, p50 {r['p50']:.1f} ms, "
                          f"p99 {r['p99']:.1f} ms, {r['n']} ok, {r['errors']} errors", file=sys.stderr)
            # a pathological query hitting the time limit, again and again, beside 8 lookup clients
            # (no cache, and a short limit so that the run sees it stopped several times)
            ours.send_signal(2)
            ours.wait(30)
            ours_port = _free_port()
            ours = _serve(store_url, ours_port, heavy_timeout, cache=False)
            _wait(ours_port, "/sparql?query=ASK%7B%7D", ours)
            stop = threading.Event()
            heavy_answers: list[int] = []

            def heavy() -> None:
                while not stop.is_set():
                    c = http.client.HTTPConnection("127.0.0.1", ours_port, timeout=300)
                    c.request("GET", "/sparql?" + urllib.parse.urlencode({"query": PATHOLOGICAL}))
                    resp = c.getresponse()
                    resp.read()
                    heavy_answers.append(resp.status)
                    c.close()

            h = threading.Thread(target=heavy)
            h.start()
            time.sleep(0.2)
            under = _measure(ours_port, "/sparql", LOOKUP, 8, max(seconds, 3 * heavy_timeout), fast=True)
            stop.set()
            h.join()
            print(f"# under heavy: {under['qps']:.1f} q/s, p99 {under['p99']:.1f} ms; pathological answers: "
                  f"{heavy_answers} (limit {heavy_timeout:g} s)", file=sys.stderr)
        finally:
            for p in (ours, theirs):
                p.send_signal(2)
            for p in (ours, theirs):
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()

    for qname in ("lookup", "ranking"):
        for clients in (1, 8, 32):
            for server in ("partnergraph", "rdflib_endpoint"):
                r = results[(server, qname, clients)]
                prefix = "endpoint" if server == "partnergraph" else "rdflib_endpoint"
                print(f"{prefix}_{qname}_qps_c{clients}: {r['qps']:.1f}")
                print(f"{prefix}_{qname}_p99_ms_c{clients}: {r['p99']:.1f}")
    ours32, theirs32 = results[("partnergraph", "lookup", 32)], results[("rdflib_endpoint", "lookup", 32)]
    print(f"endpoint_qps_c32: {ours32['qps']:.1f}")
    print(f"endpoint_p99_ms_c32: {ours32['p99']:.1f}")
    print(f"endpoint_vs_rdflib_endpoint_ratio: {ours32['qps'] / max(theirs32['qps'], 1e-9):.2f}")
    rank_ratio = results[("partnergraph", "ranking", 32)]["qps"] / max(results[("rdflib_endpoint", "ranking", 32)]["qps"], 1e-9)
    print(f"endpoint_vs_rdflib_endpoint_ranking_ratio: {rank_ratio:.2f}")
    wait32 = results[("waitress", "lookup", 32)]
    print(f"endpoint_waitress_qps_c32: {wait32['qps']:.1f}")
    print(f"endpoint_granian_vs_waitress_ratio: {ours32['qps'] / max(wait32['qps'], 1e-9):.2f}")
    unc32 = results[("uncached", "lookup", 32)]
    print(f"endpoint_uncached_qps_c32: {unc32['qps']:.1f}")
    print(f"endpoint_uncached_p99_ms_c32: {unc32['p99']:.1f}")
    print(f"endpoint_uncached_vs_rdflib_endpoint_ratio: {unc32['qps'] / max(theirs32['qps'], 1e-9):.2f}")
    unr32 = results[("uncached", "ranking", 32)]
    print(f"endpoint_uncached_vs_rdflib_endpoint_ranking_ratio: "
          f"{unr32['qps'] / max(results[('rdflib_endpoint', 'ranking', 32)]['qps'], 1e-9):.2f}")
    print(f"endpoint_p99_ms_c8: {results[('uncached', 'lookup', 8)]['p99']:.1f}")
    print(f"endpoint_p99_ms_c8_under_heavy: {under['p99']:.1f}")
    print(f"endpoint_heavy_queries_stopped: {sum(1 for s in heavy_answers if s == 503)}")
