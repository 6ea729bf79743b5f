"""Evaluate one SPARQL query and serialize its answer, with a row cap.

Runs inside the endpoint's worker processes (see ``workers.py``) over a read-only Oxigraph store,
and in the web process itself for an rdflib in-memory store. SELECT/ASK results are written by
the small serializers below (they stop at the row cap, which Oxigraph's own serializer cannot);
CONSTRUCT/DESCRIBE triples are capped, then serialized natively by pyoxigraph (or by rdflib).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator
from xml.sax.saxutils import escape as _xml_escape, quoteattr

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"

#: Result formats: name -> (media type sent, media types accepted in Accept / format=).
RESULT_FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "json": ("application/sparql-results+json", ("application/sparql-results+json", "application/json")),
    "xml": ("application/sparql-results+xml", ("application/sparql-results+xml", "application/xml", "text/xml")),
    "csv": ("text/csv", ("text/csv",)),
    "tsv": ("text/tab-separated-values", ("text/tab-separated-values",)),
}
GRAPH_FORMATS: dict[str, tuple[str, tuple[str, ...]]] = {
    "turtle": ("text/turtle", ("text/turtle", "application/x-turtle")),
    "ntriples": ("application/n-triples", ("application/n-triples", "text/plain")),
    "jsonld": ("application/ld+json", ("application/ld+json", "application/json")),
    "rdfxml": ("application/rdf+xml", ("application/rdf+xml", "application/xml", "text/xml")),
}
#: Short names accepted in the ``format`` parameter.
FORMAT_ALIASES = {
    "json": "json", "srj": "json", "xml": "xml", "srx": "xml", "csv": "csv", "tsv": "tsv",
    "turtle": "turtle", "ttl": "turtle", "nt": "ntriples", "ntriples": "ntriples", "n-triples": "ntriples",
    "jsonld": "jsonld", "json-ld": "jsonld", "rdfxml": "rdfxml", "rdf": "rdfxml", "rdf+xml": "rdfxml",
}

# A term, backend-neutral: ("uri", iri) | ("bnode", id) | ("literal", text, lang, datatype) | None
Term = tuple | None


@dataclass
class Answer:
    """What one query produced, ready to send: or an error with its HTTP status."""

    status: int = 200
    body: bytes = b""
    content_type: str = ""
    kind: str = ""
    rows: int = 0
    truncated: bool = False
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _ox_term(t) -> Term:  # noqa: ANN001 - pyoxigraph term
    if t is None:
        return None
    name = type(t).__name__
    if name == "NamedNode":
        return ("uri", t.value)
    if name == "BlankNode":
        return ("bnode", t.value)
    if name == "Literal":
        return ("literal", t.value, t.language, t.datatype.value)
    return ("literal", str(t), None, XSD_STRING)  # RDF-star triple terms: shown as text


def _rdflib_term(t) -> Term:  # noqa: ANN001 - rdflib term
    from rdflib import BNode, Literal, URIRef

    if t is None:
        return None
    if isinstance(t, URIRef):
        return ("uri", str(t))
    if isinstance(t, BNode):
        return ("bnode", str(t))
    if isinstance(t, Literal):
        dt = str(t.datatype) if t.datatype else (RDF_LANG_STRING if t.language else XSD_STRING)
        return ("literal", str(t), t.language, dt)
    return ("literal", str(t), None, XSD_STRING)


# ------------------------------------------------------------------ SELECT / ASK serializers


def _json_term(t: tuple) -> dict[str, str]:
    if t[0] == "uri":
        return {"type": "uri", "value": t[1]}
    if t[0] == "bnode":
        return {"type": "bnode", "value": t[1]}
    out = {"type": "literal", "value": t[1]}
    if t[2]:
        out["xml:lang"] = t[2]
    elif t[3] != XSD_STRING:
        out["datatype"] = t[3]
    return out


def _xml_term(t: tuple) -> str:
    if t[0] == "uri":
        return f"<uri>{_xml_escape(t[1])}</uri>"
    if t[0] == "bnode":
        return f"<bnode>{_xml_escape(t[1])}</bnode>"
    if t[2]:
        return f"<literal xml:lang={quoteattr(t[2])}>{_xml_escape(t[1])}</literal>"
    if t[3] != XSD_STRING:
        return f"<literal datatype={quoteattr(t[3])}>{_xml_escape(t[1])}</literal>"
    return f"<literal>{_xml_escape(t[1])}</literal>"


def _tsv_term(t: Term) -> str:
    if t is None:
        return ""
    if t[0] == "uri":
        return f"<{t[1]}>"
    if t[0] == "bnode":
        return f"_:{t[1]}"
    text = t[1].replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    if t[2]:
        return f'"{text}"@{t[2]}'
    if t[3] in ("http://www.w3.org/2001/XMLSchema#integer", "http://www.w3.org/2001/XMLSchema#decimal",
                "http://www.w3.org/2001/XMLSchema#double", "http://www.w3.org/2001/XMLSchema#boolean"):
        return t[1]
    if t[3] != XSD_STRING:
        return f'"{text}"^^<{t[3]}>'
    return f'"{text}"'


def serialize_select(variables: list[str], rows: Iterable[list[Term]], fmt: str) -> bytes:
    """SPARQL 1.1 Query Results in JSON, XML, CSV or TSV."""
    if fmt == "json":
        bindings = [{v: _json_term(t) for v, t in zip(variables, row) if t is not None} for row in rows]
        return json.dumps({"head": {"vars": variables}, "results": {"bindings": bindings}},
                          ensure_ascii=False, separators=(",", ":")).encode()
    if fmt == "xml":
        parts = ['<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head>']
        parts += [f"<variable name={quoteattr(v)}/>" for v in variables]
        parts.append("</head><results>")
        for row in rows:
            parts.append("<result>")
            parts += [f"<binding name={quoteattr(v)}>{_xml_term(t)}</binding>" for v, t in zip(variables, row) if t is not None]
            parts.append("</result>")
        parts.append("</results></sparql>\n")
        return "".join(parts).encode()
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\r\n")
        w.writerow(variables)
        for row in rows:
            w.writerow(["" if t is None else t[1] if t[0] != "bnode" else f"_:{t[1]}" for t in row])
        return buf.getvalue().encode()
    if fmt == "tsv":
        lines = ["\t".join(f"?{v}" for v in variables)]
        lines += ["\t".join(_tsv_term(t) for t in row) for row in rows]
        return ("\n".join(lines) + "\n").encode()
    raise ValueError(f"unknown result format {fmt}")


def serialize_boolean(value: bool, fmt: str) -> bytes:
    """An ASK answer in JSON, XML, CSV or TSV."""
    word = "true" if value else "false"
    if fmt == "json":
        return json.dumps({"head": {}, "boolean": value}).encode()
    if fmt == "xml":
        return (f'<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#"><head/>'
                f"<boolean>{word}</boolean></sparql>\n").encode()
    if fmt == "csv":
        return f"_askResult\r\n{word}\r\n".encode()
    return f"?_askResult\n{word}\n".encode()


def _capped(items: Iterator, cap: int) -> tuple[list, bool]:
    out = []
    for item in items:
        if len(out) >= cap:
            return out, True
        out.append(item)
    return out, False


# ------------------------------------------------------------------ evaluation


def evaluate_oxigraph(ox_store, text: str, default_graph: list | None, named_graphs: list | None,
                      fmt: str, cap: int) -> Answer:  # noqa: ANN001
    """Run a query on a pyoxigraph store and serialize the answer (at most ``cap`` rows/triples)."""
    import pyoxigraph as ox

    try:
        result = ox_store.query(text, default_graph=default_graph, named_graphs=named_graphs)
        if isinstance(result, ox.QueryBoolean):
            return Answer(body=serialize_boolean(bool(result), fmt), content_type=RESULT_FORMATS[fmt][0], kind="ASK", rows=1)
        if isinstance(result, ox.QuerySolutions):
            variables = [v.value for v in result.variables]
            width = range(len(variables))
            solutions, truncated = _capped(iter(result), cap)
            rows = [[_ox_term(s[i]) for i in width] for s in solutions]
            return Answer(body=serialize_select(variables, rows, fmt), content_type=RESULT_FORMATS[fmt][0],
                          kind="SELECT", rows=len(rows), truncated=truncated)
        triples, truncated = _capped(iter(result), cap)
        oxfmt = {"turtle": ox.RdfFormat.TURTLE, "ntriples": ox.RdfFormat.N_TRIPLES,
                 "jsonld": ox.RdfFormat.JSON_LD, "rdfxml": ox.RdfFormat.RDF_XML}[fmt]
        body = ox.serialize(triples, format=oxfmt) or b""
        return Answer(body=body, content_type=GRAPH_FORMATS[fmt][0], kind="CONSTRUCT", rows=len(triples), truncated=truncated)
    except SyntaxError as exc:
        return Answer(status=400, message=f"SPARQL syntax error: {exc}")
    except (OSError, ValueError, RuntimeError, TypeError) as exc:
        return Answer(status=500, message=f"query failed: {exc}")


def evaluate_rdflib_store(store, text: str, fmt: str, cap: int) -> Answer:  # noqa: ANN001
    """Run a query through the partnergraph Store API (rdflib memory backend) and serialize it."""
    from partnergraph.errors import UserError

    try:
        result = store.query(text)
    except UserError as exc:
        message = str(exc)
        return Answer(status=400 if "syntax" in message.lower() or "expected" in message.lower() else 500, message=message)
    if result.kind == "ASK":
        return Answer(body=serialize_boolean(bool(result.boolean), fmt), content_type=RESULT_FORMATS[fmt][0], kind="ASK", rows=1)
    if result.kind == "SELECT":
        rows, truncated = _capped(iter(result.rows), cap)
        body = serialize_select(result.variables, [[_rdflib_term(t) for t in row] for row in rows], fmt)
        return Answer(body=body, content_type=RESULT_FORMATS[fmt][0], kind="SELECT", rows=len(rows), truncated=truncated)
    from rdflib import Graph

    triples, truncated = _capped(iter(result.graph), cap)  # type: ignore[arg-type]
    g = Graph()
    for prefix, ns in result.graph.namespaces():  # type: ignore[union-attr]
        g.bind(prefix, ns)
    for t in triples:
        g.add(t)
    rdflib_fmt = {"turtle": "turtle", "ntriples": "nt", "jsonld": "json-ld", "rdfxml": "xml"}[fmt]
    return Answer(body=g.serialize(format=rdflib_fmt, encoding="utf-8"), content_type=GRAPH_FORMATS[fmt][0],
                  kind="CONSTRUCT", rows=len(triples), truncated=truncated)
