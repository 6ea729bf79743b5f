"""The web app: the ranking page and its JSON/CSV, escaping, headers; a real server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import PREFIXES, SRC, write

from partnergraph.loaders.rdf import load_paths
from partnergraph.ontology import GRAPH
from partnergraph.store import open_store
from partnergraph.webapp import create_app

HOSTILE = '<script>alert("x")</script>'
HOSTILE_TTL = HOSTILE.replace('"', '\\"')


@pytest.fixture
def client(tmp_path, small_world):
    s = open_store("memory:")
    evil = write(tmp_path, "evil.ttl", PREFIXES + f"""
        wd:Q2005 a org:Organization ; rdfs:label "{HOSTILE_TTL}"@en .
        pgid:al-9 a pg:GoalAlignment ; pg:organization wd:Q2005 ; pg:goal pgid:goal-open ; dcterms:source {SRC} .""")
    load_paths(s, [small_world, evil])
    app = create_app(s)
    app.config["TESTING"] = True
    with app.test_client() as c:
        yield c
    s.close()


def test_ranking_page(client):
    r = client.get("/partners?as_of=2025-01-01")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Alpha Foundation" in html and "Prioritized technical partners" in html
    assert "https://www.wikidata.org/wiki/Q2001" in html
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_untrusted_labels_are_escaped(client):
    html = client.get("/partners?all=1").get_data(as_text=True)
    assert HOSTILE not in html
    assert "&lt;script&gt;" in html


def test_json_and_csv(client):
    data = json.loads(client.get("/partners.json?as_of=2025-01-01").get_data(as_text=True))
    assert [d["qid"] for d in data][:1] == ["Q2001"] or data == []
    r = client.get("/partners.csv?all=1")
    assert r.mimetype == "text/csv" and r.get_data(as_text=True).startswith("rank,qid,label")


def test_bad_as_of_is_400(client):
    r = client.get("/partners?as_of=not-a-date")
    assert r.status_code == 400


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, seconds: float = 60) -> bytes:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited: {proc.stdout.read() if proc.stdout else ''}")
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                return resp.read()
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"server at {url} did not answer in {seconds}s")


def test_demo_serves_on_loopback(tmp_path):
    """`partnergraph demo` loads, validates, ranks and serves; Ctrl-C (SIGINT) stops it."""
    port = _free_port()
    env = dict(os.environ, PARTNERGRAPH_STORE=f"oxigraph:{tmp_path / 'store'}")
    proc = subprocess.Popen([sys.executable, "-m", "partnergraph", "demo", "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        body = _wait(f"http://127.0.0.1:{port}/partners.json", proc)
        rows = json.loads(body)
        assert len(rows) >= 10 and rows[0]["rank"] == 1
    finally:
        proc.send_signal(2)
        out, _ = proc.communicate(timeout=30)
    assert "prioritized technical partners" in out
    assert proc.returncode == 0, out


def test_installed_wheel_works_outside_the_checkout(tmp_path):
    """The wheel carries the vocabulary, shapes, queries, templates and data as package data."""
    root = Path(__file__).resolve().parents[1]
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(dist), str(root)],
                   check=True, capture_output=True)
    wheel = next(dist.glob("partnergraph-*.whl"))
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    code = ("import partnergraph, sys; assert partnergraph.__file__.startswith(sys.argv[1]), partnergraph.__file__; "
            "from partnergraph.cli import main; main(sys.argv[2:])")
    env = dict(os.environ, PYTHONPATH=str(target), PARTNERGRAPH_STORE="memory:")
    out = subprocess.run([sys.executable, "-c", code, str(target), "demo", "--no-serve", "--limit", "3"],
                         cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "prioritized technical partners" in out.stdout


def _csrf(client) -> str:
    html = client.get("/propose").get_data(as_text=True)
    return html.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def _proposals(client) -> int:
    store = client.application.config["STORE"]
    from partnergraph.loaders.proposals import list_proposals

    return len(list_proposals(store))


def test_propose_form_renders_goals(client):
    html = client.get("/propose").get_data(as_text=True)
    assert "Open knowledge" in html and 'name="csrf"' in html


def test_propose_form_stores_a_good_proposal(client):
    data = {"csrf": _csrf(client), "label": "Delta Institute", "website": "https://delta.example",
            "source": "https://delta.example/about", "goals": "https://w3id.org/partnergraph/id/goal-open",
            "activity_title": "Talk at our summit", "activity_type": "event", "activity_date": "2024-05-01",
            "activity_source": "https://delta.example/news", "proposer": "alice"}
    r = client.post("/propose", data=data)
    assert r.status_code == 200, r.get_data(as_text=True)
    html = r.get_data(as_text=True)
    assert "stored, pending review" in html and "no confirmed Wikidata item" in html
    assert _proposals(client) == 1


def test_propose_form_principle_failure_and_markup(client):
    base = {"csrf": _csrf(client), "label": "Lonely", "source": "https://lonely.example"}
    r = client.post("/propose", data=base)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Mission alignment" in html and "nothing was stored" in html
    r = client.post("/propose", data=dict(base, label='<script>alert(1)</script>', qid="Q0x"))
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "HTML or script markup" in html and "not a Wikidata item id" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert _proposals(client) == 0


def test_propose_form_needs_its_csrf_token(client):
    r = client.post("/propose", data={"label": "X", "source": "https://x.example"})
    assert r.status_code == 400 and _proposals(client) == 0


def test_page_follows_new_data(client, tmp_path):
    before = json.loads(client.get("/partners.json?all=1").get_data(as_text=True))
    store = client.application.config["STORE"]
    extra = write(tmp_path, "extra.ttl", PREFIXES + f"""
        wd:Q2020 a org:Organization ; rdfs:label "Zeta Newcomers"@en .
        pgid:al-z a pg:GoalAlignment ; pg:organization wd:Q2020 ; pg:goal pgid:goal-open ; dcterms:source {SRC} .""")
    load_paths(store, [extra], graph=GRAPH["extra"])
    after = json.loads(client.get("/partners.json?all=1").get_data(as_text=True))
    assert "Zeta Newcomers" not in [r["label"] for r in before]
    assert "Zeta Newcomers" in [r["label"] for r in after]
