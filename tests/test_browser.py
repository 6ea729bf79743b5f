"""A real headless browser (Debian's chromium, driven by Playwright) against a real `partnergraph
serve`: every page renders with no console error (CSP violations included), a query typed in the
editor runs and shows a table, the proposal form shows validation messages."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import PREFIXES, SMALL_WORLD, SRC, write

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
DELTA = "<https://w3id.org/partnergraph/id/org/delta-collective>"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]



def _wait_until(page, predicate: str, seconds: float) -> None:
    """Poll a predicate from the test side. Playwright's wait_for_function polls inside the page
    with a string it evaluates there, which the pages' CSP (script-src 'self', no 'unsafe-eval')
    rightly forbids; page.evaluate goes through the DevTools protocol instead."""
    import time

    deadline = time.monotonic() + seconds
    while not page.evaluate(predicate):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {seconds} s: {predicate}")
        time.sleep(0.1)

def _built() -> bool:
    from importlib import resources

    return resources.files("partnergraph.webapp").joinpath("static", "vendor", "editor.js").is_file()


if CHROMIUM is None:
    pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does it)", allow_module_level=True)
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - a test dependency
    pytest.skip("the playwright package is not installed (pip install -e '.[test]')", allow_module_level=True)
if not _built():
    pytest.skip("the editor bundle is not built (needs npm at setup: ./run builds webapp/static/vendor/)", allow_module_level=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from test_endpoint import Server

    from partnergraph.loaders.rdf import load_paths
    from partnergraph.store import open_store

    tmp = tmp_path_factory.mktemp("browser")
    url = f"oxigraph:{tmp / 'store'}"
    with open_store(url) as s:
        load_paths(s, [write(tmp, "world.ttl", SMALL_WORLD), write(tmp, "delta.ttl", PREFIXES + f"""
            {DELTA} a org:Organization ; rdfs:label "Delta Collective"@en ; pg:unresolved true ;
                pg:searchLabel "Delta Collective" .
            pgid:st-10 a pg:Stewardship ; pg:component wd:Q3002 ; pg:organization {DELTA} ; pg:role pg:Maintainer ;
                dcterms:source {SRC} .""")])
    srv = Server(url, "--workers", "1")
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser():
    os.environ.setdefault("PLAYWRIGHT_BROWSERS_PATH", "0")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    p = context.new_page()
    p.problems = []  # type: ignore[attr-defined]
    p.on("console", lambda m: p.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    p.on("pageerror", lambda e: p.problems.append(f"page error: {e}"))
    p.on("requestfailed", lambda r: p.problems.append(f"request failed: {r.url}"))
    yield p
    context.close()


@pytest.mark.parametrize("path, ready", [
    ("/", ".cm-content"),
    ("/partners?all=1", "table.rank tbody tr"),
    ("/graph", "#network canvas"),
    ("/org/Q2001", "svg.bar"),
    ("/org/id/org/delta-collective", "svg.bar"),
    ("/propose", "form.propose"),
])
def test_each_page_renders_without_console_errors(server, page, path, ready):
    response = page.goto(server.url + path)
    assert response is not None and response.status == 200
    page.wait_for_selector(ready, timeout=20_000)
    page.wait_for_load_state("networkidle")
    assert page.problems == []


def test_graph_is_drawn_and_navigable(server, page):
    page.goto(server.url + "/graph")
    _wait_until(page, "() => !!(window.partnergraphGraph && window.partnergraphGraph.nodes().length > 0)", 20)
    assert page.evaluate("window.partnergraphGraph.nodes('[kind = \"organization\"]').length") >= 3
    page.evaluate("window.partnergraphGraph.$id('http://www.wikidata.org/entity/Q2001').emit('tap')")
    assert "Alpha Foundation" in page.inner_text("#selection")
    assert page.problems == []


def test_graph_leads_to_the_page_of_an_organization_without_wikidata_item(server, page):
    page.goto(server.url + "/graph")
    _wait_until(page, "() => !!(window.partnergraphGraph && window.partnergraphGraph.nodes().length > 0)", 20)
    page.evaluate("window.partnergraphGraph.$id('https://w3id.org/partnergraph/id/org/delta-collective').emit('tap')")
    links = page.locator("#selection a")
    assert links.all_inner_texts() == ["organization page"]  # no Wikidata link: it has no item
    links.first.click()
    page.wait_for_url("**/org/id/org/delta-collective")
    assert page.inner_text("h1") == "Delta Collective"
    assert "no Wikidata item yet" in page.inner_text(".lede")
    assert page.problems == []


def test_a_typed_query_runs_and_shows_a_table(server, page):
    page.goto(server.url + "/")
    page.wait_for_selector(".cm-content")
    page.click(".cm-content")
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type("SELECT ?label WHERE { ?org <http://www.w3.org/2000/01/rdf-schema#label> ?label } ORDER BY ?label")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("table.results tbody tr", timeout=20_000)
    cells = page.locator("table.results tbody td").all_inner_texts()
    assert "Alpha Foundation @en" in cells and "Beta Corp @en" in cells  # the language tag shown beside
    assert "results in" in page.inner_text("#status")
    # the URL now carries the query: a shareable link
    assert "query=SELECT" in page.url
    assert page.get_attribute("#download", "href").startswith(server.url + "/sparql?query=")
    # the chart tab draws the numeric column of a count query
    page.click(".cm-content")
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type("SELECT ?type (COUNT(*) AS ?n) WHERE { ?s a ?type } GROUP BY ?type")
    page.click("#run")
    _wait_until(page, "() => document.querySelectorAll('table.results tbody tr').length > 1", 30)
    page.click("#tab-chart")
    assert page.locator("#chart svg rect.chart-bar").count() > 1
    assert page.problems == []


def test_editor_completes_prefixes(server, page):
    page.goto(server.url + "/")
    page.wait_for_selector(".cm-content")
    page.click(".cm-content")
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.type("SELECT * WHERE { ?s a sk")
    option = page.locator(".cm-tooltip-autocomplete li", has_text="skos:")
    option.wait_for(timeout=10_000)
    option.click()
    text = page.evaluate("window.partnergraphEditor.view.state.doc.toString()")
    assert text.startswith("PREFIX skos: <http://www.w3.org/2004/02/skos/core#>")
    assert "?s a skos:" in text


def test_a_malformed_query_shows_the_parser_message(server, page):
    page.goto(server.url + "/?query=" + "SELECT%20*%20WHERE%20%7B%20%3Fs%20%3Fp%20%7D")
    page.wait_for_selector(".cm-content")
    page.click("#run")
    page.wait_for_selector("#results pre.error")
    assert "syntax error" in page.inner_text("#results pre.error")
    # a 400 from fetch() is logged by chromium as a failed resource load; nothing else may be
    assert all("400" in p for p in page.problems), page.problems


def test_proposal_form_shows_validation_messages(server, page):
    page.goto(server.url + "/propose")
    page.click("button[type=submit]")
    # the browser's own check: the name is required, nothing was sent
    message = page.evaluate("document.querySelector('input[name=label]').validationMessage")
    assert message
    assert page.url.endswith("/propose")
    page.fill("input[name=label]", "Lonely Org")
    page.fill("input[name=source]", "https://lonely.example/about")
    page.click("button[type=submit]")
    page.wait_for_selector(".notice.bad")
    text = page.inner_text(".notice.bad")
    assert "nothing was stored" in text and "Mission alignment" in text
