"""The proposal process: what passes, what fails each principle, malformed input; nothing stored on failure."""

from __future__ import annotations

import json

import pytest
from conftest import PREFIXES, SRC, write

from partnergraph.cli import main
from partnergraph.store import open_store


@pytest.fixture
def world_url(runner, store_url, small_world):
    assert runner.invoke(main, ["--store", store_url, "load", str(small_world)]).exit_code == 0
    return store_url


def snapshot(url):
    with open_store(url, read_only=True) as s:
        return sorted((str(g), n) for g, n in s.graph_sizes()), sorted(map(str, s._all_graph_names()))


def propose(runner, url, path):
    return runner.invoke(main, ["--store", url, "propose", str(path)])


GOOD = {"kind": "organization", "label": "Delta Institute", "website": "https://delta.example",
        "goals": ["Open knowledge"], "source": "https://delta.example/about", "proposer": "alice",
        "activities": [{"title": "Talk at our summit", "type": "event", "date": "2024-05-01", "source": "https://delta.example/news"}]}


def test_a_good_proposal_is_stored_pending_then_accepted(runner, world_url, tmp_path):
    r = propose(runner, world_url, write(tmp_path, "p.json", json.dumps(GOOD)))
    assert r.exit_code == 0, r.output
    pid = r.output.split()[1]
    assert "[warning]" in r.output and "no confirmed Wikidata item" in r.output
    listed = json.loads(runner.invoke(main, ["--store", world_url, "proposals", "--format", "json"]).output)
    assert listed[0]["id"] == pid and listed[0]["state"] == "proposed" and listed[0]["proposer"] == "alice"
    ranked = runner.invoke(main, ["--store", world_url, "rank", "--all", "--format", "json"]).output
    assert "Delta Institute" not in ranked  # pending proposals are not part of the graph queries read
    r = runner.invoke(main, ["--store", world_url, "review", pid, "--start", "--reason", "reading the sources", "--by", "bob"])
    assert r.exit_code == 0 and "under-review" in r.output
    r = runner.invoke(main, ["--store", world_url, "review", pid, "--accept", "--reason", "sources confirm it", "--by", "bob"])
    assert r.exit_code == 0, r.output
    assert "proposed" in r.output and "under-review by bob: reading the sources" in r.output and "accepted by bob" in r.output
    ranked = json.loads(runner.invoke(main, ["--store", world_url, "rank", "--all", "--format", "json"]).output)
    assert "Delta Institute" in [d["label"] for d in ranked]
    r = runner.invoke(main, ["--store", world_url, "review", pid, "--decline", "--reason", "changed my mind"])
    assert r.exit_code == 2 and "already accepted" in r.output


def test_declined_proposal_keeps_its_record_but_stays_out(runner, world_url, tmp_path):
    r = propose(runner, world_url, write(tmp_path, "p.json", json.dumps(GOOD)))
    pid = r.output.split()[1]
    r = runner.invoke(main, ["--store", world_url, "review", pid, "--decline", "--reason", "out of scope"])
    assert r.exit_code == 0 and "declined" in r.output
    assert "Delta" not in runner.invoke(main, ["--store", world_url, "rank", "--all"]).output
    with open_store(world_url, read_only=True) as s:
        assert any(str(g).endswith(f"proposal/{pid}") for g in s._all_graph_names())


@pytest.mark.parametrize("change,principle", [
    ({"goals": []}, "Mission alignment"),
    ({"activities": []}, "Relevance"),
])
def test_failing_a_principle_is_exit_1_and_nothing_stored(runner, world_url, tmp_path, change, principle):
    before = snapshot(world_url)
    r = propose(runner, world_url, write(tmp_path, "p.json", json.dumps(dict(GOOD, **change))))
    assert r.exit_code == 1, r.output
    assert f"Delta Institute: {principle}:" in r.output and "nothing was stored" in r.output
    assert snapshot(world_url) == before


def test_traceability_activity_without_source_is_refused(runner, world_url, tmp_path):
    before = snapshot(world_url)
    ttl = write(tmp_path, "a.ttl", PREFIXES + """
        pgid:act-new a pg:Event ; dcterms:title "Unsourced" ; pg:home wd:Q1001 ; pg:partner wd:Q2002 ;
            dcterms:date "2024-01-01"^^xsd:date .""")
    r = propose(runner, world_url, ttl)
    assert r.exit_code == 2 and "needs a source" in r.output
    assert snapshot(world_url) == before


def test_openness_warning_for_a_component_under_a_licence_not_known_free(runner, world_url, tmp_path):
    ttl = write(tmp_path, "o.ttl", PREFIXES + f"""
        wd:Q3002 pg:license <https://example.org/licences/proprietary> .
        wd:Q2010 a org:Organization ; rdfs:label "Epsilon" ; foaf:homepage <https://eps.example> .
        pgid:al-e a pg:GoalAlignment ; pg:organization wd:Q2010 ; pg:goal pgid:goal-open ; dcterms:source {SRC} .
        pgid:st-e a pg:Stewardship ; pg:organization wd:Q2010 ; pg:component wd:Q3002 ; pg:role pg:Maintainer ; dcterms:source {SRC} .""")
    r = propose(runner, world_url, ttl)
    assert r.exit_code == 0, r.output
    assert "Openness: maintains beta-lib" in r.output and "not known to be free" in r.output


def test_an_activity_with_an_existing_partner(runner, world_url, tmp_path):
    form = {"kind": "activity", "title": "Mentoring round", "type": "mentoring", "date": "2024-07-01",
            "partner": "Q2002", "home": "Q1001", "source": "https://example.org/round"}
    r = propose(runner, world_url, write(tmp_path, "a.yaml", "\n".join(f"{k}: {json.dumps(v)}" for k, v in form.items())))
    assert r.exit_code == 0, r.output
    r = propose(runner, world_url, write(tmp_path, "b.json", json.dumps(dict(form, partner="Q99999"))))
    assert r.exit_code == 2 and "declared as an org:Organization" in r.output


@pytest.mark.parametrize("name,text,message", [
    ("bad.ttl", "@prefix x: <http://x/> . x:a x:b ", "not valid turtle"),
    ("u.json", json.dumps(dict(GOOD, colour="red")), "unknown field(s): colour"),
    ("q.json", json.dumps(dict(GOOD, qid="Q12ab")), "not a Wikidata item id"),
    ("h.json", json.dumps(dict(GOOD, label="<script>alert(1)</script>")), "HTML or script markup"),
    ("h.ttl", PREFIXES + 'wd:Q2011 a org:Organization ; rdfs:label "<img src=x onerror=alert(1)>" .', "HTML or script markup"),
    ("y.yaml", "kind: organization\nlabel: [unclosed", "not valid YAML"),
    ("k.json", json.dumps({"kind": "person"}), "kind: must be"),
    ("g.json", json.dumps(dict(GOOD, goals=["world peace"])), "no goal 'world peace'"),
    ("f.json", json.dumps(dict(GOOD, activities=[dict(GOOD["activities"][0], date="2999-01-01")])), "in the future"),
    ("p.txt", "hello", ".ttl, .json, .yaml or .yml"),
])
def test_malformed_proposals_are_exit_2_and_nothing_stored(runner, world_url, tmp_path, name, text, message):
    before = snapshot(world_url)
    r = propose(runner, world_url, write(tmp_path, name, text))
    assert r.exit_code == 2, r.output
    assert message in r.output
    assert "Traceback" not in r.output
    assert snapshot(world_url) == before


def test_review_errors(runner, world_url):
    r = runner.invoke(main, ["--store", world_url, "review", "nothex!!", "--accept", "--reason", "x"])
    assert r.exit_code == 2 and "not a proposal id" in r.output
    r = runner.invoke(main, ["--store", world_url, "review", "0123abcd", "--accept", "--reason", "x"])
    assert r.exit_code == 2 and "no proposal" in r.output
    r = runner.invoke(main, ["--store", world_url, "review", "0123abcd", "--reason", "x"])
    assert r.exit_code == 2 and "--accept" in r.output


def test_process_doc_quotes_the_principles_file():
    from pathlib import Path

    from partnergraph.shapes import principles_markdown

    doc = (Path(__file__).resolve().parents[1] / "docs" / "PROCESS.md").read_text(encoding="utf-8")
    quoted = doc.split("<!-- principles:start -->\n", 1)[1].split("<!-- principles:end -->", 1)[0]
    assert quoted == principles_markdown()
