"""`partnergraph wikidata fetch` against a SPARQL server the tests start on 127.0.0.1.

The server evaluates the queries for real (pyoxigraph) over Wikidata-shaped data — the test world
converted to truthy triples, plus a real entity of Wikidata's RDF dump when the shared reference
samples are present — and injects faults on demand: 429 with Retry-After, 5xx, a slow answer,
malformed JSON, a rejected query. It records every request's User-Agent."""

from __future__ import annotations

import email.utils
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import RDFS

from partnergraph.cli import main
from partnergraph.errors import UserError
from partnergraph.loaders.wikidata import FetchAborted, FetchOptions, build_query, fetch, retry_after_seconds, user_agent
from partnergraph.loaders.wikidata_dump import entity_to_nt
from partnergraph.ontology import CURATED_GRAPH, SCHEMA, WD, WDT, WIKIDATA_GRAPH
from partnergraph.store import open_store
from wikidata_fixtures import world

SAMPLE_TTL = Path("/work/shared/reference/wikidata-samples/wikimedia_wikidata-query-rdf__Q24628793.ttl")
MARKER = (WD["Q1"], RDFS.label, Literal("loaded before", lang="en"))


class SparqlServer:
    """A SPARQL 1.1 Protocol endpoint (GET and POST) over a pyoxigraph store, with fault injection."""

    def __init__(self, store: ox.Store) -> None:
        self.store = store
        self.faults: list = []  # consumed one per request: ("status", code, headers) | ("slow", s) | ("badjson",)
        self.fail_when = None  # a function query -> status code, for persistent faults
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # noqa: ANN002
                pass

            def do_GET(self) -> None:
                qs = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                outer._answer(self, qs.get("query", [""])[0])

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                if self.headers.get("Content-Type", "").startswith("application/sparql-query"):
                    query = body
                else:
                    query = urllib.parse.parse_qs(body).get("query", [""])[0]
                outer._answer(self, query)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_port}/sparql"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def _send(self, h: BaseHTTPRequestHandler, code: int, body: bytes, headers: dict | None = None) -> None:
        h.send_response(code)
        h.send_header("Content-Type", "application/sparql-results+json")
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        try:
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _answer(self, h: BaseHTTPRequestHandler, query: str) -> None:
        self.requests.append({"agent": h.headers.get("User-Agent"), "query": query, "method": h.command})
        fault = self.faults.pop(0) if self.faults else None
        if fault is None and self.fail_when is not None:
            code = self.fail_when(query)
            if code:
                fault = ("status", code, {})
        if fault and fault[0] == "status":
            return self._send(h, fault[1], b"fault injected by the test", fault[2])
        if fault and fault[0] == "badjson":
            return self._send(h, 200, b'{"head": {"vars": ["item", "p", "o"]}, "results": {"bindings": [{"item": ')
        if fault and fault[0] == "slow":
            time.sleep(fault[1])
        try:
            result = self.store.query(query)
        except SyntaxError as exc:
            return self._send(h, 400, str(exc).encode())
        self._send(h, 200, result.serialize(format=ox.QueryResultsFormat.JSON))

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    data = ox.Store()
    nt = []
    for entity in world():
        lines, _ = entity_to_nt(entity, None, ("*",))
        nt += lines
    # Statements the loader did not ask for must not come back.
    nt.append("<http://www.wikidata.org/entity/Q2001> <http://www.wikidata.org/prop/direct/P999> \"other\" .\n")
    data.load("".join(nt).encode(), format=ox.RdfFormat.N_TRIPLES)
    srv = SparqlServer(data)
    yield srv
    srv.close()


@pytest.fixture
def store(tmp_path):
    s = open_store(f"oxigraph:{tmp_path / 'store'}")
    s.replace_graph(CURATED_GRAPH, [(WD.Q2001, RDFS.label, Literal("Alpha Foundation", lang="en")),
                                    (URIRef("https://w3id.org/partnergraph/id/u1"), SCHEMA.about, WD.Q3001)])
    s.replace_graph(WIKIDATA_GRAPH, [MARKER])
    yield s
    s.close()


def options(server: SparqlServer, tmp_path: Path, **kw) -> FetchOptions:
    kw.setdefault("timeout", 5.0)
    kw.setdefault("backoff_base", 0.01)
    kw.setdefault("max_retries", 3)
    return FetchOptions(endpoint=server.url, cache_dir=tmp_path / "cache",
                        user_agent=user_agent("mailto:ops@example.org"), **kw)


def wd_triples(store) -> set:  # noqa: ANN001
    return set(store.graph_triples(WIKIDATA_GRAPH))


def objects(store, s, p) -> set:  # noqa: ANN001
    return {o for (s2, p2, o) in wd_triples(store) if s2 == s and p2 == p}


# ---------------------------------------------------------------------- what is loaded


def test_fetch_seeds_neighbourhood_labels(store, server, tmp_path):
    report = fetch(store, options(server, tmp_path), depth=1, languages=["en", "de"], progress=False)
    assert report.seeds == 2  # Q2001 named as a subject, Q3001 as an object
    got = wd_triples(store)
    assert MARKER not in got
    # Truthy statements over the chosen properties, as the endpoint has them (best rank only).
    assert objects(store, WD.Q2001, WDT.P17) == {WD.Q183}
    assert objects(store, WD.Q2001, WDT.P749) == {WD.Q2005}
    assert objects(store, WD.Q3001, WDT.P178) == {WD.Q2001}
    assert not objects(store, WD.Q2001, WDT.P999)
    # Labels and descriptions in the chosen languages only.
    assert objects(store, WD.Q2001, RDFS.label) == {Literal("Alpha Foundation", lang="en"), Literal("Alpha-Stiftung", lang="de")}
    assert Literal("a foundation", lang="en") in objects(store, WD.Q2001, SCHEMA.description)
    # One hop over the followed parent organization: Q2005 with its statements, not Q2006's.
    assert objects(store, WD.Q2005, WDT.P749) == {WD.Q2006}
    assert not objects(store, WD.Q2006, WDT.P31)
    # Items only pointed at get their labels: the country, the class, the grand-parent.
    assert objects(store, WD.Q183, RDFS.label) == {Literal("Germany", lang="en"), Literal("Deutschland", lang="de")}
    assert not objects(store, WD.Q183, WDT.P31)
    assert Literal("Alpha Group", lang="en") in objects(store, WD.Q2006, RDFS.label)
    # Portable SPARQL only, sent by POST.
    assert all("SERVICE" not in r["query"] and r["method"] == "POST" for r in server.requests)
    assert report.sent == len(server.requests) and report.retries == 0


def test_depth_zero_and_batches(store, server, tmp_path):
    report = fetch(store, options(server, tmp_path), depth=0, batch_size=1, languages=["en"], progress=False)
    assert report.batches >= 2  # one per seed, then the labels of what they point to
    assert not objects(store, WD.Q2005, WDT.P749)
    assert objects(store, WD.Q2005, RDFS.label) == {Literal("Alpha Holding", lang="en")}


def test_user_agent_follows_wikimedia_policy(store, server, tmp_path, monkeypatch):
    fetch(store, options(server, tmp_path), progress=False)
    import SPARQLWrapper

    expected = f"partnergraph/0.1.0 (mailto:ops@example.org) SPARQLWrapper/{SPARQLWrapper.__version__}"
    assert {r["agent"] for r in server.requests} == {expected}
    monkeypatch.setenv("PARTNERGRAPH_CONTACT", "https://example.org/me")
    assert user_agent().startswith("partnergraph/0.1.0 (https://example.org/me) SPARQLWrapper/")


# ---------------------------------------------------------------------- faults


def test_429_retry_after_seconds_is_honoured(store, server, tmp_path):
    server.faults = [("status", 429, {"Retry-After": "3"})]
    waits: list[float] = []
    report = fetch(store, options(server, tmp_path), progress=False, sleep=waits.append)
    assert waits == [3.0]
    assert report.retries == 1 and objects(store, WD.Q2001, WDT.P749) == {WD.Q2005}


def test_429_retry_after_http_date(store, server, tmp_path):
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    server.faults = [("status", 429, {"Retry-After": when})]
    waits: list[float] = []
    fetch(store, options(server, tmp_path), progress=False, sleep=waits.append)
    assert len(waits) == 1 and 25 <= waits[0] <= 31
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
    assert retry_after_seconds("soon") is None


def test_retry_after_longer_than_max_wait_stops(store, server, tmp_path):
    server.faults = [("status", 429, {"Retry-After": "7200"})]
    with pytest.raises(FetchAborted, match="asks to wait 7200s"):
        fetch(store, options(server, tmp_path, max_wait=60), progress=False, sleep=lambda s: None)
    assert wd_triples(store) == {MARKER}


def test_5xx_backoff_exponential_with_jitter(store, server, tmp_path):
    server.faults = [("status", 500, {}), ("status", 503, {}), ("status", 502, {})]
    waits: list[float] = []
    report = fetch(store, options(server, tmp_path, backoff_base=1.0), progress=False, sleep=waits.append)
    assert report.retries == 3 and len(waits) == 3
    for attempt, wait in enumerate(waits):
        assert 0.5 * 2 ** attempt <= wait <= 2 ** attempt
    assert objects(store, WD.Q2001, WDT.P749) == {WD.Q2005}


def test_slow_answer_past_timeout_is_retried(store, server, tmp_path):
    server.faults = [("slow", 2.0)]
    started = time.perf_counter()
    report = fetch(store, options(server, tmp_path, timeout=0.5), progress=False)
    assert report.retries == 1
    assert time.perf_counter() - started < 10
    assert objects(store, WD.Q2001, WDT.P749) == {WD.Q2005}


def test_malformed_json_is_retried(store, server, tmp_path):
    server.faults = [("badjson",)]
    report = fetch(store, options(server, tmp_path), progress=False)
    assert report.retries == 1 and objects(store, WD.Q2001, WDT.P749) == {WD.Q2005}


def test_rejected_query_is_not_retried(store, server, tmp_path):
    server.faults = [("status", 400, {})]
    with pytest.raises(UserError, match="rejected the query as malformed"):
        fetch(store, options(server, tmp_path), progress=False)
    assert len(server.requests) == 1 and wd_triples(store) == {MARKER}


def test_gives_up_after_bound_store_unchanged(store, server, tmp_path):
    server.fail_when = lambda q: 500
    with pytest.raises(FetchAborted) as err:
        fetch(store, options(server, tmp_path, max_retries=2), progress=False)
    assert "after 3 attempts" in str(err.value) and "run the same command again to resume" in str(err.value)
    assert len(server.requests) == 3
    assert wd_triples(store) == {MARKER}
    assert not list((tmp_path / "cache").glob("fetch-*.nt"))


def test_unreachable_endpoint(store, tmp_path):
    opts = FetchOptions(endpoint="http://127.0.0.1:9/sparql", cache_dir=tmp_path / "c", backoff_base=0.001,
                        max_retries=1, timeout=1)
    with pytest.raises(FetchAborted, match="cannot reach the endpoint"):
        fetch(store, opts, progress=False)
    assert wd_triples(store) == {MARKER}


# ---------------------------------------------------------------------- checkpoint and cache


def test_resume_after_failure_sends_only_what_is_missing(store, server, tmp_path):
    server.fail_when = lambda q: 503 if "wd:Q3001" in q else 0
    with pytest.raises(FetchAborted):
        fetch(store, options(server, tmp_path, max_retries=1), batch_size=1, progress=False)
    assert wd_triples(store) == {MARKER}
    first_run = [r["query"] for r in server.requests]
    assert sum("wd:Q2001 }" in q for q in first_run) == 1
    server.fail_when = None
    server.requests.clear()
    # max_age 0: the cache alone would not serve it; the checkpoint does.
    report = fetch(store, options(server, tmp_path, max_age=0), batch_size=1, progress=False)
    assert report.resumed == 1
    assert not any("VALUES ?item { wd:Q2001 }" in r["query"] for r in server.requests)
    assert objects(store, WD.Q2001, WDT.P749) == {WD.Q2005} and objects(store, WD.Q3001, WDT.P178) == {WD.Q2001}
    assert not (tmp_path / "cache" / "checkpoint.json").exists()  # done: the checkpoint is cleared


def test_no_resume_starts_over(store, server, tmp_path):
    server.fail_when = lambda q: 503 if "wd:Q3001" in q else 0
    with pytest.raises(FetchAborted):
        fetch(store, options(server, tmp_path, max_retries=0), batch_size=1, progress=False)
    server.fail_when = None
    server.requests.clear()
    report = fetch(store, options(server, tmp_path, max_age=0, resume=False), batch_size=1, progress=False)
    assert report.resumed == 0 and report.cached == 0
    assert any("VALUES ?item { wd:Q2001 }" in r["query"] for r in server.requests)


def test_cache_makes_a_rerun_cheap(store, server, tmp_path):
    first = fetch(store, options(server, tmp_path), progress=False)
    before = wd_triples(store)
    server.requests.clear()
    second = fetch(store, options(server, tmp_path), progress=False)
    assert second.sent == 0 and second.cached == first.batches and not server.requests
    assert wd_triples(store) == before
    third = fetch(store, options(server, tmp_path, max_age=0), progress=False)
    assert third.sent == first.batches


# ---------------------------------------------------------------------- a real Wikidata entity


def test_real_rdf_dump_entity(tmp_path):
    """Q24628793 as Wikidata's RDF dump has it (a wikidata-query-rdf test fixture): the loader's
    query picks its truthy statements and English label out of the full statement model."""
    if not SAMPLE_TTL.exists():
        pytest.skip(f"shared reference sample not found: {SAMPLE_TTL}")
    data = ox.Store()
    data.load(SAMPLE_TTL.read_bytes(), format=ox.RdfFormat.TURTLE)
    srv = SparqlServer(data)
    try:
        with open_store("memory:") as s:
            opts = FetchOptions(endpoint=srv.url, cache_dir=tmp_path / "cache", backoff_base=0.01)
            report = fetch(s, opts, seeds=["Q24628793"], depth=0, languages=["en"], progress=False)
            got = set(s.graph_triples(WIKIDATA_GRAPH))
            expected = {(URIRef(str(q.subject.value)), URIRef(q.predicate.value)) for q in data.quads_for_pattern(
                ox.NamedNode("http://www.wikidata.org/entity/Q24628793"), None, None)
                if q.predicate.value in (str(WDT.P31), str(WDT.P571), str(RDFS.label))}
            assert report.triples > 0
            assert {(s_, p) for s_, p, _ in got if s_ == WD.Q24628793} >= expected
            assert all(o.language == "en" for s_, p, o in got if p == RDFS.label)
    finally:
        srv.close()


# ---------------------------------------------------------------------- the command


def test_cli_fetch_and_failure_exit_2(runner, server, tmp_path, small_world):
    url = f"oxigraph:{tmp_path / 'store'}"
    assert runner.invoke(main, ["--store", url, "load", str(small_world)]).exit_code == 0
    args = ["--store", url, "wikidata", "fetch", "--endpoint", server.url, "--cache-dir", str(tmp_path / "c"),
            "--backoff", "0.01", "--max-retries", "1", "--lang", "en", "--lang", "de", "--contact", "mailto:t@example.org"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "loaded" in result.output and "into the wikidata graph" in result.output
    assert all("(mailto:t@example.org)" in r["agent"] for r in server.requests)
    with open_store(url) as s:
        before = set(s.graph_triples(WIKIDATA_GRAPH))
    assert (WD.Q2001, WDT.P749, WD.Q2005) in before
    server.fail_when = lambda q: 500
    result = runner.invoke(main, args + ["--max-age", "0", "--no-resume"])
    assert result.exit_code == 2
    assert result.output.startswith("partnergraph: error: gave up on") and "resume" in result.output
    assert "Traceback" not in result.output
    with open_store(url) as s:
        assert set(s.graph_triples(WIKIDATA_GRAPH)) == before
    result = runner.invoke(main, ["--store", url, "wikidata", "fetch", "--property", "developer"])
    assert result.exit_code == 2 and "not a Wikidata property id" in result.output
    result = runner.invoke(main, ["--store", url, "wikidata", "fetch", "--dry-run", "--endpoint", server.url])
    assert result.exit_code == 0 and "VALUES ?item" in result.output


def test_query_is_portable_sparql():
    q = build_query(["Q1", "Q2"], ["P31"], ["en"])
    assert "SERVICE" not in q and "wikibase:" not in q
    ox.Store().query(q)  # parses and runs on a plain SPARQL 1.1 engine
