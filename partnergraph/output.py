"""Render rows as a terminal table, CSV or JSON: every command that prints data uses these."""

from __future__ import annotations

import csv
import io
import json
import shutil
from typing import Any, Sequence

from rdflib import Literal
from rdflib.term import Node


def plain(value: Any) -> Any:
    """A JSON-friendly value: numbers stay numbers, IRIs and other literals become strings."""
    if value is None:
        return None
    if isinstance(value, Literal):
        py = value.toPython()
        if isinstance(py, bool) or isinstance(py, (int, float)):
            return py
        if hasattr(py, "as_tuple"):  # Decimal
            return float(py)
        return str(value)
    if isinstance(value, Node):
        return str(value)
    return value


def to_json(rows: Sequence[dict[str, Any]]) -> str:
    return json.dumps([{k: plain(v) for k, v in row.items()} for row in rows], indent=2, ensure_ascii=False, default=str)


def to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        cells = []
        for c in columns:
            v = plain(row.get(c))
            cells.append("; ".join(map(str, v)) if isinstance(v, list) else ("" if v is None else v))
        writer.writerow(cells)
    return buf.getvalue()


def _cell(value: Any) -> str:
    v = plain(value)
    if v is None:
        return ""
    if isinstance(v, list):
        return "; ".join(map(str, v))
    if isinstance(v, float):
        return f"{v:g}"
    return " ".join(str(v).split())


def to_table(rows: Sequence[dict[str, Any]], columns: Sequence[str], headers: Sequence[str] | None = None) -> str:
    """A plain aligned table; the last column is cut to the terminal width."""
    headers = list(headers or columns)
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    total = shutil.get_terminal_size((160, 24)).columns
    used = sum(widths[:-1]) + 2 * (len(widths) - 1)
    widths[-1] = max(len(headers[-1]), min(widths[-1], total - used)) if widths else 0
    def fmt(values: Sequence[str]) -> str:
        out = []
        for i, v in enumerate(values):
            if len(v) > widths[i]:
                v = v[: max(widths[i] - 1, 0)] + "…"
            out.append(v.ljust(widths[i]) if i < len(values) - 1 else v)
        return "  ".join(out).rstrip()
    lines = [fmt(headers), fmt(["-" * w for w in widths])]
    lines += [fmt(r) for r in cells]
    return "\n".join(lines)


def short(iri: Any) -> str:
    """A QID for a Wikidata entity IRI, the IRI otherwise."""
    text = str(iri)
    prefix = "http://www.wikidata.org/entity/"
    return text[len(prefix):] if text.startswith(prefix) else text


__all__ = ["plain", "to_json", "to_csv", "to_table", "short"]
