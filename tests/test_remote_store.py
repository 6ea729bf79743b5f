"""The remote store on a real Virtuoso: what the shared store tests cannot say.

Hidden graphs stay hidden on a server whose default graph is the union of everything, blank nodes
survive batching, a lost answer to the swap never empties a graph, credentials come from the
environment only, and a change made by one process is seen by another (store.generation)."""

from __future__ import annotations

import json
import time

import pytest
from conftest import SMALL_WORLD, write
from rdflib import BNode, Literal, URIRef

from partnergraph.cli import main
from partnergraph.errors import StoreError, UserError
from partnergraph.store import STAGING_PREFIX, open_store
from partnergraph.store_sparql import SparqlStore, parse_sparql_url, query_kind

pytestmark = pytest.mark.virtuoso
EX = "http://example.org/"


def test_url_forms_and_query_kinds():
    assert parse_sparql_url("http://h/sparql") == ("http://h/sparql", None, None)
    assert parse_sparql_url(" http://h/sparql  http://h/update ") == ("http://h/sparql", "http://h/update", None)
    assert parse_sparql_url("http://h/sparql,http://h/update") == ("http://h/sparql", "http://h/update", None)
    assert parse_sparql_url("http://h/sparql http://h/update http://h/gsp") == ("http://h/sparql", "http://h/update", "http://h/gsp")
    with pytest.raises(UserError):
        parse_sparql_url("http://h/a http://h/b http://h/c http://h/d")
    with pytest.raises(UserError):
        SparqlStore("http://h/sparql", None, "ftp://h/gsp")
    with pytest.raises(UserError):
        parse_sparql_url("")
    with pytest.raises(UserError, match="never in the store URL"):
        SparqlStore("http://user:secret@h/sparql")
    with pytest.raises(UserError, match="not an http"):
        SparqlStore("file:///etc/passwd")
    assert query_kind("PREFIX a: <http://x/SELECT> # ASK\nCONSTRUCT { ?s ?p 'SELECT' } WHERE { ?s ?p ?o }") == "CONSTRUCT"
    assert query_kind("ask {}") == "ASK"


def test_hidden_graphs_never_leak_on_virtuoso(virtuoso_url, runner, tmp_path):
    world = write(tmp_path, "world.ttl", SMALL_WORLD)
    assert runner.invoke(main, ["--store", virtuoso_url, "load", str(world)]).exit_code == 0
    form = {"kind": "organization", "label": "Pending Institute", "website": "https://pending.example",
            "goals": ["Open knowledge"], "source": "https://pending.example/about",
            "activities": [{"title": "Talk at our summit", "type": "event", "date": "2024-05-01",
                            "source": "https://pending.example/news"}]}
    r = runner.invoke(main, ["--store", virtuoso_url, "propose", str(write(tmp_path, "p.json", json.dumps(form)))])
    assert r.exit_code == 0, r.output
    with open_store(virtuoso_url) as s:
        s._update(f"INSERT DATA {{ GRAPH <{STAGING_PREFIX}{int(time.time())}-half> {{ <{EX}half> <{EX}p> \"half-written\" }} }}")
        names = [str(g) for g in s.graph_names()]
        assert not any("virtrdf" in n or "openlinksw" in n for n in names), names  # Virtuoso's own graphs
        assert not any("/proposal/" in n or "/.staging/" in n for n in names)
        labels = {str(r[0]) for r in s.query("SELECT ?l WHERE { ?s <http://www.w3.org/2000/01/rdf-schema#label> ?l }").rows}
        assert "Alpha Foundation" in labels and "Pending Institute" not in labels
        assert not s.query('ASK { GRAPH ?g { ?s ?p "half-written" } }').boolean
        assert not s.query('ASK { ?s ?p "half-written" }').boolean
        assert s.query("ASK { ?s a <http://www.openlinksw.com/schemas/virtrdf#QuadMap> }").boolean is False
        s.cleanup_staging()  # a fresh staging graph may belong to a load still running elsewhere: kept
        assert any(str(g).startswith(STAGING_PREFIX) for g in s._all_graph_names())
        for g in s._all_graph_names():
            if str(g).startswith(STAGING_PREFIX):
                s._drop(g)
    r = runner.invoke(main, ["--store", virtuoso_url, "graphs"])
    assert r.exit_code == 0 and "graph/curated" in r.output and "proposal/" not in r.output


def test_batches_keep_blank_nodes_whole_and_literals_exact(virtuoso_url):
    with open_store(virtuoso_url) as s:
        s.batch = 7
        node = BNode()
        data = [(URIRef(f"{EX}s{i}"), URIRef(f"{EX}p"), Literal(f"v{i}")) for i in range(40)]
        data.insert(3, (node, URIRef(f"{EX}name"), Literal("blank", lang="en")))
        data.append((URIRef(f"{EX}s0"), URIRef(f"{EX}ref"), node))
        data.append((URIRef(f"{EX}s1"), URIRef(f"{EX}text"), Literal('quote " back\\slash\nnewline é 😀')))
        data.append((URIRef(f"{EX}s1"), URIRef(f"{EX}n"), Literal("2024-01-02", datatype=URIRef("http://www.w3.org/2001/XMLSchema#date"))))
        g = URIRef(EX + "batched")
        s.replace_graph(g, data)
        assert dict(s.graph_sizes())[g] == 44
        rows = s.query(f'SELECT ?l WHERE {{ <{EX}s0> <{EX}ref> ?b . ?b <{EX}name> ?l }}').rows
        assert rows == [(Literal("blank", lang="en"),)]  # one node, though its triples were in different places
        stored = set(s.graph_triples(g))
        assert (URIRef(f"{EX}s1"), URIRef(f"{EX}text"), Literal('quote " back\\slash\nnewline é 😀')) in stored
        assert (URIRef(f"{EX}s1"), URIRef(f"{EX}n"), Literal("2024-01-02", datatype=URIRef("http://www.w3.org/2001/XMLSchema#date"))) in stored


def test_a_lost_answer_to_the_swap_never_empties_the_graph(virtuoso_url, monkeypatch):
    with open_store(virtuoso_url) as s:
        g = URIRef(EX + "swap")
        s.replace_graph(g, [(URIRef(EX + "a"), URIRef(EX + "p"), Literal("old"))])
        real = SparqlStore._update
        lost = []

        def flaky(self, text, *, retry=False):  # noqa: ANN001, ANN202
            real(self, text, retry=retry)
            if text.startswith("MOVE") and not lost:
                lost.append(text)
                raise StoreError("connection reset after the server did the work")

        monkeypatch.setattr(SparqlStore, "_update", flaky)
        s.replace_graph(g, [(URIRef(EX + "a"), URIRef(EX + "p"), Literal("new"))])
        assert lost, "the swap was not exercised"
        assert [str(o) for _s, _p, o in s.graph_triples(g)] == ["new"]


def test_a_failed_load_leaves_the_remote_graph_and_no_staging(virtuoso_url):
    with open_store(virtuoso_url) as s:
        g = URIRef(EX + "kept")
        s.replace_graph(g, [(URIRef(EX + "a"), URIRef(EX + "p"), Literal("old"))])
        s.batch = 2

        def broken():
            for i in range(5):
                yield (URIRef(EX + "a"), URIRef(EX + "p"), Literal(f"new{i}"))
            raise RuntimeError("source broke")

        with pytest.raises(RuntimeError):
            s.replace_graph(g, broken())
        assert [str(o) for _s, _p, o in s.graph_triples(g)] == ["old"]
        assert not any(str(n).startswith(STAGING_PREFIX) for n in s._all_graph_names())


def test_another_process_sees_writes_through_generation(virtuoso_url):
    with open_store(virtuoso_url) as writer, open_store(virtuoso_url, read_only=True) as reader:
        before = reader.generation
        writer.replace_graph(URIRef(EX + "gen"), [(URIRef(EX + "a"), URIRef(EX + "p"), Literal("x"))])
        reader._token = None  # skip the one-second cache
        assert reader.generation != before
        with pytest.raises(StoreError, match="read-only"):
            reader.replace_graph(URIRef(EX + "gen"), [])


def test_credentials_come_from_the_environment(virtuoso_server, virtuoso_url, runner, tmp_path, monkeypatch):
    world = write(tmp_path, "world.ttl", SMALL_WORLD)
    monkeypatch.setenv("PARTNERGRAPH_SPARQL_PASSWORD", "wrong")
    r = runner.invoke(main, ["--store", virtuoso_url, "load", str(world)])
    assert r.exit_code == 2 and "refused access" in r.output and "PARTNERGRAPH_SPARQL_USER" in r.output
    monkeypatch.delenv("PARTNERGRAPH_SPARQL_USER")
    monkeypatch.delenv("PARTNERGRAPH_SPARQL_PASSWORD")
    r = runner.invoke(main, ["--store", virtuoso_url, "load", str(world)])
    assert r.exit_code == 2 and "refused access" in r.output
    # Reading needs no credentials on Virtuoso's public endpoint.
    r = runner.invoke(main, ["--store", f"sparql:{virtuoso_server.query_url}", "graphs"])
    assert r.exit_code == 0, r.output


def test_unreachable_server_is_exit_2(runner, tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    r = runner.invoke(main, ["--store", f"sparql:http://127.0.0.1:{port}/sparql", "graphs"])
    assert r.exit_code == 2 and "cannot reach the SPARQL server" in r.output


def test_malformed_query_on_virtuoso_is_exit_2(runner, virtuoso_url, tmp_path):
    q = write(tmp_path, "bad.rq", "SELECT ?x WHERE { ?x ")
    r = runner.invoke(main, ["--store", virtuoso_url, "query", str(q)])
    assert r.exit_code == 2 and "rejected the request" in r.output and "Traceback" not in r.output


def test_a_swap_the_server_refuses_leaves_the_graph_and_no_staging(virtuoso_url, monkeypatch):
    with open_store(virtuoso_url) as s:
        g = URIRef(EX + "refused")
        s.replace_graph(g, [(URIRef(EX + "a"), URIRef(EX + "p"), Literal("old"))])
        real = SparqlStore._update

        def refusing(self, text, *, retry=False):  # noqa: ANN001, ANN202
            if text.startswith("MOVE"):
                raise UserError("the SPARQL server rejected the request (500): Virtuoso 40005 Error SR325: Transaction aborted")
            real(self, text, retry=retry)

        monkeypatch.setattr(SparqlStore, "_update", refusing)
        with pytest.raises(StoreError, match="TransactionAfterImageLimit"):
            s.replace_graph(g, [(URIRef(EX + "a"), URIRef(EX + "p"), Literal("new"))])
        assert [str(o) for _s, _p, o in s.graph_triples(g)] == ["old"]
        assert not any(str(n).startswith(STAGING_PREFIX) for n in s._all_graph_names())


def test_serve_on_virtuoso_answers_with_the_same_rules(virtuoso_url, tmp_path):
    """`partnergraph serve --store sparql:…`: the endpoint answers from Virtuoso, hides what the
    embedded endpoint hides, refuses updates without the token, and the pages render."""
    import urllib.error
    import urllib.parse
    import urllib.request

    from test_endpoint import Server

    from partnergraph.loaders.rdf import load_paths

    with open_store(virtuoso_url) as s:
        load_paths(s, [write(tmp_path, "world.ttl", SMALL_WORLD)])
    srv = Server(virtuoso_url, "--workers", "1", "--cache-mb", "0", "--query-timeout", "20")
    try:
        q = "SELECT ?l WHERE { <http://www.wikidata.org/entity/Q2001> <http://www.w3.org/2000/01/rdf-schema#label> ?l }"
        with urllib.request.urlopen(f"{srv.url}/sparql?" + urllib.parse.urlencode({"query": q, "format": "json"}), timeout=60) as r:
            labels = [b["l"]["value"] for b in json.load(r)["results"]["bindings"]]
        assert labels == ["Alpha Foundation"]
        # Virtuoso's own graphs (its system vocabulary) stay out of sight, as staging graphs do.
        q = "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }"
        with urllib.request.urlopen(f"{srv.url}/sparql?" + urllib.parse.urlencode({"query": q, "format": "json"}), timeout=60) as r:
            graphs = [b["g"]["value"] for b in json.load(r)["results"]["bindings"]]
        assert graphs and all(g.startswith("https://w3id.org/partnergraph/graph/") for g in graphs), graphs
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(urllib.request.Request(
                f"{srv.url}/sparql", data=urllib.parse.urlencode({"update": "CLEAR ALL"}).encode(), method="POST"), timeout=60)
        assert err.value.code == 403
        with urllib.request.urlopen(f"{srv.url}/partners.json", timeout=120) as r:
            partners = json.load(r)
        assert partners and any("Alpha" in str(p) for p in partners)
    finally:
        srv.stop()
    with open_store(virtuoso_url) as s:  # the refused update changed nothing
        assert s.query("ASK { <http://www.wikidata.org/entity/Q2001> ?p ?o }").boolean is True


def test_graph_store_protocol_loads_in_chunks_and_readers_see_old_or_new(virtuoso_server, virtuoso_url, runner, tmp_path,
                                                                          monkeypatch):
    """With a Graph Store Protocol URL, the staging graph is filled by POSTed chunks (blank nodes
    still whole, literals exact), then swapped in by the same MOVE: a reader between two chunks
    sees the previous graph, then the new one, never a part."""
    url = virtuoso_server.gsp_store_url
    g = URIRef(EX + "gsp")
    old = [(URIRef(f"{EX}old{i}"), URIRef(f"{EX}p"), Literal(i)) for i in range(5)]
    node = BNode()
    new = [(URIRef(f"{EX}s{i}"), URIRef(f"{EX}p"), Literal(f"v{i}")) for i in range(30)]
    new += [(node, URIRef(f"{EX}name"), Literal("blank", lang="en")), (URIRef(f"{EX}s0"), URIRef(f"{EX}ref"), node),
            (URIRef(f"{EX}s1"), URIRef(f"{EX}text"), Literal('quote " back\\slash\nnewline é 😀')),
            (URIRef(f"{EX}s1"), URIRef(f"{EX}d"), Literal("2024-01-02", datatype=URIRef("http://www.w3.org/2001/XMLSchema#date")))]
    with open_store(url) as s, open_store(virtuoso_url) as reader:
        assert s.gsp_url == virtuoso_server.gsp_url
        s.replace_graph(g, old)
        assert set(reader.graph_triples(g)) == set(old)
        s.gsp_batch = 8
        seen: list[int] = []
        real = SparqlStore._gsp_post

        def watched(self, staging, lines):  # noqa: ANN001, ANN202
            real(self, staging, lines)
            seen.append(len(set(reader.graph_triples(g)) & set(old)))  # the visible graph, after each chunk

        with monkeypatch.context() as m:
            m.setattr(SparqlStore, "_gsp_post", watched)
            s.replace_graph(g, new)
        assert len(seen) == 4 and seen == [len(old)] * 4  # 32 plain triples in chunks of 8; the old graph meanwhile
        stored = set(reader.graph_triples(g))
        assert len(stored) == len(new) and not stored & set(old)
        assert (URIRef(f"{EX}s1"), URIRef(f"{EX}text"), Literal('quote " back\\slash\nnewline é 😀')) in stored
        assert reader.query(f"SELECT ?l WHERE {{ <{EX}s0> <{EX}ref> ?b . ?b <{EX}name> ?l }}").rows == [(Literal("blank", lang="en"),)]
        assert not [x for x in s._scan()[0] if str(x).startswith(STAGING_PREFIX)]
    # the CLI takes the three-URL form and loads the small world through it
    r = runner.invoke(main, ["--store", url, "load", str(write(tmp_path, "world.ttl", SMALL_WORLD))])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["--store", virtuoso_url, "rank", "--home", "Q1001", "--all", "--format", "csv"])
    assert r.exit_code == 0 and "Alpha Foundation" in r.output, r.output


@pytest.mark.virtuoso
def test_opening_again_leaves_the_vocabulary_alone(virtuoso_url, monkeypatch):
    """Virtuoso answers "3"^^xsd:decimal for the vocabulary's "3.0": equal values, so a second open
    must not take it for an outdated vocabulary and rewrite its graph (every command did, once)."""
    with open_store(virtuoso_url) as s:
        s.ensure_ontology()

        def refuse(*_args, **_kwargs):
            raise AssertionError("the vocabulary graph was rewritten")

        monkeypatch.setattr(s, "replace_graph", refuse)
        s.ensure_ontology()
