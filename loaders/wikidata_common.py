"""What the live loader and the dump loader share: the property table, the seeds, N-Triples
writing, the integrity check of a bulk file, loading it atomically, and progress on a terminal.

Both loaders write N-Triples into a temporary file first and swap it into the wikidata graph in
one step, so a failed or interrupted load leaves the graph exactly as it was.
"""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterable

from rdflib import Graph, URIRef
from rdflib.namespace import RDF, RDFS

from partnergraph.errors import UserError
from partnergraph.ontology import ONTOLOGY_GRAPH, SCHEMA, WIKIDATA_GRAPH

WD_ENTITY = "http://www.wikidata.org/entity/"
WDT = "http://www.wikidata.org/prop/direct/"
WDNO = "http://www.wikidata.org/prop/novalue/"
GENID = "http://www.wikidata.org/.well-known/genid/"
RDFS_LABEL = str(RDFS.label)
SCHEMA_DESCRIPTION = str(SCHEMA.description)
RDF_TYPE = str(RDF.type)
XSD = "http://www.w3.org/2001/XMLSchema#"
GEO_WKT = "http://www.opengis.net/ont/geosparql#wktLiteral"


@dataclass(frozen=True)
class WikidataProperty:
    """One Wikidata property the loaders know, with why it is here."""

    pid: str
    label: str
    datatype: str  # Wikibase datatype: wikibase-item, url, external-id, time
    follow: bool  # hop over it to the neighbourhood by default (organization/component relations)


#: The properties loaded by default. Every id was checked against the full Wikidata property list
#: of 2022-01-16 (wvanderp/wikidata-properties data/properties.json, kept in the project's shared
#: reference folder as properties_from_wvanderp.txt / wikidata-properties-2022-01-16.json): id,
#: English label and datatype as listed there. Packagist and Maven have no property in that list,
#: so they are not here (add any other with --property).
PROPERTIES: tuple[WikidataProperty, ...] = (
    WikidataProperty("P31", "instance of", "wikibase-item", False),
    WikidataProperty("P279", "subclass of", "wikibase-item", False),
    WikidataProperty("P178", "developer", "wikibase-item", True),
    WikidataProperty("P126", "maintained by", "wikibase-item", True),
    WikidataProperty("P127", "owned by", "wikibase-item", True),
    WikidataProperty("P749", "parent organization", "wikibase-item", True),
    WikidataProperty("P355", "subsidiary", "wikibase-item", False),
    WikidataProperty("P463", "member of", "wikibase-item", True),
    WikidataProperty("P275", "copyright license", "wikibase-item", False),
    WikidataProperty("P17", "country", "wikibase-item", False),
    WikidataProperty("P159", "headquarters location", "wikibase-item", False),
    WikidataProperty("P856", "official website", "url", False),
    WikidataProperty("P1324", "source code repository", "url", False),
    WikidataProperty("P571", "inception", "time", False),
    WikidataProperty("P8262", "npm package", "external-id", False),
    WikidataProperty("P5568", "Python Package Index project", "external-id", False),
    WikidataProperty("P3442", "Debian stable package", "external-id", False),
    WikidataProperty("P4763", "crates.io ID", "external-id", False),
    WikidataProperty("P5566", "RubyGems gem", "external-id", False),
    WikidataProperty("P2037", "GitHub username", "external-id", False),
)
PROPERTY_BY_ID = {p.pid: p for p in PROPERTIES}
DEFAULT_PROPERTIES = tuple(p.pid for p in PROPERTIES)
DEFAULT_FOLLOW = tuple(p.pid for p in PROPERTIES if p.follow)
DEFAULT_LANGUAGES = ("en",)

_PID = re.compile(r"^P[1-9][0-9]*$")
_QID = re.compile(r"^Q[1-9][0-9]*$")
_LANG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$")


def check_properties(pids: Iterable[str], option: str = "--property") -> tuple[str, ...]:
    """Normalise property ids given by a user (``P178`` or ``wdt:P178``); reject anything else."""
    out: list[str] = []
    for raw in pids:
        pid = raw.strip().removeprefix("wdt:").upper()
        if not _PID.match(pid):
            raise UserError(f"{option} {raw!r} is not a Wikidata property id (P followed by digits, e.g. P178)")
        if pid not in out:
            out.append(pid)
    return tuple(out)


def check_classes(qids: Iterable[str]) -> tuple[str, ...]:
    """Normalise class item ids (``Q43229`` or ``wd:Q43229``)."""
    out: list[str] = []
    for raw in qids:
        qid = raw.strip().removeprefix("wd:").upper()
        if not _QID.match(qid):
            raise UserError(f"--class {raw!r} is not a Wikidata item id (Q followed by digits, e.g. Q43229)")
        out.append(qid)
    return tuple(out)


def check_languages(langs: Iterable[str]) -> tuple[str, ...]:
    """Language codes for labels and descriptions; ``*`` means every language."""
    out: list[str] = []
    for raw in langs:
        for lang in raw.split(","):
            lang = lang.strip()
            if lang == "*":
                return ("*",)
            if not _LANG.match(lang):
                raise UserError(f"--lang {lang!r} is not a language code (e.g. en, de, pt-br)")
            out.append(lang.lower())
    return tuple(dict.fromkeys(out))


def seed_items(store) -> list[str]:  # noqa: ANN001
    """The Wikidata items (QIDs) that the store's data graphs name, as subject or object: the
    organizations, components, goals… the curated and stack data talk about (not the wikidata
    graph itself, nor the vocabulary)."""
    result = store.query(
        "SELECT DISTINCT ?e WHERE { GRAPH ?g { { ?e ?p ?o } UNION { ?s ?p ?e } } "
        f"FILTER(?g != <{WIKIDATA_GRAPH}> && ?g != <{ONTOLOGY_GRAPH}>) FILTER(isIRI(?e) && STRSTARTS(STR(?e), \"{WD_ENTITY}Q\")) }}"
    )
    found = set()
    for (term,) in result.rows:
        qid = str(term)[len(WD_ENTITY):]
        if _QID.match(qid):
            found.add(qid)
    return sorted(found, key=lambda q: int(q[1:]))


# ---------------------------------------------------------------------- N-Triples

_IRI_BAD = re.compile(r'[\x00-\x20<>"{}|^`\\]')
_NT_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"}
_NT_SPECIAL = re.compile(r'[\\"\n\r]')


def nt_iri(iri: str) -> str:
    """An IRI as N-Triples; characters N-Triples forbids in an IRI are percent-encoded."""
    if _IRI_BAD.search(iri):
        iri = _IRI_BAD.sub(lambda m: "".join(f"%{b:02X}" for b in m.group(0).encode("utf-8")), iri)
    return f"<{iri}>"


def nt_literal(text: str, lang: str | None = None, datatype: str | None = None) -> str:
    """A literal as N-Triples (escaped; language tag or datatype)."""
    if _NT_SPECIAL.search(text):
        text = _NT_SPECIAL.sub(lambda m: _NT_ESCAPES[m.group(0)], text)
    if lang:
        return f'"{text}"@{lang}'
    if datatype:
        return f'"{text}"^^<{datatype}>'
    return f'"{text}"'


def valid_lang(tag: str) -> bool:
    return bool(_LANG.match(tag))


# ---------------------------------------------------------------------- integrity and loading


def _integrity_targets() -> tuple[set[str], set[str], set[str], set[str]]:
    """What can make a node a focus node of shapes/integrity.ttl: target classes, predicates whose
    subjects or objects are targeted, and explicit target nodes."""
    from partnergraph.ontology import SH
    from partnergraph.shapes import shapes_graph

    g = shapes_graph("integrity")
    classes = {str(o) for o in g.objects(None, SH.targetClass)}
    subjects_of = {str(o) for o in g.objects(None, SH.targetSubjectsOf)}
    objects_of = {str(o) for o in g.objects(None, SH.targetObjectsOf)}
    nodes = {str(o) for o in g.objects(None, SH.targetNode)}
    # An implicit class target: a shape that is itself an rdfs:Class targets its instances.
    classes |= {str(s) for s in g.subjects(RDF.type, RDFS.Class)}
    return classes, subjects_of, objects_of, nodes


def _split_nt(line: str) -> tuple[str, str, str]:
    s, p, rest = line.split(" ", 2)
    return s, p, rest.rstrip().removesuffix(".").rstrip()


def check_nt_integrity(path: Path) -> int:
    """Check a bulk N-Triples file against shapes/integrity.ttl before it is stored.

    pyshacl cannot take millions of triples, and need not: only nodes a shape targets can break a
    rule. One streaming pass finds them (rdf:type of a target class, subject/object of a target
    predicate, a target node); the triples about those nodes go through check_integrity. Returns
    the number of focus nodes checked (0 for plain Wikidata data, which has none)."""
    from partnergraph.shapes import check_integrity

    classes, subjects_of, objects_of, nodes = _integrity_targets()
    classes_nt = {f"<{c}>" for c in classes}
    subj_nt = {f"<{p}>" for p in subjects_of}
    obj_nt = {f"<{p}>" for p in objects_of}
    nodes_nt = {f"<{n}>" for n in nodes}
    type_nt = f"<{RDF_TYPE}>"
    focus: set[str] = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            s, p, o = _split_nt(line)
            if (p == type_nt and o in classes_nt) or p in subj_nt or s in nodes_nt:
                focus.add(s)
            if p in obj_nt or o in nodes_nt:
                focus.add(o)
    if not focus:
        return 0
    lines = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.split(" ", 1)[0] in focus:
                lines.append(line)
    g = Graph()
    g.parse(data="".join(lines), format="nt")
    check_integrity(g)
    return len(focus)


def load_nt(store, path: Path, graph: URIRef = WIKIDATA_GRAPH) -> None:  # noqa: ANN001
    """Swap an N-Triples file into ``graph`` atomically (Oxigraph's bulk loader where there is one)."""
    try:
        if hasattr(store, "replace_graph_from_file"):
            store.replace_graph_from_file(graph, str(path), "nt")
        else:
            g = Graph()
            g.parse(str(path), format="nt")
            store.replace_graph(graph, iter(g))
    except (SyntaxError, ValueError) as exc:
        raise UserError(f"the converted data did not load ({exc}); the wikidata graph is unchanged") from exc


def temp_path(directory: Path, prefix: str) -> Path:
    """A fresh temporary file name in ``directory`` (removed by the caller)."""
    import tempfile

    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".nt", dir=directory)
    os.close(fd)
    return Path(name)


# ---------------------------------------------------------------------- progress


class Progress:
    """Progress on a terminal through tqdm (count, rate per second), silent when stderr is not a
    terminal: logs and pipes get the command's one-line summary only."""

    def __init__(self, label: str, total: int | None = None, unit: str = "batches", stream: IO[str] | None = None,
                 enabled: bool | None = None) -> None:
        from tqdm import tqdm

        stream = stream or sys.stderr
        enabled = stream.isatty() if enabled is None else enabled
        self._bar = tqdm(total=total, desc=label, unit=f" {unit}", file=stream, disable=not enabled,
                         mininterval=0.5, unit_scale=unit == "entities", leave=True)
        self.started = time.perf_counter()

    def update(self, n: int = 1) -> None:
        self._bar.update(n)

    def close(self) -> None:
        self._bar.close()

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started
