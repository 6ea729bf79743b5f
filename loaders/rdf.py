"""Load RDF files (Turtle, N-Triples, N-Quads, TriG, RDF/XML, JSON-LD) into one named graph."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from rdflib import Graph, URIRef
from rdflib.namespace import RDF, RDFS, SKOS

from partnergraph.errors import UserError
from partnergraph.ontology import CURATED_GRAPH, PG, PREFIXES
from partnergraph.shapes import check_integrity
from partnergraph.untrusted import LINE_BASED, check_xml, parse_line_based

#: File suffix → rdflib parser name.
FORMATS = {
    ".ttl": "turtle",
    ".turtle": "turtle",
    ".nt": "nt",
    ".ntriples": "nt",
    ".nq": "nquads",
    ".trig": "trig",
    ".n3": "n3",
    ".rdf": "xml",
    ".owl": "xml",
    ".xml": "xml",
    ".jsonld": "json-ld",
}
_QUAD_FORMATS = {"nquads", "trig"}
# Properties whose objects the integrity shapes look at: when the object is described in another
# graph of the store, its description is read from there as context.
_REFERENCES = (PG.partner, PG.organization, PG.home, PG.component, PG.goal)


@dataclass
class LoadReport:
    """What a load did."""

    graph: URIRef
    files: list[str]
    triples: int
    seconds: float


def collect_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand folders (recursively) into the RDF files they hold, sorted; reject unknown files."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in FORMATS)
            if not found:
                raise UserError(f"{path}: no RDF files in this folder (looked for {', '.join(sorted(FORMATS))})")
            out.extend(found)
        elif path.is_file():
            out.append(path)
        else:
            raise UserError(f"{path}: no such file or folder")
    return out


def guess_format(path: Path, fmt: str | None = None) -> str:
    if fmt:
        return fmt
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise UserError(f"{path}: cannot tell the RDF syntax from the suffix {path.suffix!r}; use --format") from None


def _remote_contexts(node: object, depth: int = 0) -> list[str]:
    """Context references a JSON-LD parser would fetch over the network (strings in @context)."""
    if depth > 200:
        raise UserError("JSON-LD nested more than 200 levels deep")
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("@context", "@import"):
                items = value if isinstance(value, list) else [value]
                found += [v for v in items if isinstance(v, str)]
                if key == "@context":
                    for v in items:
                        if isinstance(v, dict) and isinstance(v.get("@import"), str):
                            found.append(v["@import"])
            found += _remote_contexts(value, depth + 1)
    elif isinstance(node, list):
        for item in node:
            found += _remote_contexts(item, depth + 1)
    return found


def _check_jsonld(path: Path, text: bytes) -> None:
    import json

    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise UserError(f"{path}: not valid JSON: {exc}") from exc
    remote = _remote_contexts(document)
    if remote:
        raise UserError(f"{path}: refers to a remote JSON-LD context ({remote[0]}); partnergraph never fetches "
                        "anything while loading: put the context inline")


def parse_files(files: Sequence[Path], fmt: str | None = None) -> Graph:
    """Parse every file into one in-memory graph; the first bad file stops with its name and the parser's message."""
    data = Graph()
    for prefix, ns in PREFIXES.items():
        data.bind(prefix, ns)
    for path in files:
        syntax = guess_format(path, fmt)
        try:
            text = path.read_bytes()
            if syntax == "json-ld":
                _check_jsonld(path, text)
            if syntax == "xml":
                check_xml(path, text)
            if syntax in LINE_BASED:  # Oxigraph's parser: rdflib's is quadratic in the line length
                parse_line_based(text, syntax, data)
            elif syntax in _QUAD_FORMATS:
                from rdflib import Dataset

                ds = Dataset()
                ds.parse(data=text, format=syntax, publicID=path.resolve().as_uri())
                for s, p, o, _g in ds.quads((None, None, None, None)):
                    data.add((s, p, o))
            else:
                data.parse(data=text, format=syntax, publicID=path.resolve().as_uri())
        except UserError:
            raise
        except Exception as exc:  # every rdflib parser raises its own kind
            message = " ".join(str(exc).split()) or type(exc).__name__
            raise UserError(f"{path}: not valid {syntax}: {message}") from exc
    return data


def reference_context(store, data: Graph, exclude: URIRef) -> Graph:  # noqa: ANN001
    """Descriptions (type, labels, scheme) of nodes that ``data`` refers to but does not describe,
    read from the store's other graphs, so that integrity can check references across graphs."""
    wanted = {o for p in _REFERENCES for o in data.objects(None, p) if isinstance(o, URIRef) and (o, RDF.type, None) not in data}
    context = Graph()
    if not wanted:
        return context
    nodes = sorted(wanted)
    for start in range(0, len(nodes), 500):
        values = " ".join(f"<{n}>" for n in nodes[start : start + 500])
        result = store.query(
            "CONSTRUCT { ?s ?p ?o } WHERE { "
            f"VALUES ?s {{ {values} }} VALUES ?p {{ <{RDF.type}> <{RDFS.label}> <{SKOS.prefLabel}> <{SKOS.inScheme}> <{PG.unresolved}> <{PG.searchLabel}> }} "
            f"GRAPH ?g {{ ?s ?p ?o }} FILTER (?g != <{exclude}>) }}"
        )
        if result.graph is not None:
            for t in result.graph:
                context.add(t)
    return context


def load_paths(store, paths: Iterable[str | Path], graph: URIRef = CURATED_GRAPH, fmt: str | None = None) -> LoadReport:  # noqa: ANN001
    """Parse, check integrity, then atomically replace ``graph`` with the files' triples."""
    started = time.perf_counter()
    files = collect_files(paths)
    data = parse_files(files, fmt)
    if len(data) == 0:
        raise UserError(f"{', '.join(map(str, files))}: no triples to load; the graph was left as it was")
    check_integrity(data, reference_context(store, data, graph))
    store.replace_graph(graph, data)
    return LoadReport(graph, [str(f) for f in files], len(data), time.perf_counter() - started)
