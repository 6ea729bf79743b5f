"""Loading RDF: atomic, checked against integrity, clear errors with exit code 2 on bad input."""

from __future__ import annotations

import json

from conftest import PREFIXES, SRC, write

from partnergraph.cli import main
from partnergraph.ontology import CURATED_GRAPH
from partnergraph.store import open_store


def curated_count(url: str) -> int:
    with open_store(url, read_only=True) as s:
        return dict(s.graph_sizes()).get(CURATED_GRAPH, 0)


def test_load_file_then_folder(runner, store_url, small_world, tmp_path):
    r = runner.invoke(main, ["--store", store_url, "load", str(small_world)])
    assert r.exit_code == 0, r.output
    assert "triples from 1 file(s)" in r.output
    n = curated_count(store_url)
    assert n > 50
    extra = write(tmp_path / "more", "x.ttl", PREFIXES + 'wd:Q9 a org:Organization ; rdfs:label "Nine" .') if (tmp_path / "more").mkdir() is None else None
    r = runner.invoke(main, ["--store", store_url, "load", str(tmp_path / "more"), "--graph", "extra"])
    assert r.exit_code == 0, r.output
    assert curated_count(store_url) == n  # another graph: curated untouched
    assert extra.exists()


def test_malformed_file_is_exit_2_and_store_unchanged(runner, store_url, small_world, tmp_path):
    runner.invoke(main, ["--store", store_url, "load", str(small_world)])
    before = curated_count(store_url)
    bad = write(tmp_path, "bad.ttl", PREFIXES + "wd:Q1 rdfs:label 'unterminated .\n")
    r = runner.invoke(main, ["--store", store_url, "load", str(small_world), str(bad)])
    assert r.exit_code == 2
    assert "bad.ttl" in r.output and "not valid turtle" in r.output
    assert "Traceback" not in r.output
    assert curated_count(store_url) == before


def test_integrity_violation_is_rejected_with_the_shapes_messages(runner, store_url, small_world, tmp_path):
    runner.invoke(main, ["--store", store_url, "load", str(small_world)])
    before = curated_count(store_url)
    broken = write(tmp_path, "broken.ttl", PREFIXES + """
        pgid:org-nameless a org:Organization .
        pgid:act-x a pg:Event ; pg:home wd:Q1001 ; pg:partner pgid:org-nameless ;
            dcterms:date "2020-01-01" .
        wd:Q0123 a org:Organization ; rdfs:label "Leading zero" .
        """)
    r = runner.invoke(main, ["--store", store_url, "load", str(broken)])
    assert r.exit_code == 2
    out = r.output
    assert "nothing was written" in out
    assert "needs a label" in out  # organization without label
    assert "well-formed Wikidata entity IRI" in out  # Q0123 and the unmarked project IRI
    assert "needs a source" in out  # activity without dcterms:source
    assert "xsd:date" in out  # plain-string date
    assert "needs a title" in out
    assert curated_count(store_url) == before


def test_references_to_organizations_in_other_graphs_are_accepted(runner, store_url, small_world, tmp_path):
    assert runner.invoke(main, ["--store", store_url, "load", str(small_world)]).exit_code == 0
    act = write(tmp_path, "act.ttl", PREFIXES + f"""
        pgid:act-new a pg:Conversation ; dcterms:title "A call" ; pg:home wd:Q1001 ; pg:partner wd:Q2003 ;
            dcterms:date "2025-05-05"^^xsd:date ; dcterms:source {SRC} .""")
    r = runner.invoke(main, ["--store", store_url, "load", str(act), "--graph", "activities-2025"])
    assert r.exit_code == 0, r.output
    dangling = write(tmp_path, "dangling.ttl", PREFIXES + f"""
        pgid:act-new a pg:Conversation ; dcterms:title "A call" ; pg:home wd:Q1001 ; pg:partner wd:Q77777 ;
            dcterms:date "2025-05-05"^^xsd:date ; dcterms:source {SRC} .""")
    r = runner.invoke(main, ["--store", store_url, "load", str(dangling), "--graph", "activities-2025"])
    assert r.exit_code == 2 and "declared as an org:Organization" in r.output


def test_missing_path_and_unknown_suffix(runner, store_url, tmp_path):
    r = runner.invoke(main, ["--store", store_url, "load", str(tmp_path / "nope.ttl")])
    assert r.exit_code == 2 and "no such file" in r.output
    odd = write(tmp_path, "data.weird", "x")
    r = runner.invoke(main, ["--store", store_url, "load", str(odd)])
    assert r.exit_code == 2 and "--format" in r.output
    empty = tmp_path / "empty"
    empty.mkdir()
    r = runner.invoke(main, ["--store", store_url, "load", str(empty)])
    assert r.exit_code == 2 and "no RDF files" in r.output


def test_bad_graph_name(runner, store_url, small_world):
    r = runner.invoke(main, ["--store", store_url, "load", str(small_world), "--graph", "bad name!"])
    assert r.exit_code == 2 and "not a graph name" in r.output


def test_other_syntaxes(runner, store_url, tmp_path):
    nt = write(tmp_path, "a.nt", '<http://www.wikidata.org/entity/Q5000> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://www.w3.org/ns/org#Organization> .\n'
               '<http://www.wikidata.org/entity/Q5000> <http://www.w3.org/2000/01/rdf-schema#label> "N-Triples Org" .\n')
    r = runner.invoke(main, ["--store", store_url, "load", str(nt)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["--store", store_url, "query", "--format", "json", str(write(tmp_path, "q.rq",
        "SELECT ?l WHERE { <http://www.wikidata.org/entity/Q5000> <http://www.w3.org/2000/01/rdf-schema#label> ?l }"))])
    assert json.loads(r.output) == [{"l": "N-Triples Org"}]


def test_reference_to_an_unresolved_organization_in_another_graph(runner, store_url, small_world, tmp_path):
    """Context read from other graphs is not judged itself (regression: it failed the identity rule)."""
    org = write(tmp_path, "org.ttl", PREFIXES + 'pgid:org-x a org:Organization ; rdfs:label "X" ; pg:unresolved true ; pg:searchLabel "X" .')
    assert runner.invoke(main, ["--store", store_url, "load", str(small_world)]).exit_code == 0
    assert runner.invoke(main, ["--store", store_url, "load", str(org), "--graph", "orgs"]).exit_code == 0
    act = write(tmp_path, "act.ttl", PREFIXES + f"""
        pgid:act-x a pg:Event ; dcterms:title "Meet X" ; pg:home wd:Q1001 ; pg:partner pgid:org-x ;
            dcterms:date "2025-05-05"^^xsd:date ; dcterms:source {SRC} .""")
    r = runner.invoke(main, ["--store", store_url, "load", str(act), "--graph", "acts"])
    assert r.exit_code == 0, r.output


def test_generic_node_messages_are_not_repeated(runner, store_url, tmp_path):
    bad = write(tmp_path, "bad.ttl", PREFIXES + """
        wd:Q7 a org:Organization ; rdfs:label "Seven" .
        pgid:act-y a pg:Event ; dcterms:title "Y" ; pg:home wd:Q7 ; pg:partner wd:Q7 ; dcterms:date "2020-01-01"^^xsd:date .""")
    r = runner.invoke(main, ["--store", store_url, "load", str(bad)])
    assert r.exit_code == 2
    assert "needs a source" in r.output
    assert "conform to every Shape" not in r.output


def test_jsonld_inline_context_loads_and_remote_context_is_refused(runner, store_url, tmp_path):
    inline = write(tmp_path, "ok.jsonld", json.dumps({
        "@context": {"rdfs": "http://www.w3.org/2000/01/rdf-schema#", "org": "http://www.w3.org/ns/org#"},
        "@id": "http://www.wikidata.org/entity/Q4242", "@type": "org:Organization", "rdfs:label": "JSON-LD Org"}))
    r = runner.invoke(main, ["--store", store_url, "load", str(inline), "--graph", "j"])
    assert r.exit_code == 0, r.output
    remote = write(tmp_path, "remote.jsonld", json.dumps({"@context": "http://127.0.0.1:9/ctx.jsonld", "@id": "http://x"}))
    r = runner.invoke(main, ["--store", store_url, "load", str(remote), "--graph", "j"])
    assert r.exit_code == 2 and "remote JSON-LD context" in r.output
    nested = write(tmp_path, "nested.jsonld", json.dumps({"@context": [{"@import": "https://example.org/c"}], "@id": "http://x"}))
    r = runner.invoke(main, ["--store", store_url, "load", str(nested), "--graph", "j"])
    assert r.exit_code == 2 and "remote JSON-LD context" in r.output
