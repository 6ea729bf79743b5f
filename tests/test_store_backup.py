"""Backups: export then import gives back the same store (graph names, and each graph up to
blank-node renaming), on the embedded store and on Virtuoso; a bad backup changes nothing."""

from __future__ import annotations

import json

import pytest
from conftest import PREFIXES, SMALL_WORLD, write
from rdflib import Dataset, Graph, URIRef
from rdflib.compare import isomorphic

from partnergraph.cli import main
from partnergraph.store import open_store

EXTRA = PREFIXES + """
<https://example.org/thing> rdfs:label "with a blank node"@en ;
    <https://example.org/has> [ rdfs:label "anonymous" ; <https://example.org/next> [ rdfs:label "deeper" ] ] .
<https://example.org/thing> <https://example.org/text> "line one\\nline \\"two\\" é 😀" .
"""


def graphs_of(nquads: str) -> dict[str, Graph]:
    ds = Dataset()
    ds.parse(data=nquads, format="nquads")
    out: dict[str, Graph] = {}
    for s, p, o, g in ds.quads((None, None, None, None)):
        out.setdefault(str(g.identifier if isinstance(g, Graph) else g), Graph()).add((s, p, o))
    return out


def same(a: dict[str, Graph], b: dict[str, Graph]) -> bool:
    return a.keys() == b.keys() and all(isomorphic(a[k], b[k]) for k in a)


def populate(runner, url, tmp_path) -> None:
    assert runner.invoke(main, ["--store", url, "load", str(write(tmp_path, "w.ttl", SMALL_WORLD))]).exit_code == 0
    r = runner.invoke(main, ["--store", url, "load", str(write(tmp_path, "x.ttl", EXTRA)), "--graph", "https://example.org/extra"])
    assert r.exit_code == 0, r.output
    form = {"kind": "organization", "label": "Delta Institute", "website": "https://delta.example",
            "goals": ["Open knowledge"], "source": "https://delta.example/about",
            "activities": [{"title": "Talk", "type": "event", "date": "2024-05-01", "source": "https://delta.example/news"}]}
    r = runner.invoke(main, ["--store", url, "propose", str(write(tmp_path, "p.json", json.dumps(form)))])
    assert r.exit_code == 0, r.output


def export(runner, url, *args) -> str:
    r = runner.invoke(main, ["--store", url, "export", *args])
    assert r.exit_code == 0, r.output
    return r.stdout


@pytest.fixture(params=["oxigraph", pytest.param("virtuoso", marks=pytest.mark.virtuoso)])
def target_url(request, tmp_path):
    """Where the backup is restored: a fresh embedded store, or Virtuoso (emptied)."""
    if request.param == "virtuoso":
        return request.getfixturevalue("virtuoso_url")
    return f"oxigraph:{tmp_path / 'restored'}"


def test_export_import_round_trip(runner, tmp_path, target_url):
    source = f"oxigraph:{tmp_path / 'source'}"
    populate(runner, source, tmp_path)
    dump = export(runner, source)
    before = graphs_of(dump)
    assert any("/graph/proposal/" in g for g in before), "pending proposals belong in a backup"
    assert not any("/graph/." in g for g in before), "staging and bookkeeping do not"
    path = write(tmp_path, "backup.nq", dump)
    r = runner.invoke(main, ["--store", target_url, "import", str(path), "--replace"])
    assert r.exit_code == 0, r.output
    after = graphs_of(export(runner, target_url))
    assert same(before, after)
    # The restored store works: the pending proposal is still pending, and can be accepted.
    listed = json.loads(runner.invoke(main, ["--store", target_url, "proposals", "--format", "json"]).output)
    assert [p["state"] for p in listed] == ["proposed"]
    # And a store exported from the target restores into the source exactly as well.
    back = write(tmp_path, "back.nq", export(runner, target_url))
    assert runner.invoke(main, ["--store", source, "import", str(back), "--replace"]).exit_code == 0
    assert same(graphs_of(export(runner, source)), before)


def test_import_replace_drops_other_graphs_and_plain_import_keeps_them(runner, tmp_path, store_url):
    populate(runner, store_url, tmp_path)
    only_curated = export(runner, store_url, "--graph", "curated")
    assert set(graphs_of(only_curated)) == {"https://w3id.org/partnergraph/graph/curated"}
    path = write(tmp_path, "c.nq", only_curated)
    assert runner.invoke(main, ["--store", store_url, "import", str(path)]).exit_code == 0
    assert "https://example.org/extra" in graphs_of(export(runner, store_url))
    r = runner.invoke(main, ["--store", store_url, "import", str(path), "--replace"])
    assert r.exit_code == 0 and "dropped" in r.output
    left = set(graphs_of(export(runner, store_url)))
    assert left == {"https://w3id.org/partnergraph/graph/curated"}


@pytest.mark.parametrize("content, message", [
    ("<http://a> <http://b> <http://c> <http://g> .\n<http://a> <http://b> \"unterminated <http://g> .\n", "not valid N-Quads"),
    ("<http://a> <http://b> <http://c> .\n", "outside any named graph"),
    ("<http://a> <http://b> <http://c> <https://w3id.org/partnergraph/graph/.control> .\n", "bookkeeping"),
    ("", "no quads"),
    ("<https://example.org/org> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <http://www.w3.org/ns/org#Organization> <https://w3id.org/partnergraph/graph/curated> .\n",
     "integrity"),
])
def test_a_bad_backup_changes_nothing(runner, tmp_path, store_url, content, message):
    populate(runner, store_url, tmp_path)
    before = export(runner, store_url)
    path = tmp_path / "bad.nq"
    path.write_text(content, encoding="utf-8")
    r = runner.invoke(main, ["--store", store_url, "import", str(path), "--replace"])
    assert r.exit_code == 2 and message in r.output, r.output
    assert "Traceback" not in r.output
    assert same(graphs_of(export(runner, store_url)), graphs_of(before))


def test_export_errors(runner, tmp_path, store_url):
    populate(runner, store_url, tmp_path)
    r = runner.invoke(main, ["--store", store_url, "export", "--graph", "nothing-here"])
    assert r.exit_code == 2 and "no graph" in r.output
    r = runner.invoke(main, ["--store", store_url, "export", str(tmp_path / "no" / "such" / "dir" / "x.nq")])
    assert r.exit_code == 2 and "cannot write" in r.output
    r = runner.invoke(main, ["--store", store_url, "export", str(tmp_path / "out.nq")])
    assert r.exit_code == 0 and (tmp_path / "out.nq").stat().st_size > 0
    with open_store(store_url, read_only=True) as s:
        assert URIRef("https://example.org/extra") in s.graph_names()
