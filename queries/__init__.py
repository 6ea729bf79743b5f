"""The catalogue of named SPARQL queries.

Every query is a ``.rq`` file in this folder that runs as-is in any SPARQL 1.1 engine. Its
header says what it is and which parameters it takes::

    # title: Prioritized partners
    # description: Organizations ranked by how much the home organization depends on them.
    # param: home iri wd:Q180 — the home organization whose partners are ranked
    # param: asOf date none — the date to rank at (none: today)

Each parameter appears in the body as one or more lines ``VALUES ?name { DEFAULT }`` (``UNDEF``
for a ``none`` default). The catalogue binds an override by rewriting exactly those VALUES blocks
with the override as a typed RDF term, serialized by rdflib: user text never becomes query text.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from rdflib import Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

from partnergraph.errors import UserError
from partnergraph.ontology import PREFIXES, WD, is_qid

PARAM_TYPES = ("iri", "date", "integer", "decimal", "string", "boolean")
_HEADER = re.compile(r"^#\s*(title|description|param):\s*(.*)$")
_PARAM = re.compile(r"^(\w+)\s+(\w+)\s+(\S+)\s*(?:[—-]+\s*(.*))?$")
_IRI_FORBIDDEN = re.compile(r'[\x00-\x20<>"{}|^`\\]')


@dataclass
class Param:
    """A query parameter: its name, type, default (SPARQL text, or None) and meaning."""

    name: str
    type: str
    default: str | None
    description: str = ""


@dataclass
class NamedQuery:
    """A query from the catalogue, or an ad-hoc file, with its parsed header."""

    name: str
    text: str
    title: str = ""
    description: str = ""
    params: list[Param] = field(default_factory=list)
    path: str | None = None

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.params) or "none"
        raise UserError(f"query {self.name!r} has no parameter {name!r} (its parameters: {known})")

    def bind(self, values: Mapping[str, Any] | None = None) -> str:
        """The query text with the given parameters bound (others keep their defaults)."""
        text = self.text
        for name, raw in (values or {}).items():
            param = self.param(name)
            term = to_term(raw, param.type, name)
            text, count = _values_block(name).subn(f"VALUES ?{name} {{ {term.n3()} }}", text)
            if count == 0:
                raise UserError(f"query {self.name!r} declares {name!r} but has no 'VALUES ?{name} {{ … }}' line to bind it")
        return text


def _values_block(name: str) -> re.Pattern[str]:
    return re.compile(r"VALUES\s+\?" + re.escape(name) + r"\s*\{[^{}]*\}")


def to_term(raw: Any, type_: str, name: str = "value") -> Node:
    """Turn a Python value or a command-line string into a typed RDF term, or raise UserError."""
    if isinstance(raw, (URIRef, Literal)):
        return raw
    text = str(raw).strip()
    try:
        if type_ == "iri":
            if is_qid(text):
                return WD[text]
            if ":" in text and not text.startswith(("http://", "https://", "urn:")):
                prefix, _, local = text.partition(":")
                if prefix in PREFIXES and re.match(r"^[A-Za-z0-9_.-]*$", local):
                    return PREFIXES[prefix][local]
            if not re.match(r"^(https?://|urn:)", text) or _IRI_FORBIDDEN.search(text):
                raise ValueError("expected a QID (Q180), a prefixed name (wd:Q180) or an http(s) IRI")
            return URIRef(text)
        if type_ == "date":
            return Literal(_dt.date.fromisoformat(text).isoformat(), datatype=XSD.date)
        if type_ == "integer":
            return Literal(int(text), datatype=XSD.integer)
        if type_ == "decimal":
            return Literal(Decimal(text), datatype=XSD.decimal)
        if type_ == "boolean":
            if text.lower() not in ("true", "false"):
                raise ValueError("expected true or false")
            return Literal(text.lower() == "true", datatype=XSD.boolean)
        if type_ == "string":
            return Literal(text)
    except (ValueError, InvalidOperation) as exc:
        raise UserError(f"bad value for parameter {name!r} ({type_}): {text!r}: {exc}") from exc
    raise UserError(f"unknown parameter type {type_!r} (known: {', '.join(PARAM_TYPES)})")


def parse_query(text: str, name: str, path: str | None = None) -> NamedQuery:
    """Read a query's header (title, description, params) and check its parameter lines."""
    q = NamedQuery(name=name, text=text, path=path)
    for line in text.splitlines():
        if not line.startswith("#"):
            if line.strip():
                break
            continue
        m = _HEADER.match(line)
        if not m:
            continue
        key, value = m.group(1), m.group(2).strip()
        if key == "title":
            q.title = value
        elif key == "description":
            q.description = (q.description + " " + value).strip()
        else:
            pm = _PARAM.match(value)
            if not pm or pm.group(2) not in PARAM_TYPES:
                raise UserError(f"{path or name}: bad '# param:' line {line!r} (expected: # param: name type default — meaning)")
            default = None if pm.group(3) == "none" else pm.group(3)
            q.params.append(Param(pm.group(1), pm.group(2), default, (pm.group(4) or "").strip()))
    return q


def _folder():
    return resources.files(__name__)


def catalogue() -> dict[str, NamedQuery]:
    """Every named query shipped in queries/, by name (the file name without .rq)."""
    out = {}
    for entry in sorted(_folder().iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".rq"):
            name = entry.name[:-3]
            out[name] = parse_query(entry.read_text(encoding="utf-8"), name, path=entry.name)
    return out


def get(name_or_path: str) -> NamedQuery:
    """A named query from the catalogue, or an ad-hoc query from a .rq/.sparql file."""
    named = catalogue()
    if name_or_path in named:
        return named[name_or_path]
    path = Path(name_or_path)
    if path.suffix in (".rq", ".sparql") or path.exists():
        if not path.is_file():
            raise UserError(f"no such query file: {name_or_path}")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read {name_or_path}: {exc}") from exc
        return parse_query(text, path.stem, path=str(path))
    raise UserError(f"no query named {name_or_path!r}; 'partnergraph query --list' shows the catalogue")


def run(store, query: NamedQuery, values: Mapping[str, Any] | None = None):  # noqa: ANN001, ANN201
    """Bind the parameters and run the query on a store; returns a store.QueryResult."""
    return store.query(query.bind(values))
