"""The partnergraph vocabulary: namespace objects and the IRIs of the named graphs.

The Turtle file next to this module (``partnergraph.ttl``) is the vocabulary itself; this module
only gives Python code the same names, so nobody spells an IRI by hand.
"""

from __future__ import annotations

import re
from importlib import resources

from rdflib import Graph, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, ORG, OWL, PROV, RDF, RDFS, SKOS, XSD

PG = Namespace("https://w3id.org/partnergraph/ns#")
PGID = Namespace("https://w3id.org/partnergraph/id/")
GRAPH = Namespace("https://w3id.org/partnergraph/graph/")
WD = Namespace("http://www.wikidata.org/entity/")
WDT = Namespace("http://www.wikidata.org/prop/direct/")
SCHEMA = Namespace("http://schema.org/")
DOAP = Namespace("http://usefulinc.com/ns/doap#")
SH = Namespace("http://www.w3.org/ns/shacl#")

#: Well-known named graphs, one per source (a reload replaces exactly one of them).
CURATED_GRAPH = GRAPH["curated"]
WIKIDATA_GRAPH = GRAPH["wikidata"]
STACK_GRAPH = GRAPH["stack"]
PROPOSALS_GRAPH = GRAPH["proposals"]
ONTOLOGY_GRAPH = GRAPH["ontology"]

#: The home organization of the bundled data: the Wikimedia Foundation (Q180).
DEFAULT_HOME = WD["Q180"]

#: Prefixes every query, report and serialization may rely on.
PREFIXES: dict[str, Namespace] = {
    "pg": PG,
    "pgid": PGID,
    "wd": WD,
    "wdt": WDT,
    "rdf": Namespace(str(RDF)),
    "rdfs": Namespace(str(RDFS)),
    "owl": Namespace(str(OWL)),
    "xsd": Namespace(str(XSD)),
    "skos": Namespace(str(SKOS)),
    "dcterms": Namespace(str(DCTERMS)),
    "org": Namespace(str(ORG)),
    "prov": Namespace(str(PROV)),
    "foaf": Namespace(str(FOAF)),
    "schema": SCHEMA,
    "doap": DOAP,
    "sh": SH,
}

_QID = re.compile(r"^Q[1-9][0-9]*$")
_WD_IRI = re.compile(r"^http://www\.wikidata\.org/entity/(Q[1-9][0-9]*)$")


def is_qid(text: str) -> bool:
    """True for a well-formed Wikidata item id such as ``Q180`` (no leading zero)."""
    return bool(_QID.match(text))


def qid_of(iri: object) -> str | None:
    """The QID of a Wikidata entity IRI, or None for any other IRI."""
    match = _WD_IRI.match(str(iri))
    return match.group(1) if match else None


def entity(qid: str) -> URIRef:
    """The Wikidata entity IRI of a QID; raises ValueError for anything that is not a QID."""
    if not is_qid(qid):
        raise ValueError(f"not a Wikidata item id: {qid!r} (expected Q followed by digits, e.g. Q180)")
    return WD[qid]


def graph_iri(name: str) -> URIRef:
    """The IRI of a named graph given by short name (``curated``) or by full IRI."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", name):
        return URIRef(name)
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_./-]*$", name):
        raise ValueError(f"not a graph name: {name!r} (use letters, digits, '-', '_', '/' or a full IRI)")
    return GRAPH[name]


def ontology_path():
    """The vocabulary file, as an importlib.resources Traversable (works from an installed wheel)."""
    return resources.files(__name__).joinpath("partnergraph.ttl")


def ontology_graph() -> Graph:
    """The vocabulary parsed into an rdflib Graph."""
    g = Graph()
    g.parse(data=ontology_path().read_text(encoding="utf-8"), format="turtle")
    return g
