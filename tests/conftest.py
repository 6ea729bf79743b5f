"""Shared fixtures: stores of every embedded kind, small graphs, a CLI runner."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from partnergraph.store import open_store

PREFIXES = textwrap.dedent("""\
    @prefix pg: <https://w3id.org/partnergraph/ns#> .
    @prefix pgid: <https://w3id.org/partnergraph/id/> .
    @prefix wd: <http://www.wikidata.org/entity/> .
    @prefix org: <http://www.w3.org/ns/org#> .
    @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
    @prefix skos: <http://www.w3.org/2004/02/skos/core#> .
    @prefix dcterms: <http://purl.org/dc/terms/> .
    @prefix foaf: <http://xmlns.com/foaf/0.1/> .
    @prefix schema: <http://schema.org/> .
    @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
    """)

SRC = "<https://example.org/source>"

#: A small, complete world: a home (Q1001), three candidate partners and what relates them.
#: Q2001 maintains a high-criticality component, shares two goals, worked with the home in 2024
#: and is in ongoing collaboration; Q2002 maintains a low-criticality library and shares one goal;
#: Q2003 shares a goal but has nothing else (it fails Relevance); Q2004 is the home's affiliate,
#: never ranked, whose 2024 event with Q2002 counts for the home.
SMALL_WORLD = PREFIXES + textwrap.dedent(f"""\
    wd:Q1001 a pg:HomeOrganization, org:Organization ; rdfs:label "Home Org"@en ;
        foaf:homepage <https://home.example> ; pg:goalScheme pgid:goals-home .
    pgid:goals-home a skos:ConceptScheme .
    pgid:goal-open a skos:Concept ; skos:inScheme pgid:goals-home ; skos:prefLabel "Open knowledge"@en .
    pgid:goal-maps a skos:Concept ; skos:inScheme pgid:goals-home ; skos:prefLabel "Open maps"@en .

    wd:Q2001 a org:Organization ; rdfs:label "Alpha Foundation"@en ; foaf:homepage <https://alpha.example> ;
        schema:addressCountry wd:Q183 .
    wd:Q2002 a org:Organization ; rdfs:label "Beta Corp"@en ; foaf:homepage <https://beta.example> .
    wd:Q2003 a org:Organization ; rdfs:label "Gamma Society"@en .
    wd:Q2004 a org:Organization ; rdfs:label "Home Chapter"@en ; pg:affiliateOf wd:Q1001 .
    pgid:act-3 a pg:Event ; dcterms:title "Chapter hackathon with Beta" ; pg:home wd:Q2004 ; pg:partner wd:Q2002 ;
        dcterms:date "2024-06-01"^^xsd:date ; dcterms:source {SRC} .

    wd:Q3001 a pg:Component ; rdfs:label "AlphaDB"@en .
    wd:Q3002 a pg:Component ; rdfs:label "beta-lib"@en .
    pgid:usage-1 a pg:Usage ; pg:home wd:Q1001 ; pg:component wd:Q3001 ; pg:criticality pg:CriticalityHigh ; dcterms:source {SRC} .
    pgid:usage-2 a pg:Usage ; pg:home wd:Q1001 ; pg:component wd:Q3002 ; pg:criticality pg:CriticalityLow ; dcterms:source {SRC} .
    pgid:st-1 a pg:Stewardship ; pg:component wd:Q3001 ; pg:organization wd:Q2001 ; pg:role pg:Developer ; dcterms:source {SRC} .
    pgid:st-2 a pg:Stewardship ; pg:component wd:Q3002 ; pg:organization wd:Q2002 ; pg:role pg:Maintainer ; dcterms:source {SRC} .

    pgid:al-1 a pg:GoalAlignment ; pg:organization wd:Q2001 ; pg:goal pgid:goal-open ; dcterms:source {SRC} .
    pgid:al-2 a pg:GoalAlignment ; pg:organization wd:Q2001 ; pg:goal pgid:goal-maps ; dcterms:source {SRC} .
    pgid:al-3 a pg:GoalAlignment ; pg:organization wd:Q2002 ; pg:goal pgid:goal-open ; dcterms:source {SRC} .
    pgid:al-4 a pg:GoalAlignment ; pg:organization wd:Q2003 ; pg:goal pgid:goal-open ; dcterms:source {SRC} .

    pgid:act-1 a pg:UpstreamContribution ; dcterms:title "Patches to AlphaDB" ; pg:home wd:Q1001 ; pg:partner wd:Q2001 ;
        dcterms:date "2024-03-01"^^xsd:date ; dcterms:source {SRC} .
    pgid:act-2 a pg:Event ; dcterms:title "Joint hackathon" ; pg:home wd:Q1001 ; pg:partner wd:Q2002 ;
        dcterms:date "2019-06-01"^^xsd:date ; dcterms:source {SRC} .
    pgid:sc-1 a pg:StatusClaim ; pg:home wd:Q1001 ; pg:organization wd:Q2001 ; pg:status pg:OngoingCollaboration ;
        dcterms:date "2023-01-10"^^xsd:date ; dcterms:source {SRC} .
    """)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def virtuoso_server():
    """One private Virtuoso for the session (Debian's virtuoso-opensource), on 127.0.0.1."""
    from partnergraph.store_virtuoso import VirtuosoServer, virtuoso_binary

    if virtuoso_binary() is None:
        pytest.skip("Virtuoso is not installed (apt-get install virtuoso-opensource; .ci/run does it)")
    with VirtuosoServer() as server:
        yield server


@pytest.fixture
def virtuoso_url(virtuoso_server, monkeypatch) -> str:
    """The Virtuoso store, emptied, with its credentials in the environment as a user would set them."""
    for key, value in virtuoso_server.env.items():
        monkeypatch.setenv(key, value)
    with open_store(virtuoso_server.store_url, init=False) as s:
        s.wipe()
    return virtuoso_server.store_url


_VIRTUOSO = pytest.param("virtuoso", marks=pytest.mark.virtuoso)


@pytest.fixture(params=["memory", "oxigraph", _VIRTUOSO])
def store(request, tmp_path):
    """Each backend in turn (the embedded ones and a real Virtuoso): store-level tests pass on all."""
    if request.param == "virtuoso":
        url = request.getfixturevalue("virtuoso_url")
    else:
        url = "memory:" if request.param == "memory" else f"oxigraph:{tmp_path / 'store'}"
    s = open_store(url)
    yield s
    s.close()


@pytest.fixture(params=["oxigraph", _VIRTUOSO])
def store_url(request, tmp_path) -> str:
    """The embedded store, then Virtuoso: the CLI tests that take this run on both."""
    if request.param == "virtuoso":
        return request.getfixturevalue("virtuoso_url")
    return f"oxigraph:{tmp_path / 'store'}"


@pytest.fixture
def small_world(tmp_path) -> Path:
    return write(tmp_path, "world.ttl", SMALL_WORLD)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture(scope="session")
def bundled_store_url(tmp_path_factory) -> str:
    """An embedded store with the bundled Wikimedia data loaded once for the session."""
    from partnergraph.service import load_bundled

    url = f"oxigraph:{tmp_path_factory.mktemp('bundled') / 'store'}"
    with open_store(url) as s:
        load_bundled(s)
    return url
