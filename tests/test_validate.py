"""Principles of partnership: verdicts, severities, as-of, exit codes, and the native evaluator."""

from __future__ import annotations

import datetime as dt
import json

from rdflib import BNode, Graph, Literal
from rdflib.namespace import RDF, XSD

from partnergraph import shapes as S
from partnergraph.cli import main
from partnergraph.loaders.rdf import load_paths
from partnergraph.ontology import PG, SH, WD
from partnergraph.service import validate_store
from partnergraph.store import open_store


def test_verdicts_on_the_small_world(store, small_world):
    load_paths(store, [small_world])
    result = validate_store(store, as_of=dt.date(2025, 1, 1))
    v = result.verdicts
    assert set(v) == {WD["Q2001"], WD["Q2002"], WD["Q2003"]}  # the home is not judged
    assert v[WD["Q2001"]].eligible and v[WD["Q2002"]].eligible
    assert not v[WD["Q2003"]].eligible
    messages = [f.message for f in v[WD["Q2003"]].findings]
    assert any("neither maintains a component" in m for m in messages)
    assert any("no official website" in m for m in messages)  # a warning
    assert any(f.severity == "Info" and f.principle == "Diversity" for f in v[WD["Q2002"]].findings)
    assert not result.conforms


def test_stale_ongoing_collaboration_is_a_warning(store, small_world):
    load_paths(store, [small_world])
    fresh = validate_store(store, as_of=dt.date(2025, 1, 1)).verdicts[WD["Q2001"]]
    stale = validate_store(store, as_of=dt.date(2026, 1, 1)).verdicts[WD["Q2001"]]
    assert not any("stale" in f.message for f in fresh.findings)
    found = [f for f in stale.findings if "stale" in f.message]
    assert len(found) == 1 and found[0].severity == "Warning" and stale.eligible


def test_stale_check_reads_the_latest_claim_and_the_window(store, tmp_path):
    """Stale: the latest claim by the as-of date is an ongoing collaboration and no activity falls in
    the twelve months before it. Later claims of another status, claims after the as-of date and
    activities in the window all count; the native evaluator and pyshacl agree on every engine."""
    from conftest import SMALL_WORLD, SRC, write

    extra = f"""
    pgid:sc-20 a pg:StatusClaim ; pg:home wd:Q1001 ; pg:organization wd:Q2002 ; pg:status pg:OngoingCollaboration ;
        dcterms:date "2023-01-01"^^xsd:date ; dcterms:source {SRC} .
    pgid:sc-21 a pg:StatusClaim ; pg:home wd:Q1001 ; pg:organization wd:Q2002 ; pg:status pg:ConversationStarted ;
        dcterms:date "2024-01-01"^^xsd:date ; dcterms:source {SRC} .
    pgid:sc-30 a pg:StatusClaim ; pg:home wd:Q1001 ; pg:organization wd:Q2003 ; pg:status pg:OngoingCollaboration ;
        dcterms:date "2022-05-01"^^xsd:date ; dcterms:source {SRC} .
    pgid:sc-31 a pg:StatusClaim ; pg:home wd:Q1001 ; pg:organization wd:Q2003 ; pg:status pg:ConversationStarted ;
        dcterms:date "2026-01-01"^^xsd:date ; dcterms:source {SRC} .
    """
    load_paths(store, [write(tmp_path, "stale.ttl", SMALL_WORLD + extra)])

    def stale(result):
        return {f.organization for f in result.findings if "stale" in f.message}

    for as_of, expected in ((dt.date(2024, 6, 1), {WD["Q2003"]}),
                            (dt.date(2025, 6, 1), {WD["Q2001"], WD["Q2003"]}),
                            (dt.date(2026, 6, 1), {WD["Q2001"]})):
        assert stale(validate_store(store, as_of=as_of)) == expected, as_of
        assert stale(S.evaluate_principles(store, as_of=as_of)) == expected, as_of
        for org in (WD["Q2001"], WD["Q2002"], WD["Q2003"]):
            assert stale(S.evaluate_principles(store, as_of=as_of, focus=[org])) == expected & {org}, (as_of, org)


def test_native_sparql_evaluation_matches_pyshacl(bundled_store_url):
    """The one-pass Oxigraph evaluation of SHACL-SPARQL constraints gives pyshacl's results."""
    with open_store(bundled_store_url, read_only=True) as s:
        data = s.union_graph()
    for t in S._ontology():
        data.add(t)
    ctx = BNode()
    data.add((ctx, RDF.type, PG.ValidationContext))
    data.add((ctx, PG.asOf, Literal("2025-06-30", datatype=XSD.date)))
    shapes = S.shapes_graph("principles")

    def keys(report):
        return {
            (report.value(r, SH.focusNode), report.value(r, SH.resultSeverity), report.value(r, SH.sourceConstraint))
            for r in report.subjects(RDF.type, SH.ValidationResult)
            if report.value(r, SH.sourceConstraintComponent) == SH.SPARQLConstraintComponent
        }

    reference = keys(S._run_pyshacl(data, shapes))
    native = Graph()
    native.add((BNode(), RDF.type, SH.ValidationReport))
    S._run_sparql_constraints(data, shapes, native, None)
    assert len(reference) > 50
    assert keys(native) == reference


def test_principles_file_passes_shacl_shapes_for_shapes():
    import pyshacl

    for name in ("principles", "integrity"):
        conforms, _g, text = pyshacl.validate(S.shapes_graph(name), shacl_graph=None, meta_shacl=True, advanced=True)
        assert conforms, text


def test_principles_are_read_from_the_shapes_file(runner):
    r = runner.invoke(main, ["principles"])
    assert r.exit_code == 0
    names = [p.label for p in S.principles()]
    assert names == ["Mission alignment", "Relevance", "Openness", "Identity", "Traceability", "Diversity"]
    for p in S.principles():
        assert p.label in r.output and p.comment in r.output


def test_validate_cli_exit_codes_and_formats(runner, store_url, small_world, tmp_path):
    assert runner.invoke(main, ["--store", store_url, "load", str(small_world)]).exit_code == 0
    r = runner.invoke(main, ["--store", store_url, "validate", "--as-of", "2025-01-01"])
    assert r.exit_code == 1
    assert "Gamma Society (Q2003): NOT ELIGIBLE" in r.output
    assert "Alpha Foundation (Q2001): eligible" in r.output
    r = runner.invoke(main, ["--store", store_url, "validate", "--as-of", "2025-01-01", "--focus", "Q2001"])
    assert r.exit_code == 0, r.output  # the focus conforms
    assert "Gamma" not in r.output
    r = runner.invoke(main, ["--store", store_url, "validate", "--format", "json", "--as-of", "2025-01-01"])
    data = json.loads(r.output)
    assert data["conforms"] is False
    assert {o["qid"]: o["eligible"] for o in data["organizations"]} == {"Q2001": True, "Q2002": True, "Q2003": False}
    r = runner.invoke(main, ["--store", store_url, "validate", "--format", "turtle", "--as-of", "2025-01-01"])
    report = Graph().parse(data=r.output, format="turtle")
    assert (None, RDF.type, SH.ValidationReport) in report
    assert (None, SH.conforms, Literal(False)) in report
    r = runner.invoke(main, ["--store", store_url, "validate", "--focus", "Q424242"])
    assert r.exit_code == 2 and "not an organization" in r.output
