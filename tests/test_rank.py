"""The prioritized list: scores computed by hand on a small world, on both engines."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from partnergraph.cli import main
from partnergraph.loaders.rdf import load_paths
from partnergraph.ontology import WD
from partnergraph.service import rank

HOME = WD["Q1001"]


@pytest.fixture
def world(store, small_world):
    load_paths(store, [small_world])
    return store


def by_qid(rows):
    return {r["qid"]: r for r in rows}


def test_scores_by_hand(world):
    rows = rank(world, home=HOME, as_of=dt.date(2025, 1, 1), eligible_only=False)
    got = by_qid(rows)
    # Q2001: stack 3 (high) x 1 (developer) + 2 goals x 2.0 + 1.5 x 1/(1+1) (a 2024 activity) + 3 (ongoing)
    assert got["Q2001"]["score"] == pytest.approx(10.75)
    assert got["Q2001"]["stack"] == pytest.approx(3) and got["Q2001"]["goals"] == 2
    assert got["Q2001"]["status"] == "ongoing collaboration"
    # Q2002: 1 (low) x 1 + 1 goal x 2.0 + 1.5 x (1/(1+6) + 1/(1+1)) (2019, and 2024 with the home's affiliate)
    assert got["Q2002"]["score"] == pytest.approx(3.96)
    assert "Q2004" not in got  # an affiliate of the home is not ranked
    # Q2003 shares one goal and nothing else
    assert got["Q2003"]["score"] == pytest.approx(2.0)
    assert [r["qid"] for r in rows] == ["Q2001", "Q2002", "Q2003"]
    assert [r["rank"] for r in rows] == [1, 2, 3]
    assert "maintains AlphaDB (high criticality)" in got["Q2001"]["reasons"]
    assert got["Q2001"]["reasons"][0].startswith("status: ongoing collaboration")


def test_eligible_only_by_default(world):
    rows = rank(world, home=HOME, as_of=dt.date(2025, 1, 1))
    assert [r["qid"] for r in rows] == ["Q2001", "Q2002"]
    everyone = by_qid(rank(world, home=HOME, as_of=dt.date(2025, 1, 1), eligible_only=False))
    assert everyone["Q2003"]["eligible"] is False
    assert everyone["Q2003"]["failed_principles"] == ["Relevance"]


def test_as_of_forgets_later_activities_and_statuses(world):
    got = by_qid(rank(world, home=HOME, as_of=dt.date(2020, 1, 1), eligible_only=False))
    assert got["Q2001"]["score"] == pytest.approx(7.0)  # no 2024 activity, no 2023 status yet
    assert got["Q2001"]["status"] is None
    assert got["Q2002"]["score"] == pytest.approx(3.75)  # the 2019 event is 1 year old, the 2024 one not yet


def test_weights_change_the_order(world):
    default = [r["qid"] for r in rank(world, home=HOME, as_of=dt.date(2025, 1, 1), eligible_only=False)]
    goals_only = rank(world, home=HOME, as_of=dt.date(2025, 1, 1), eligible_only=False,
                      weights={"stack": 0, "goals": 1, "engagement": 0, "status": 0})
    assert default[0] == "Q2001"
    assert [r["score"] for r in goals_only] == [2.0, 1.0, 1.0]


def test_unknown_weight_is_a_user_error(world):
    from partnergraph.errors import UserError

    with pytest.raises(UserError, match="unknown weight"):
        rank(world, home=HOME, weights={"popularity": 1})


def test_engines_agree_on_the_bundled_data(tmp_path):
    """The ranking query is portable: rdflib's engine and Oxigraph give the same list."""
    from partnergraph.service import load_bundled
    from partnergraph.store import open_store

    results = []
    for url in ("memory:", f"oxigraph:{tmp_path / 's'}"):
        with open_store(url) as s:
            load_bundled(s)
            rows = rank(s, as_of=dt.date(2025, 6, 30), eligible_only=False)
            results.append([(r["iri"], round(r["score"], 6), sorted(r["reasons"])) for r in rows])
    assert results[0] == results[1]
    assert len(results[0]) >= 30


def test_rank_cli_formats(runner, store_url, small_world):
    assert runner.invoke(main, ["--store", store_url, "load", str(small_world)]).exit_code == 0
    r = runner.invoke(main, ["--store", store_url, "rank", "--home", "Q1001", "--as-of", "2025-01-01", "--format", "json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert [d["qid"] for d in data] == ["Q2001", "Q2002"]
    for key in ("rank", "qid", "label", "score", "reasons"):
        assert key in data[0]
    assert isinstance(data[0]["reasons"], list) and data[0]["label"] == "Alpha Foundation"
    r = runner.invoke(main, ["--store", store_url, "rank", "--home", "Q1001", "--as-of", "2025-01-01", "--format", "csv", "--all"])
    lines = r.output.strip().splitlines()
    assert lines[0].startswith("rank,qid,label,score") and len(lines) == 4
    r = runner.invoke(main, ["--store", store_url, "rank", "--home", "Q1001", "--as-of", "2025-01-01", "--limit", "1"])
    assert "Alpha Foundation" in r.output and "Beta Corp" not in r.output
    r = runner.invoke(main, ["--store", store_url, "rank", "--home", "Q1001", "--all", "--as-of", "2025-01-01"])
    assert "NOT ELIGIBLE (Relevance)" in r.output


def test_rank_cli_bad_input(runner, store_url, small_world):
    runner.invoke(main, ["--store", store_url, "load", str(small_world)])
    for args, text in (
        (["--weight", "stack"], "NAME=NUMBER"),
        (["--as-of", "yesterday"], "not a date"),
        (["--home", "not a qid"], "home"),
        (["--weight", "fame=2"], "unknown weight"),
        (["--limit", "0"], "0"),
    ):
        r = runner.invoke(main, ["--store", store_url, "rank", *args])
        assert r.exit_code == 2, (args, r.output)
        assert text in r.output, (args, r.output)
        assert "Traceback" not in r.output


def test_unresolved_organizations_have_null_qid(runner, bundled_store_url):
    r = runner.invoke(main, ["--store", bundled_store_url, "rank", "--all", "--format", "json"])
    data = json.loads(r.output)
    unresolved = [d for d in data if d["iri"].startswith("https://w3id.org/partnergraph/id/")]
    assert unresolved and all(d["qid"] is None for d in unresolved)
    assert all(d["qid"] == d["iri"].rsplit("/", 1)[1] for d in data if d["iri"].startswith("http://www.wikidata.org/entity/"))
