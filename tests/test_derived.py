"""Derived answers (goal progress, explanations, the ranking): computed once per version of the
data, kept in memory and, for the embedded store, beside the published snapshot for other
processes; a write, another day or other arguments make them computed again."""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

import pytest

from partnergraph import service
from partnergraph.loaders.rdf import load_paths
from partnergraph.ontology import CURATED_GRAPH, WD
from partnergraph.store import open_store

from conftest import PREFIXES, SMALL_WORLD, write

HOME = WD.Q1001
NEW_CLAIM = PREFIXES + """
pgid:sc-9 a pg:StatusClaim ; pg:home wd:Q1001 ; pg:organization wd:Q2002 ; pg:status pg:OngoingCollaboration ;
    dcterms:date "2024-02-01"^^xsd:date ; dcterms:source <https://example.org/source> .
"""


def _ongoing(result: dict) -> list[str]:
    level = next(lv for lv in result["levels"] if lv["status"].endswith("#OngoingCollaboration"))
    return sorted(o["iri"] for o in level["organizations"])


class _Counting:
    """Counts the queries a store runs (derived answers must not run any)."""

    def __init__(self, store, monkeypatch) -> None:  # noqa: ANN001
        self.n = 0
        real = store.query

        def query(text, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
            self.n += 1
            return real(text, *a, **k)

        monkeypatch.setattr(store, "query", query)


def test_second_answer_runs_no_query_and_a_write_makes_it_new(store, tmp_path, monkeypatch) -> None:
    load_paths(store, [write(tmp_path, "world.ttl", SMALL_WORLD)], CURATED_GRAPH)
    counting = _Counting(store, monkeypatch)
    first = service.goals(store, home=HOME)
    assert counting.n > 0 and _ongoing(first) == [str(WD.Q2001)]
    counting.n = 0
    assert service.goals(store, home=HOME) == first
    assert service.explain(store, "Q2001", home=HOME) == service.explain(store, "Q2001", home=HOME)
    ranked = service.rank(store, home=HOME)
    counting.n = 0
    assert service.rank(store, home=HOME) == ranked and service.rank(store, home=HOME, limit=1) == ranked[:1]
    assert counting.n == 0
    # a load is a new version of the data: the new claim shows at once
    load_paths(store, [write(tmp_path, "world.ttl", SMALL_WORLD + NEW_CLAIM)], CURATED_GRAPH)
    assert _ongoing(service.goals(store, home=HOME)) == [str(WD.Q2001), str(WD.Q2002)]
    # and so does a SPARQL update
    store.update(f"DELETE WHERE {{ GRAPH <{CURATED_GRAPH}> {{ <https://w3id.org/partnergraph/id/sc-9> ?p ?o }} }}")
    assert _ongoing(service.goals(store, home=HOME)) == [str(WD.Q2001)]


def test_other_arguments_and_another_day_are_other_answers(tmp_path, monkeypatch) -> None:
    store = open_store("memory:")
    load_paths(store, [write(tmp_path, "world.ttl", SMALL_WORLD)], CURATED_GRAPH)
    assert _ongoing(service.goals(store, home=HOME, as_of=_dt.date(2022, 12, 31))) == []
    assert _ongoing(service.goals(store, home=HOME)) == [str(WD.Q2001)]
    default = service.rank(store, home=HOME, eligible_only=False)
    weighted = service.rank(store, home=HOME, eligible_only=False, weights={"goals": 10})
    assert [r["score"] for r in default] != [r["score"] for r in weighted]

    class Tomorrow(_dt.date):
        @classmethod
        def today(cls):  # noqa: ANN206
            return _dt.date(2099, 1, 1)

    counting = _Counting(store, monkeypatch)
    monkeypatch.setattr(service._dt, "date", Tomorrow)
    result = service.goals(store, home=HOME)
    assert counting.n > 0, "as of today means as of another day tomorrow"
    assert result["as_of"] == "2099-01-01"


def test_each_answer_is_a_copy(tmp_path) -> None:
    store = open_store("memory:")
    load_paths(store, [write(tmp_path, "world.ttl", SMALL_WORLD)], CURATED_GRAPH)
    result = service.goals(store, home=HOME)
    result["levels"].clear()  # what the web pages do to their copy (adding links) stays theirs
    assert service.goals(store, home=HOME)["levels"]


def test_a_value_computed_while_the_data_changed_is_not_kept(tmp_path) -> None:
    store = open_store("memory:")
    calls = []

    def compute() -> int:
        calls.append(1)
        store.update("INSERT DATA { GRAPH <https://w3id.org/partnergraph/graph/x> { <urn:a> <urn:b> <urn:c> } }")
        return len(calls)

    assert store.derived("k", compute) == 1
    assert store.derived("k", compute) == 2


def _readers(path: Path):  # noqa: ANN202
    return open_store(f"oxigraph:{path}", read_only=True)


def test_the_embedded_store_keeps_answers_for_other_processes(tmp_path, monkeypatch) -> None:
    path = tmp_path / "store"
    with open_store(f"oxigraph:{path}") as writer:
        load_paths(writer, [write(tmp_path, "world.ttl", SMALL_WORLD)], CURATED_GRAPH)
    with _readers(path) as reader:
        first = service.goals(reader, home=HOME)
    folders = list((Path(f"{path}.snapshots") / "derived").iterdir())
    assert len(folders) == 1 and len(list(folders[0].glob("*.json"))) == 1
    # another process reading the same snapshot: answered from the file, no query
    with _readers(path) as reader:
        counting = _Counting(reader, monkeypatch)
        assert service.goals(reader, home=HOME) == first
        assert counting.n == 0
    # a half-written or damaged file is computed again, not trusted
    saved = next(folders[0].glob("*.json"))
    saved.write_text('{"key": "goals", "value": ', encoding="utf-8")
    with _readers(path) as reader:
        assert service.goals(reader, home=HOME) == first
    assert json.loads(saved.read_text(encoding="utf-8"))["value"] == first
    # a load publishes a new snapshot: the old answers go, the next reader sees the new data
    with open_store(f"oxigraph:{path}") as writer:
        load_paths(writer, [write(tmp_path, "world.ttl", SMALL_WORLD + NEW_CLAIM)], CURATED_GRAPH)
    with _readers(path) as reader:
        assert _ongoing(service.goals(reader, home=HOME)) == [str(WD.Q2001), str(WD.Q2002)]
    assert [f.name for f in (Path(f"{path}.snapshots") / "derived").iterdir()] != [folders[0].name]
    assert not folders[0].exists()


def test_another_version_of_the_code_does_not_reuse_answers(tmp_path, monkeypatch) -> None:
    path = tmp_path / "store"
    with open_store(f"oxigraph:{path}") as writer:
        load_paths(writer, [write(tmp_path, "world.ttl", SMALL_WORLD)], CURATED_GRAPH)
    with _readers(path) as reader:
        service.goals(reader, home=HOME)
    monkeypatch.setattr(service, "_FINGERPRINT", "an-edited-catalogue")
    with _readers(path) as reader:
        counting = _Counting(reader, monkeypatch)
        service.goals(reader, home=HOME)
        assert counting.n > 0


def test_one_computation_at_a_time_among_threads(tmp_path) -> None:
    import threading
    import time

    store = open_store("memory:")
    calls = []

    def compute() -> int:
        calls.append(1)
        time.sleep(0.3)
        return 7

    got = []
    threads = [threading.Thread(target=lambda: got.append(store.derived("k", compute))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [7, 7, 7, 7] and len(calls) == 1


def _slow_child(path: str, started: str) -> None:
    import time

    with open_store(f"oxigraph:{path}", read_only=True) as reader:
        def compute() -> int:
            Path(started).touch()
            time.sleep(1.5)
            return 42
        reader.derived("shared", compute)


def test_a_process_waits_for_the_one_computing_and_reads_its_answer(tmp_path) -> None:
    """The web processes, the server's warmer and a CLI call reading one snapshot: the answer
    under way in one is waited for by the others, not computed again beside it."""
    import multiprocessing
    import time

    path = tmp_path / "store"
    with open_store(f"oxigraph:{path}") as writer:
        load_paths(writer, [write(tmp_path, "world.ttl", SMALL_WORLD)], CURATED_GRAPH)
    started = tmp_path / "started"
    child = multiprocessing.get_context("fork").Process(target=_slow_child, args=(str(path), str(started)))
    child.start()
    try:
        deadline = time.monotonic() + 30
        while not started.exists():
            assert time.monotonic() < deadline and child.is_alive(), "the child never started computing"
            time.sleep(0.02)
        with _readers(path) as reader:
            assert reader.derived("shared", lambda: pytest.fail("computed a second time")) == 42
    finally:
        child.join(30)
    assert child.exitcode == 0
