"""The bundled Wikimedia dataset: big enough, sourced, well-formed."""

from __future__ import annotations

import re

from rdflib import Graph
from rdflib.namespace import DCTERMS, RDF, SKOS

from partnergraph.data import dataset_path
from partnergraph.ontology import PG, qid_of
from partnergraph.shapes import check_integrity

ORG = "http://www.w3.org/ns/org#Organization"


def bundled() -> Graph:
    g = Graph()
    for f in sorted(dataset_path("wikimedia").glob("*.ttl")):
        g.parse(f)
    return g


def test_sizes_and_sources():
    from rdflib import URIRef

    g = bundled()
    orgs = set(g.subjects(RDF.type, URIRef(ORG)))
    components = set(g.subjects(RDF.type, PG.Component))
    goals = {c for c in g.subjects(RDF.type, SKOS.Concept) if (c, SKOS.inScheme, None) in g}
    activity_types = [PG.Deployment, PG.UpstreamContribution, PG.DownstreamContribution, PG.Event, PG.Mentoring,
                      PG.Grant, PG.Sponsorship, PG.Conversation, PG.Membership]
    activities = {a for t in activity_types for a in g.subjects(RDF.type, t)}
    assert len(orgs) >= 30 and len(components) >= 50 and len(goals) >= 8 and len(activities) >= 25
    relations = activities | set(g.subjects(RDF.type, PG.Stewardship)) | set(g.subjects(RDF.type, PG.Usage)) \
        | set(g.subjects(RDF.type, PG.GoalAlignment)) | set(g.subjects(RDF.type, PG.StatusClaim))
    for node in relations:
        sources = list(g.objects(node, DCTERMS.source))
        assert sources and all(re.match(r"^https?://", str(s)) for s in sources), node
    named = {"OpenStreetMap Foundation", "Apertium", "Phacility", "Europeana Foundation", "Meta Platforms"}
    labels = {str(label).split(" (")[0] for o in orgs for label in g.objects(o, URIRef("http://www.w3.org/2000/01/rdf-schema#label"))}
    assert named <= labels | {l.split(" (")[0] for l in labels}


def test_identities_are_qids_or_marked_unresolved():
    from rdflib import URIRef

    g = bundled()
    for node in set(g.subjects(RDF.type, URIRef(ORG))) | set(g.subjects(RDF.type, PG.Component)):
        if qid_of(node) is None:
            assert (node, PG.unresolved, None) in g and (node, PG.searchLabel, None) in g, node


def test_bundled_data_passes_integrity():
    check_integrity(bundled())
