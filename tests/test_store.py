"""The store: named graphs, atomic replacement, leftovers of killed loads, both embedded backends."""

from __future__ import annotations

import pytest
from rdflib import Graph, Literal, URIRef

from partnergraph.errors import UserError
from partnergraph.ontology import CURATED_GRAPH, ONTOLOGY_GRAPH
from partnergraph.store import STAGING_PREFIX, open_store

EX = "http://example.org/"


def triples(n: int, tag: str = "v"):
    return [(URIRef(f"{EX}s{i}"), URIRef(f"{EX}p"), Literal(f"{tag}{i}")) for i in range(n)]


def test_open_loads_the_vocabulary(store):
    assert ONTOLOGY_GRAPH in store.graph_names()
    r = store.query("ASK { <https://w3id.org/partnergraph/ns#OngoingCollaboration> ?p ?o }")
    assert r.boolean is True


def test_replace_graph_replaces_exactly_one_graph(store):
    g1, g2 = URIRef(EX + "g1"), URIRef(EX + "g2")
    store.replace_graph(g1, triples(3, "a"))
    store.replace_graph(g2, triples(2, "b"))
    store.replace_graph(g1, triples(1, "c"))
    sizes = dict(store.graph_sizes())
    assert sizes[g1] == 1 and sizes[g2] == 2
    rows = store.query(f"SELECT ?o WHERE {{ GRAPH <{g1}> {{ ?s ?p ?o }} }}").rows
    assert [str(r[0]) for r in rows] == ["c0"]


def test_failing_write_leaves_previous_graph_intact(store):
    g = URIRef(EX + "g")
    store.replace_graph(g, triples(5, "old"))

    def broken():
        yield from triples(3, "new")
        raise RuntimeError("the source broke half way")

    with pytest.raises(RuntimeError):
        store.replace_graph(g, broken())
    values = sorted(str(r[0]) for r in store.query(f"SELECT ?o WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} }}").rows)
    assert values == [f"old{i}" for i in range(5)]
    assert not any(str(name).startswith(STAGING_PREFIX) for name in store._all_graph_names())


def test_queries_read_the_union_of_graphs(store):
    store.replace_graph(URIRef(EX + "g1"), [(URIRef(EX + "a"), URIRef(EX + "p"), URIRef(EX + "b"))])
    store.replace_graph(URIRef(EX + "g2"), [(URIRef(EX + "b"), URIRef(EX + "p"), URIRef(EX + "c"))])
    r = store.query(f"SELECT ?z WHERE {{ <{EX}a> <{EX}p>/<{EX}p> ?z }}")
    assert [str(x[0]) for x in r.rows] == [EX + "c"]


def test_malformed_query_is_a_user_error(store):
    with pytest.raises(UserError) as exc:
        store.query("SELECT ?x WHERE { ?x ")
    assert "syntax" in str(exc.value).lower() or "query failed" in str(exc.value)


def test_staging_left_by_a_killed_load_is_invisible_and_cleaned(tmp_path):
    url = f"oxigraph:{tmp_path / 'store'}"
    s = open_store(url)
    g = URIRef(EX + "g")
    s.replace_graph(g, triples(2, "kept"))
    # What a load killed before its final MOVE leaves behind: a half-written staging graph.
    staging = URIRef(STAGING_PREFIX + "killed")
    s._write_staging(staging, triples(7, "half"))
    assert staging not in s.graph_names()
    values = [str(r[0]) for r in s.query("SELECT ?o WHERE { ?s ?p ?o FILTER(STRSTARTS(STR(?o), 'half')) }").rows]
    assert values == []  # readers never see staging triples
    s.close()
    s = open_store(url)  # reopening tidies up
    assert staging not in s._all_graph_names()
    assert dict(s.graph_sizes())[g] == 2
    s.close()


def test_store_persists_across_opens(tmp_path):
    url = f"oxigraph:{tmp_path / 'store'}"
    with open_store(url) as s:
        s.replace_graph(CURATED_GRAPH, triples(4))
    with open_store(url, read_only=True) as s:
        assert dict(s.graph_sizes())[CURATED_GRAPH] == 4


def test_unknown_store_url_is_a_user_error():
    with pytest.raises(UserError, match="unknown store URL"):
        open_store("ftp://nowhere")


def test_read_only_open_of_a_missing_store_says_so(tmp_path):
    from partnergraph.errors import StoreError

    with pytest.raises(StoreError, match="no store at"):
        open_store(f"oxigraph:{tmp_path / 'absent'}", read_only=True)


def test_get_graph_copies_one_graph(store):
    g = URIRef(EX + "g")
    store.replace_graph(g, triples(3))
    copy = store.get_graph(g)
    assert isinstance(copy, Graph) and len(copy) == 3
