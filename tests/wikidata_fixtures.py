"""Wikidata-shaped entities for the wikidata loader tests, in the JSON dump's own format
(the shape of Wikidata's entity JSON: labels/descriptions by language, claims by property, each
statement with rank, mainsnak, datavalue; as in the dump slices kept under shared/reference)."""

from __future__ import annotations

import bz2
import gzip
from pathlib import Path

import orjson

GREG = "http://www.wikidata.org/entity/Q1985727"
JULIAN = "http://www.wikidata.org/entity/Q1985786"
_n = [0]


def item_value(qid: str) -> dict:
    return {"type": "wikibase-entityid", "value": {"entity-type": "item", "numeric-id": int(qid[1:]), "id": qid}}


def time_value(t: str, precision: int = 11, calendar: str = GREG) -> dict:
    return {"type": "time", "value": {"time": t, "timezone": 0, "before": 0, "after": 0, "precision": precision,
                                      "calendarmodel": calendar}}


def string_value(text: str) -> dict:
    return {"type": "string", "value": text}


def statement(pid: str, value: dict | None, datatype: str = "wikibase-item", rank: str = "normal",
              snaktype: str = "value", qid: str = "Q1") -> dict:
    _n[0] += 1
    snak = {"snaktype": snaktype, "property": pid, "datatype": datatype}
    if value is not None:
        snak["datavalue"] = value
    return {"mainsnak": snak, "type": "statement", "id": f"{qid}$TEST-{_n[0]:06d}", "rank": rank,
            "references": [{"hash": "0" * 40, "snaks": {"P854": [{"snaktype": "value", "property": "P854",
                                                                  "datavalue": string_value("https://example.org/ref"),
                                                                  "datatype": "url"}]},
                            "snaks-order": ["P854"]}]}


def item(qid: str, labels: dict[str, str] | None = None, descriptions: dict[str, str] | None = None,
         claims: dict[str, list[dict]] | None = None) -> dict:
    return {
        "type": "item", "id": qid,
        "labels": {lang: {"language": lang, "value": v} for lang, v in (labels or {}).items()},
        "descriptions": {lang: {"language": lang, "value": v} for lang, v in (descriptions or {}).items()},
        "aliases": {}, "sitelinks": {}, "claims": claims or {},
        "lastrevid": 1, "modified": "2025-01-01T00:00:00Z",
    }


def world() -> list[dict]:
    """A small Wikidata: an organization Q2001 (parent Q2005, grand-parent Q2006), a component Q3001
    developed by Q2001, classes, countries; every rank, unknown and no values, several languages."""
    return [
        item("Q2001", {"en": "Alpha Foundation", "de": "Alpha-Stiftung", "fr": "Fondation Alpha"},
             {"en": "a foundation", "de": "eine Stiftung"},
             {
                 "P31": [statement("P31", item_value("Q43229"), qid="Q2001"),
                         statement("P31", item_value("Q5"), rank="deprecated", qid="Q2001")],
                 "P17": [statement("P17", item_value("Q183"), rank="preferred", qid="Q2001"),
                         statement("P17", item_value("Q142"), qid="Q2001"),
                         statement("P17", item_value("Q30"), rank="deprecated", qid="Q2001")],
                 "P749": [statement("P749", item_value("Q2005"), qid="Q2001")],
                 "P856": [statement("P856", string_value("https://alpha.example/"), "url", qid="Q2001")],
                 "P571": [statement("P571", time_value("+1999-05-07T00:00:00Z", 11), "time", qid="Q2001")],
                 "P127": [statement("P127", None, snaktype="somevalue", qid="Q2001")],
                 "P463": [statement("P463", None, snaktype="novalue", qid="Q2001")],
                 "P1082": [statement("P1082", {"type": "quantity", "value": {"amount": "+250", "unit": "1"}},
                                     "quantity", qid="Q2001")],
             }),
        item("Q2005", {"en": "Alpha Holding"}, None,
             {"P31": [statement("P31", item_value("Q4830453"), qid="Q2005")],
              "P749": [statement("P749", item_value("Q2006"), qid="Q2005")],
              "P571": [statement("P571", time_value("+1950-00-00T00:00:00Z", 9), "time", qid="Q2005")]}),
        item("Q2006", {"en": "Alpha Group"}, None,
             {"P31": [statement("P31", item_value("Q4830453"), qid="Q2006")],
              "P571": [statement("P571", time_value("+1582-10-04T00:00:00Z", 11, JULIAN), "time", qid="Q2006")]}),
        item("Q3001", {"en": "AlphaDB", "de": "AlphaDB"}, {"en": "a database"},
             {"P31": [statement("P31", item_value("Q7397"), qid="Q3001")],
              "P178": [statement("P178", item_value("Q2001"), qid="Q3001")],
              "P1324": [statement("P1324", string_value("https://git.example/alpha db"), "url", qid="Q3001")],
              "P8262": [statement("P8262", string_value("alphadb"), "external-id", qid="Q3001")],
              "P571": [statement("P571", time_value("+2001-03-00T00:00:00Z", 10), "time", qid="Q3001")],
              "P1476": [statement("P1476", {"type": "monolingualtext", "value": {"text": "Alpha \"DB\"", "language": "en"}},
                                  "monolingualtext", qid="Q3001")],
              "P625": [statement("P625", {"type": "globecoordinate", "value": {"latitude": 52.5, "longitude": 13.25,
                                                                              "altitude": None, "precision": 0.01,
                                                                              "globe": "http://www.wikidata.org/entity/Q2"}},
                                 "globe-coordinate", qid="Q3001")]}),
        item("Q4001", {"en": "Beta Corp"}, None,
             {"P31": [statement("P31", item_value("Q4830453"), qid="Q4001")]}),
        item("Q4002", {"en": "Gamma Society"}, None,
             {"P279": [statement("P279", item_value("Q43229"), qid="Q4002")]}),
        item("Q4830453", {"en": "business"}, None,
             {"P279": [statement("P279", item_value("Q43229"), qid="Q4830453")]}),
        item("Q183", {"en": "Germany", "de": "Deutschland"}),
        item("Q142", {"en": "France"}),
        item("Q43229", {"en": "organization"}),
    ]


def json_dump_bytes(entities: list[dict]) -> bytes:
    """The JSON dump layout: an array, one entity per line, a comma after every entity but the last."""
    lines = [orjson.dumps(e) for e in entities]
    return b"[\n" + b",\n".join(lines) + b"\n]\n"


def write_dump(path: Path, data: bytes) -> Path:
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(data))
    elif path.name.endswith(".bz2"):
        path.write_bytes(bz2.compress(data))
    else:
        path.write_bytes(data)
    return path
