"""The pages: editor with the query gallery, /partners with filters and its chart, /graph; every data
page also as JSON and CSV (suffix or Accept); untrusted text escaped; the CSP on every answer."""

from __future__ import annotations

import csv
import io
import json

import pytest
from markupsafe import escape
from conftest import PREFIXES, SRC, write

from partnergraph import queries
from partnergraph.loaders.rdf import load_paths
from partnergraph.store import open_store
from partnergraph.webapp import create_app

HOSTILE = '</script><script>alert("x")</script>'
HOSTILE_TTL = HOSTILE.replace('"', '\\"')
DELTA_IRI = "https://w3id.org/partnergraph/id/org/delta-collective"
DELTA = f"<{DELTA_IRI}>"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from conftest import SMALL_WORLD

    tmp = tmp_path_factory.mktemp("pages")
    s = open_store(f"oxigraph:{tmp / 'store'}")
    evil = write(tmp, "evil.ttl", PREFIXES + f"""
        wd:Q2005 a org:Organization ; rdfs:label "{HOSTILE_TTL}"@en .
        wd:Q3005 a pg:Component ; rdfs:label "{HOSTILE_TTL} lib"@en .
        pgid:st-9 a pg:Stewardship ; pg:component wd:Q3005 ; pg:organization wd:Q2005 ; pg:role pg:Maintainer ; dcterms:source {SRC} .
        pgid:al-9 a pg:GoalAlignment ; pg:organization wd:Q2005 ; pg:goal pgid:goal-open ; dcterms:source {SRC} .""")
    # an organization with no Wikidata item yet (as a proposal or a curator names it), hostile label
    delta = write(tmp, "delta.ttl", PREFIXES + f"""
        {DELTA} a org:Organization ; rdfs:label "Delta {HOSTILE_TTL} Collective"@en ; pg:unresolved true ;
            pg:searchLabel "Delta Collective" ; foaf:homepage <https://delta.example> .
        pgid:st-10 a pg:Stewardship ; pg:component wd:Q3002 ; pg:organization {DELTA} ; pg:role pg:Maintainer ;
            dcterms:source <https://delta.example/maintainers> .
        pgid:al-10 a pg:GoalAlignment ; pg:organization {DELTA} ; pg:goal pgid:goal-open ; dcterms:source {SRC} .
        pgid:act-10 a pg:Event ; dcterms:title "Delta sprint" ; pg:home wd:Q1001 ; pg:partner {DELTA} ;
            dcterms:date "2024-09-01"^^xsd:date ; dcterms:source <https://delta.example/sprint> .
        pgid:sc-10 a pg:StatusClaim ; pg:home wd:Q1001 ; pg:organization {DELTA} ; pg:status pg:ConversationStarted ;
            dcterms:date "2024-05-05"^^xsd:date ; dcterms:source <https://delta.example/talk> .""")
    load_paths(s, [write(tmp, "world.ttl", SMALL_WORLD), evil, delta])
    app = create_app(s)
    app.config["TESTING"] = True
    with app.test_client() as c:
        yield c
    s.close()


def test_editor_page_has_the_gallery_and_a_safe_config(client):
    r = client.get("/")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "default-src 'self'" in r.headers["Content-Security-Policy"]
    for name, q in queries.catalogue().items():
        assert f'data-query="{name}"' in html
        assert str(escape(q.title)) in html
    start = html.index('<script type="application/json" id="editor-config">') + len('<script type="application/json" id="editor-config">')
    config = json.loads(html[start:html.index("</script>", start)])
    assert config["endpoint"] == "/sparql" and config["prefixes"]["wd"] == "http://www.wikidata.org/entity/"
    ranking = next(g for g in config["gallery"] if g["name"] == "prioritized_partners")
    assert {p["name"] for p in ranking["params"]} >= {"home", "asOf"}
    assert "<script" not in html.split('id="editor-config">', 1)[1].split("</script>", 1)[0]


def test_editor_opens_a_shared_query_and_escapes_it(client):
    html = client.get("/", query_string={"query": HOSTILE}).get_data(as_text=True)
    assert HOSTILE not in html
    assert "alert" in html  # it is there, as text
    # every inline <script> is a JSON data block, never code (the CSP forbids inline code anyway)
    assert html.count("<script") == html.count('<script type="application/json"') + html.count("<script src=")


def test_gallery_link_opens_the_query_in_the_editor(client):
    html = client.get("/").get_data(as_text=True)
    href = html.split('data-query="prioritized_partners"', 1)[0].rsplit('href="', 1)[1].split('"', 1)[0]
    assert href.startswith("/?query=")
    page = client.get(href.replace("&amp;", "&")).get_data(as_text=True)
    assert "VALUES ?home" in page


def test_partners_filters(client):
    everyone = json.loads(client.get("/partners.json?all=1&as_of=2025-01-01").get_data(as_text=True))
    assert {"Alpha Foundation", "Beta Corp", "Gamma Society"} <= {r["label"] for r in everyone}
    ongoing = json.loads(client.get("/partners.json", query_string={"all": 1, "status": "ongoing collaboration",
                                                                    "as_of": "2025-01-01"}).get_data(as_text=True))
    assert [r["label"] for r in ongoing] == ["Alpha Foundation"]
    maps = json.loads(client.get("/partners.json", query_string={"all": 1, "goal": "https://w3id.org/partnergraph/id/goal-maps"}).get_data(as_text=True))
    assert [r["label"] for r in maps] == ["Alpha Foundation"]
    eligible = json.loads(client.get("/partners.json?as_of=2025-01-01").get_data(as_text=True))
    assert "Gamma Society" not in {r["label"] for r in eligible}
    assert client.get("/partners.json?goal=not%20an%20iri").status_code == 400


def test_partners_page_draws_score_components(client):
    html = client.get("/partners?all=1&as_of=2025-01-01").get_data(as_text=True)
    assert html.count('<svg class="bar"') >= 3
    for part in ("stack", "goals", "engagement", "status"):
        assert f'class="part-{part}"' in html
    assert "<option value=\"ongoing collaboration\"" in html and "Open maps" in html
    assert HOSTILE not in html and "&lt;/script&gt;" in html


@pytest.mark.parametrize("path", ["/partners", "/graph", "/goals", "/org/Q2001", "/org/id/org/delta-collective"])
def test_data_pages_answer_json_and_csv_by_accept_and_suffix(client, path):
    by_accept = client.get(path, headers={"Accept": "application/json"})
    by_suffix = client.get(f"{path}.json")
    assert by_accept.mimetype == by_suffix.mimetype == "application/json"
    assert json.loads(by_accept.get_data(as_text=True)) == json.loads(by_suffix.get_data(as_text=True))
    csv_accept = client.get(path, headers={"Accept": "text/csv"})
    csv_suffix = client.get(f"{path}.csv")
    assert csv_accept.mimetype == csv_suffix.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(csv_suffix.get_data(as_text=True))))
    assert rows
    assert client.get(path, headers={"Accept": "text/html,*/*;q=0.8"}).mimetype == "text/html"
    assert client.get(f"{path}.xlsx").status_code == 404


def test_graph_json_is_the_network(client):
    data = json.loads(client.get("/graph.json").get_data(as_text=True))
    nodes = {n["id"]: n for n in data["nodes"]}
    assert nodes["http://www.wikidata.org/entity/Q1001"]["kind"] == "home"
    assert nodes["http://www.wikidata.org/entity/Q2001"]["kind"] == "organization"
    assert nodes["http://www.wikidata.org/entity/Q3001"]["kind"] == "component"
    assert nodes["https://w3id.org/partnergraph/id/goal-open"]["kind"] == "goal"
    edges = {(e["source"].rsplit("/", 1)[1], e["relation"], e["target"].rsplit("/", 1)[1]) for e in data["edges"]}
    assert ("Q2001", "maintains", "Q3001") in edges and ("Q2001", "shares goal", "goal-maps") in edges
    assert ("Q1001", "uses", "Q3002") in edges
    assert all(e["source"] in nodes and e["target"] in nodes for e in data["edges"])
    html = client.get("/graph").get_data(as_text=True)
    assert 'id="network"' in html and HOSTILE not in html


def test_every_page_sends_the_csp(client):
    for path in ("/", "/partners", "/graph", "/goals", "/org/Q2001", "/propose", "/sparql", "/partners.json"):
        r = client.get(path)
        assert r.status_code == 200, path
        assert r.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert "unsafe-inline" not in r.headers["Content-Security-Policy"]


def test_organization_page_explains_and_links(client):
    r = client.get("/org/Q2001?as_of=2025-01-01")
    html = r.get_data(as_text=True)
    assert r.status_code == 200, html
    assert "Alpha Foundation" in html and "https://www.wikidata.org/wiki/Q2001" in html
    assert "AlphaDB" in html  # what it maintains of the stack
    assert "Open maps" in html and "Open knowledge" in html  # goals shared
    assert "Patches to AlphaDB" in html and "2024-03-01" in html and '<circle' in html  # the activity timeline
    assert "ongoing collaboration" in html.lower() and "2023-01-10" in html  # status history
    assert "https://example.org/source" in html  # sources
    data = json.loads(client.get("/org/Q2001.json?as_of=2025-01-01").get_data(as_text=True))
    assert data["qid"] == "Q2001" and data["eligible"] is True
    assert {c["name"] for c in data["components"]} >= {"stack", "goals", "engagement", "status"}
    rows = list(csv.DictReader(io.StringIO(client.get("/org/Q2001", headers={"Accept": "text/csv"}).get_data(as_text=True))))
    assert {r["component"] for r in rows} >= {"stack", "goals", "engagement"}


def test_organization_page_shows_failing_principles_and_escapes(client):
    html = client.get("/org/Q2003").get_data(as_text=True)
    assert "Not eligible" in html and "Relevance" in html
    html = client.get("/org/Q2005").get_data(as_text=True)
    assert HOSTILE not in html and "&lt;/script&gt;" in html
    assert client.get("/org/Q999999").status_code == 404
    assert client.get("/org/not-a-qid").status_code == 404


def test_goals_page_draws_progress_against_targets(client):
    r = client.get("/goals?as_of=2025-01-01")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'class="progress"' in html and "Alpha Foundation" in html
    data = json.loads(client.get("/goals.json?as_of=2025-01-01").get_data(as_text=True))
    ongoing = next(lv for lv in data["levels"] if lv["status"].endswith("OngoingCollaboration"))
    assert ongoing["count"] == 1 and [o["qid"] for o in ongoing["organizations"]] == ["Q2001"]
    assert ongoing["target"] is not None and ongoing["missing"] == ongoing["target"] - 1
    rows = list(csv.DictReader(io.StringIO(client.get("/goals.csv?as_of=2025-01-01").get_data(as_text=True))))
    assert any(r["label"] == ongoing["label"] and r["count"] == "1" for r in rows)


def test_organization_without_wikidata_item_has_a_page(client):
    r = client.get("/org/id/org/delta-collective?as_of=2025-01-01")
    html = r.get_data(as_text=True)
    assert r.status_code == 200, html
    assert HOSTILE not in html and "Delta &lt;/script&gt;" in html
    assert "wikidata.org/wiki/" not in html and "no Wikidata item yet" in html
    assert "beta-lib" in html  # what it maintains of the stack
    assert "Open knowledge" in html  # goals shared
    assert "Delta sprint" in html and "2024-09-01" in html and "<circle" in html  # activities on the timeline
    assert "conversation started" in html and "2024-05-05" in html  # status history
    assert "no confirmed Wikidata item yet" in html  # the principle it fails, with its message
    for source in ("https://delta.example/maintainers", "https://delta.example/sprint", "https://delta.example/talk"):
        assert f'href="{source}"' in html
    assert 'href="/org/id/org/delta-collective.json?as_of=2025-01-01"' in html
    assert 'href="/org/id/org/delta-collective.csv?as_of=2025-01-01"' in html
    data = json.loads(client.get("/org/id/org/delta-collective.json?as_of=2025-01-01").get_data(as_text=True))
    assert data["iri"] == DELTA_IRI and data["qid"] is None
    assert data["page"] == "http://localhost/org/id/org/delta-collective"
    assert any("no confirmed Wikidata item" in f["message"] for f in data["findings"])
    csv_r = client.get("/org/id/org/delta-collective.csv?as_of=2025-01-01")
    assert "org-org-delta-collective.csv" in csv_r.headers["Content-Disposition"]
    assert {row["component"] for row in csv.DictReader(io.StringIO(csv_r.get_data(as_text=True)))} >= {"stack", "engagement"}


def test_organization_pages_are_linked_from_lists_graph_and_data(client):
    html = client.get("/partners?all=1").get_data(as_text=True)
    assert 'href="/org/id/org/delta-collective"' in html and 'href="/org/Q2001"' in html
    rows = json.loads(client.get("/partners.json?all=1").get_data(as_text=True))
    pages = {r["iri"]: r["page"] for r in rows}
    assert pages[DELTA_IRI] == "http://localhost/org/id/org/delta-collective"
    assert pages["http://www.wikidata.org/entity/Q2001"] == "http://localhost/org/Q2001"
    table = list(csv.DictReader(io.StringIO(client.get("/partners.csv?all=1").get_data(as_text=True))))
    assert {r["page"] for r in table} >= {"http://localhost/org/id/org/delta-collective", "http://localhost/org/Q2001"}
    for page in pages.values():  # every link leads to a page
        assert client.get(page.replace("http://localhost", "")).status_code == 200, page
    nodes = {n["id"]: n for n in json.loads(client.get("/graph.json").get_data(as_text=True))["nodes"]}
    assert nodes[DELTA_IRI]["page"] == "/org/id/org/delta-collective" and nodes[DELTA_IRI]["qid"] is None
    assert nodes["http://www.wikidata.org/entity/Q2001"]["page"] == "/org/Q2001"
    assert nodes["http://www.wikidata.org/entity/Q3001"]["page"] is None  # a component has no /org page
    goals = json.loads(client.get("/goals.json").get_data(as_text=True))
    started = next(lv for lv in goals["levels"] if lv["status"].endswith("ConversationStarted"))
    assert [o["page"] for o in started["organizations"]] == ["http://localhost/org/id/org/delta-collective"]
    assert 'href="/org/id/org/delta-collective"' in client.get("/goals").get_data(as_text=True)


@pytest.mark.parametrize("path", ["/org/id/org/nobody", "/org/id/org/../../etc", "/org/id/org/x%3Cb%3E",
                                  "/org/id/org/nobody.json", "/org/not-a-qid", "/org/Q999999.json"])
def test_unknown_organization_ids_are_404_with_a_message(client, path):
    r = client.get(path)
    assert r.status_code == 404
    body = r.get_data(as_text=True)
    assert "<b>" not in body and ("nothing is known" in body or "is not a" in body), body


@pytest.mark.parametrize("path, status", [("/partners.json?as_of=bad", 400), ("/goals.json?as_of=2020-13-01", 400),
                                          ("/partners.json?goal=not%20an%20iri", 400), ("/org/id/org/nobody.json", 404),
                                          ("/org/Q999999.json", 404)])
def test_data_page_errors_come_as_json_or_text(client, path, status):
    r = client.get(path)
    assert r.status_code == status and r.mimetype == "application/json"
    assert json.loads(r.get_data(as_text=True))["error"]
    plain = client.get(path.replace(".json", ".csv"))
    assert plain.status_code == status and plain.mimetype == "text/plain" and "<" not in plain.get_data(as_text=True)
    by_accept = client.get(path.replace(".json", ""), headers={"Accept": "application/json"})
    assert by_accept.status_code == status and by_accept.mimetype == "application/json"
    page = client.get(path.replace(".json", ""))
    assert page.status_code == status and page.mimetype == "text/html" and 'class="error"' in page.get_data(as_text=True)


def test_a_list_as_of_a_date_links_to_pages_as_of_that_date(client):
    html = client.get("/partners?all=1&as_of=2025-01-01").get_data(as_text=True)
    assert 'href="/org/Q2001?as_of=2025-01-01"' in html and 'href="/org/id/org/delta-collective?as_of=2025-01-01"' in html
    rows = json.loads(client.get("/partners.json?all=1&as_of=2025-01-01").get_data(as_text=True))
    assert all(r["page"].endswith("?as_of=2025-01-01") for r in rows)
    org = client.get("/org/Q2001?as_of=2025-01-01").get_data(as_text=True)
    assert 'href="/org/Q2001.json?as_of=2025-01-01"' in org


def test_only_web_addresses_become_links(tmp_path):
    from conftest import SMALL_WORLD

    s = open_store("memory:")
    load_paths(s, [write(tmp_path, "world.ttl", SMALL_WORLD), write(tmp_path, "js.ttl", PREFIXES + """
        wd:Q2007 a org:Organization ; rdfs:label "Scripted"@en ; foaf:homepage <javascript:alert(1)> .""")])
    app = create_app(s, workers=0)
    html = app.test_client().get("/org/Q2007").get_data(as_text=True)
    assert "Scripted" in html and "javascript:" not in html
    html = app.test_client().get("/org/Q2001").get_data(as_text=True)
    assert 'href="https://alpha.example"' in html
    s.close()


def test_the_warmer_derives_the_pages_answers_before_anyone_asks(tmp_path, monkeypatch):
    """With warm=True (partnergraph serve), the ranking and goal progress are derived in the
    background after each change of the data: the pages then run none of the ranking's work."""
    import time

    from conftest import SMALL_WORLD

    from partnergraph import service
    from partnergraph.webapp import Warmer, close_app

    s = open_store("memory:")
    load_paths(s, [write(tmp_path, "world.ttl", SMALL_WORLD)])
    computed = []
    real_rank, real_goals = service._rank, service._goals
    monkeypatch.setattr(service, "_rank", lambda *a, **k: computed.append("rank") or real_rank(*a, **k))
    monkeypatch.setattr(service, "_goals", lambda *a, **k: computed.append("goals") or real_goals(*a, **k))
    monkeypatch.setattr(Warmer.__init__, "__defaults__", (0.05,))  # look at the generation every 50 ms
    app = create_app(s, workers=0, warm=True)
    try:
        warmer = app.config["WARMER"]

        def settled(generation) -> None:  # noqa: ANN001
            deadline = time.monotonic() + 60
            while warmer.warmed is None or warmer.warmed[0] != generation:
                assert time.monotonic() < deadline and warmer.errors == 0, "the warmer did not derive the answers"
                time.sleep(0.02)

        settled(s.generation)
        assert sorted(computed) == ["goals", "rank"]
        client = app.test_client()
        assert "Alpha Foundation" in client.get("/partners").get_data(as_text=True)
        assert client.get("/goals.json").status_code == 200
        assert client.get("/org/Q2001").status_code == 200
        assert sorted(computed) == ["goals", "rank"], "a page computed what the warmer had derived"
        # a write: derived again, in the background
        load_paths(s, [write(tmp_path, "world.ttl", SMALL_WORLD + f"""
            pgid:sc-9 a pg:StatusClaim ; pg:home wd:Q1001 ; pg:organization wd:Q2002 ; pg:status pg:OngoingCollaboration ;
                dcterms:date "2024-02-01"^^xsd:date ; dcterms:source {SRC} .""")])
        settled(s.generation)
        assert sorted(computed) == ["goals", "goals", "rank", "rank"]
        assert "Beta Corp" in client.get("/goals").get_data(as_text=True)
        assert sorted(computed) == ["goals", "goals", "rank", "rank"]
    finally:
        close_app(app)
        s.close()


def test_a_failing_warmer_is_logged_once_per_state_and_pages_still_answer(tmp_path, monkeypatch, caplog):
    import logging
    import time

    from conftest import SMALL_WORLD

    from partnergraph import service
    from partnergraph.webapp import Warmer, close_app

    s = open_store("memory:")
    load_paths(s, [write(tmp_path, "world.ttl", SMALL_WORLD)])
    real_rank = service._rank
    monkeypatch.setattr(service, "_rank", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("server gone")))
    monkeypatch.setattr(Warmer.__init__, "__defaults__", (0.02,))
    caplog.set_level(logging.WARNING, logger="partnergraph.warmer")
    app = create_app(s, workers=0, warm=True)
    try:
        warmer = app.config["WARMER"]
        deadline = time.monotonic() + 30
        while warmer.errors == 0:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(0.3)  # some fifteen more rounds: the same state is not tried again at once
        assert warmer.errors == 1 and warmer.warmed is None
        assert "server gone" in caplog.text and "pages will compute them on request" in caplog.text
        monkeypatch.setattr(service, "_rank", real_rank)
        assert "Alpha Foundation" in app.test_client().get("/partners").get_data(as_text=True)
    finally:
        close_app(app)
        s.close()
