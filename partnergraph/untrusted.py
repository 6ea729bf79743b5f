"""Guards for files from outside, before a parser that cannot defend itself sees them.

- RDF/XML: Python's expat stops a billion-laughs expansion only after 8 MiB of output, and
  rdflib's handler concatenates character data quadratically up to there: a 1 KB file held a
  load for minutes. Entity declarations are checked first: external entities (``SYSTEM`` /
  ``PUBLIC``: a way to read local files or reach a network) and parameter entities are refused,
  internal ones may not refer to other entities and their total expansion is capped. The common
  use — ``<!ENTITY owl "http://www.w3.org/2002/07/owl#">`` in OWL files — still works.
- N-Triples / N-Quads: rdflib's line parser is quadratic in the length of a line (1 MiB literal:
  14 s, 2 MiB: 58 s); Oxigraph's parser is linear, so line-based files are parsed by Oxigraph.
"""

from __future__ import annotations

import re
from pathlib import Path

from rdflib import Graph

from partnergraph.errors import UserError

#: Largest total text that entity references in one RDF/XML file may expand to.
MAX_ENTITY_EXPANSION = 16 * 1024 * 1024
_ENTITY = re.compile(rb"<!ENTITY\s+(%\s*)?([^\s%\"'>]+)\s*(\"[^\"]*\"|'[^']*'|[^>]*?)\s*>", re.DOTALL)
LINE_BASED = ("nt", "nquads")


def check_xml(path: Path | str, data: bytes) -> None:
    """Refuse RDF/XML whose DTD could expand without bound or read something else."""
    head = data[:200_000] if b"<!DOCTYPE" in data[:200_000] else b""
    if not head and b"<!ENTITY" not in data:
        return
    expansion = 0
    for m in _ENTITY.finditer(data):
        percent, name, value = m.group(1), m.group(2), m.group(3)
        if percent:
            raise UserError(f"{path}: declares a parameter entity (%{name.decode(errors='replace')}): refused")
        if not value[:1] in (b'"', b"'"):
            raise UserError(f"{path}: declares an external entity ({name.decode(errors='replace')}, SYSTEM/PUBLIC): "
                            "refused, partnergraph never reads other files or addresses while loading")
        body = value[1:-1]
        if b"&" in body or b"%" in body:
            raise UserError(f"{path}: entity {name.decode(errors='replace')} refers to other entities "
                            "(the shape of a 'billion laughs' expansion): refused")
        expansion += data.count(b"&" + name + b";") * len(body)
        if expansion > MAX_ENTITY_EXPANSION:
            raise UserError(f"{path}: its entities would expand to more than {MAX_ENTITY_EXPANSION // 1024**2} MiB: refused")


def parse_line_based(data: bytes, syntax: str, target: Graph) -> None:
    """Parse N-Triples or N-Quads with Oxigraph (linear time) into ``target`` (graph names dropped,
    as rdflib's path does for quads loaded into one graph). Raises SyntaxError with a position."""
    import pyoxigraph as ox

    from partnergraph.store import _from_ox

    fmt = ox.RdfFormat.N_TRIPLES if syntax == "nt" else ox.RdfFormat.N_QUADS
    add = target.add
    for t in ox.parse(data, fmt, rename_blank_nodes=True):
        add((_from_ox(t.subject), _from_ox(t.predicate), _from_ox(t.object)))  # type: ignore[arg-type]


__all__ = ["check_xml", "parse_line_based", "LINE_BASED", "MAX_ENTITY_EXPANSION"]
