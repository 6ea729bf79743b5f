"""Stack import (SBOMs, manifests), resolution to Wikidata items and organizations, coverage."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, XSD

from conftest import PREFIXES, SMALL_WORLD, write
from partnergraph.cli import main
from partnergraph.errors import UserError
from partnergraph.loaders import stack as stack_mod
from partnergraph.loaders.stack import component_iri, import_files, stack_graph_iri, stack_graphs
from partnergraph.loaders.stack_coverage import MAPPED, NO_ITEM, NO_MAINTAINER, NOT_LOADED, assess, summarize
from partnergraph.loaders.stack_formats import DEVELOPMENT, RUNTIME, read
from partnergraph.ontology import CURATED_GRAPH, PG, WD, WIKIDATA_GRAPH, graph_iri, ontology_graph

FIX = Path(__file__).parent / "fixtures" / "stack"
HOME = WD.Q1001
SRC = "https://example.org/sbom/app.cdx.json"

# A small Wikidata graph in Wikidata's own vocabulary: express has an item with a developer
# (Q2001, Alpha Foundation of the small world), codex an item without one, the monolog repository
# an item maintained by Q2002 whose parent organization is Q2001, and Q9009 is known only by id.
WIKIDATA = PREFIXES + """
@prefix wdt: <http://www.wikidata.org/prop/direct/> .
wd:Q9001 rdfs:label "Express"@en ; wdt:P8262 "express" ; wdt:P178 wd:Q2001 .
wd:Q9002 rdfs:label "Codex"@en ; wdt:P8262 "@wikimedia/codex" ; wdt:P31 wd:Q7397 .
wd:Q9003 rdfs:label "Monolog"@en ; wdt:P1324 <https://github.com/Seldaek/monolog> ; wdt:P126 wd:Q2002 .
wd:Q2002 wdt:P749 wd:Q2001 .
wd:Q9004 wdt:P8262 "debug" .
wd:Q9005 wdt:P8262 "debug" .
wd:Q9006 rdfs:label "Requests"@en ; wdt:P5568 "Requests" ; wdt:P178 wd:Q2003 .
wd:Q9007 wdt:P3442 "mariadb-server" .
"""


def load_world(store, wikidata: bool = False, extra: str = "") -> None:  # noqa: ANN001
    g = Graph()
    g.parse(data=SMALL_WORLD + extra, format="turtle")
    store.replace_graph(CURATED_GRAPH, g)
    if wikidata:
        w = Graph()
        w.parse(data=WIKIDATA, format="turtle")
        store.replace_graph(WIKIDATA_GRAPH, w)


def graph_set(store, name: URIRef) -> set:  # noqa: ANN001
    return set(store.graph_triples(name))


# ------------------------------------------------------------------------------ formats


EXPECTED = {
    # file: (kind, {purl: (direct, scope, versions)}, edges)
    "cyclonedx-1.5.json": ("CycloneDX 1.5", {
        "pkg:npm/express": (True, RUNTIME, {"4.18.2"}),
        "pkg:npm/body-parser": (False, RUNTIME, {"1.20.1"}),
        "pkg:npm/debug": (False, RUNTIME, {"2.6.9"}),
        "pkg:npm/%40wikimedia/codex": (True, RUNTIME, {"1.3.0"}),
        "pkg:npm/%40wikimedia/codex-design-tokens": (False, RUNTIME, {"1.3.0"}),
        "pkg:npm/mocha": (True, DEVELOPMENT, {"10.2.0"}),
    }, 5),
    "spdx-2.3.json": ("SPDX-2.3", {
        "pkg:pypi/requests": (True, RUNTIME, {"2.31.0"}),
        "pkg:pypi/urllib3": (False, RUNTIME, {"2.0.7"}),
        "pkg:pypi/pytest": (True, DEVELOPMENT, {"8.0.0"}),
    }, 1),
    "composer.json": ("composer.json", {
        "pkg:composer/wikimedia/cdb": (True, RUNTIME, {"3.0.0"}),
        "pkg:composer/monolog/monolog": (True, RUNTIME, {"^2.2"}),
        "pkg:composer/phpunit/phpunit": (True, DEVELOPMENT, {"^9.5"}),
    }, 0),
    "composer.lock": ("composer.lock", {
        "pkg:composer/monolog/monolog": (None, RUNTIME, {"2.9.2"}),
        "pkg:composer/psr/log": (None, RUNTIME, {"1.1.4"}),
        "pkg:composer/wikimedia/cdb": (None, RUNTIME, {"3.0.0"}),
        "pkg:composer/phpunit/phpunit": (None, DEVELOPMENT, {"9.6.13"}),
    }, 2),
    "package.json": ("package.json", {
        "pkg:npm/%40wikimedia/codex": (True, RUNTIME, {"1.3.0"}),
        "pkg:npm/vue": (True, RUNTIME, {"^3.3.0"}),
        "pkg:npm/eslint-config-wikimedia": (True, DEVELOPMENT, {"0.26.0"}),
    }, 0),
    "package-lock-v3.json": ("package-lock.json v3", {
        "pkg:npm/%40wikimedia/codex": (True, RUNTIME, {"1.3.0"}),
        "pkg:npm/%40wikimedia/codex-design-tokens": (False, RUNTIME, {"1.3.0"}),
        "pkg:npm/vue": (True, RUNTIME, {"3.3.4"}),
        "pkg:npm/%40vue/shared": (False, RUNTIME, {"3.3.4"}),
        "pkg:npm/eslint": (True, DEVELOPMENT, {"8.50.0"}),
        "pkg:npm/debug": (False, DEVELOPMENT, {"4.3.4"}),
        "pkg:npm/ms": (False, DEVELOPMENT, {"2.1.2"}),
    }, 5),
    "package-lock-v1.json": ("package-lock.json v1", {
        "pkg:npm/jquery": (None, RUNTIME, {"3.6.0"}),
        "pkg:npm/oojs": (None, RUNTIME, {"6.0.0"}),
        "pkg:npm/grunt": (None, DEVELOPMENT, {"1.0.4"}),
        "pkg:npm/coffeescript": (None, DEVELOPMENT, {"1.10.0"}),
    }, 2),
    "requirements.txt": ("requirements.txt", {
        "pkg:pypi/requests": (True, RUNTIME, {"==2.31.0"}),
        "pkg:pypi/flask": (True, RUNTIME, {">=3.0"}),
        "pkg:pypi/pyyaml": (True, RUNTIME, {">=6.0"}),
        "pkg:pypi/rdflib": (True, RUNTIME, {"~=7.0"}),
    }, 0),
    "pyproject.toml": ("pyproject.toml", {
        "pkg:pypi/rdflib": (True, RUNTIME, {"<8,>=7.1"}),
        "pkg:pypi/click": (True, RUNTIME, {">=8.1"}),
        "pkg:pypi/flask": (True, RUNTIME, {">=3.0"}),
        "pkg:pypi/pytest": (True, DEVELOPMENT, {">=8"}),
        "pkg:pypi/ruff": (True, DEVELOPMENT, set()),
    }, 0),
    "pyproject-poetry.toml": ("pyproject.toml", {
        "pkg:pypi/requests": (True, RUNTIME, {"^2.31"}),
        "pkg:pypi/sparqlwrapper": (True, RUNTIME, {"^2.0"}),
        "pkg:pypi/black": (True, DEVELOPMENT, {"^24.1"}),
    }, 0),
    "dpkg-query.txt": ("dpkg-query -W", {
        "pkg:deb/debian/adduser": (None, RUNTIME, {"3.134"}),
        "pkg:deb/debian/libc6": (None, RUNTIME, {"2.36-9+deb12u4"}),
        "pkg:deb/debian/mariadb-server": (None, RUNTIME, {"1:10.11.6-0+deb12u1"}),
        "pkg:deb/debian/python3": (None, RUNTIME, {"3.11.2-1+b1"}),
    }, 0),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_input_kind_is_read_by_content(name, tmp_path):
    kind, packages, edges = EXPECTED[name]
    # Renamed to something neutral: recognition is by content, not by the file name.
    neutral = tmp_path / "input.dat"
    shutil.copy(FIX / name, neutral)
    m = read(neutral)
    assert m.kind == kind
    assert {k: (p.direct, p.scope, p.versions) for k, p in m.packages.items()} == packages
    assert len(m.edges) == edges


def test_edges_follow_each_format():
    cdx = read(FIX / "cyclonedx-1.5.json")
    assert ("pkg:npm/express", "pkg:npm/debug") in cdx.edges
    assert ("pkg:npm/%40wikimedia/codex", "pkg:npm/%40wikimedia/codex-design-tokens") in cdx.edges  # nested component
    lock = read(FIX / "package-lock-v3.json")
    # eslint's debug is the nested node_modules/eslint/node_modules/debug; ms resolves to the top level.
    assert ("pkg:npm/eslint", "pkg:npm/debug") in lock.edges and ("pkg:npm/debug", "pkg:npm/ms") in lock.edges
    assert ("pkg:composer/monolog/monolog", "pkg:composer/psr/log") in read(FIX / "composer.lock").edges
    assert ("pkg:npm/grunt", "pkg:npm/coffeescript") in read(FIX / "package-lock-v1.json").edges
    assert read(FIX / "cyclonedx-1.5.json").packages["pkg:npm/express"].repository == "https://github.com/expressjs/express"


@pytest.mark.parametrize("name,message", [
    ("bad-invalid.json", "not valid JSON"),
    ("bad-schema.json", "components must be a JSON array"),
    ("bad-conflict-package-lock.json", "line 5 is a version-control conflict marker"),
    ("bad-unknown.txt", "not a format partnergraph reads"),
])
def test_malformed_files_get_a_clear_error(name, message):
    with pytest.raises(UserError, match=message) as err:
        read(FIX / name)
    assert name in str(err.value)


@pytest.mark.parametrize("text,message", [
    ('{"bomFormat": "CycloneDX", "specVersion": "1.2", "components": []}', "specVersion '1.2' is not supported"),
    ('{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"name": "x", "purl": "npm/x"}]}', "not a valid package URL"),
    ('{"bomFormat": "CycloneDX", "specVersion": "1.4", "components": [{"name": "x", "bom-ref": "a"}],'
     ' "dependencies": [{"ref": "a", "dependsOn": ["nowhere"]}]}', "no component declares"),
    ('{"spdxVersion": "SPDX-2.1", "SPDXID": "SPDXRef-DOCUMENT"}', "SPDX-2.2 or SPDX-2.3"),
    ('{"lockfileVersion": 7, "packages": {}}', "lockfileVersion 7"),
    ('{"require": {"no-vendor": "1.0"}}', "not a Composer package name"),
    ('{"require": {"a/b": 1}}', "version constraint must be a string"),
    ('{"dependencies": {"vue": "^3"}, "devDependencies": []}', "devDependencies must be a JSON object"),
    ("[project]\ndependencies = [\"ok>=1\", \"not a requirement !!\"]\n", "not a valid requirement"),
    ("[project\nname = 1\n", "not valid TOML"),
    ("", "the file is empty"),
])
def test_wrong_structure_is_named(tmp_path, text, message):
    path = write(tmp_path, "x.json" if text.startswith("{") else "x.toml", text)
    with pytest.raises(UserError, match=message):
        read(path)


# ------------------------------------------------------------------------------ import


def test_import_writes_components_usages_edges_and_in_degree(store):
    load_world(store)
    report = import_files(store, [FIX / "cyclonedx-1.5.json"], home=HOME, sources=[SRC])
    g = stack_graph_iri(HOME, SRC)
    assert report.sources[0].graph == g and stack_graphs(store, HOME) == [g]
    debug = component_iri("pkg:npm/debug")
    express = component_iri("pkg:npm/express")
    rows = store.query(f"""
        PREFIX pg: <{PG}>
        SELECT ?deg ?direct ?scope ?crit ?v WHERE {{
          ?u a pg:Usage ; pg:home <{HOME}> ; pg:component <{debug}> ; pg:inDegree ?deg ; pg:direct ?direct ;
             pg:usageScope ?scope ; pg:criticality ?crit ; pg:version ?v }}""").rows
    assert [(int(d), bool(x.toPython()), s, c, str(v)) for d, x, s, c, v in rows] == [
        (3, False, PG.Library, PG.CriticalityLow, "2.6.9")]
    triples = graph_set(store, g)
    assert (express, PG.dependsOn, debug) in triples
    assert (express, PG.unresolved, Literal(True)) in triples
    assert (express, PG.vendor, Literal("expressjs")) in triples
    assert (express, RDFS.label, Literal("express")) in triples
    # Direct runtime dependencies count as medium; dev-only ones low.
    codex_usage = store.query(f"""PREFIX pg: <{PG}> SELECT ?crit WHERE {{ ?u pg:component <{component_iri('pkg:npm/%40wikimedia/codex')}> ;
                                  pg:criticality ?crit }}""").rows
    mocha_usage = store.query(f"""PREFIX pg: <{PG}> SELECT ?crit ?scope WHERE {{ ?u pg:component <{component_iri('pkg:npm/mocha')}> ;
                                  pg:criticality ?crit ; pg:usageScope ?scope }}""").rows
    assert codex_usage == [(PG.CriticalityMedium,)]
    assert mocha_usage == [(PG.CriticalityLow, PG.Development)]
    # Every usage cites the source.
    assert all(o == URIRef(SRC) for _s, p, o in triples if p == DCTERMS.source)


def test_reimport_replaces_and_other_sources_stay(store):
    load_world(store)
    import_files(store, [FIX / "cyclonedx-1.5.json"], home=HOME, sources=[SRC])
    first = graph_set(store, stack_graph_iri(HOME, SRC))
    import_files(store, [FIX / "cyclonedx-1.5.json"], home=HOME, sources=[SRC])
    assert graph_set(store, stack_graph_iri(HOME, SRC)) == first
    other = "https://example.org/requirements.txt"
    import_files(store, [FIX / "requirements.txt"], home=HOME, sources=[other])
    assert graph_set(store, stack_graph_iri(HOME, SRC)) == first
    assert len(stack_graphs(store, HOME)) == 2
    usages = store.query(f"PREFIX pg: <{PG}> SELECT (COUNT(DISTINCT ?u) AS ?n) WHERE {{ ?u a pg:Usage ; pg:home <{HOME}> }}").rows
    assert int(usages[0][0]) == 2 + 6 + 4  # two curated usages, six from the SBOM, four requirements


@pytest.mark.parametrize("name", ["bad-invalid.json", "bad-schema.json", "bad-conflict-package-lock.json", "bad-unknown.txt"])
def test_a_bad_file_leaves_the_store_as_it_was(store, name):
    load_world(store)
    import_files(store, [FIX / "cyclonedx-1.5.json"], home=HOME, sources=[SRC])
    before = {g: graph_set(store, g) for g in store.graph_names()}
    with pytest.raises(UserError):
        # The good file comes first: nothing is written unless every file reads.
        import_files(store, [FIX / "requirements.txt", FIX / name], home=HOME,
                     sources=["https://example.org/r.txt", SRC])
    assert {g: graph_set(store, g) for g in store.graph_names()} == before


def test_sources_and_home_are_checked(store):
    load_world(store)
    with pytest.raises(UserError, match="one --source URL per file"):
        import_files(store, [FIX / "composer.json"], home=HOME, sources=[])
    with pytest.raises(UserError, match="public http"):
        import_files(store, [FIX / "composer.json"], home=HOME, sources=["file:///tmp/composer.json"])
    with pytest.raises(UserError, match="not in the store as an org:Organization"):
        import_files(store, [FIX / "composer.json"], home=WD.Q424242, sources=[SRC])


def test_resolution_through_wikidata_and_coverage(store):
    load_world(store, wikidata=True)
    import_files(store, [FIX / "cyclonedx-1.5.json"], home=HOME, sources=[SRC])
    import_files(store, [FIX / "composer.lock"], home=HOME, sources=["https://example.org/composer.lock"])
    triples = graph_set(store, stack_graph_iri(HOME, SRC))
    # express is named by its Wikidata item (npm package P8262), with the item's label.
    assert (WD.Q9001, RDF.type, PG.Component) in triples
    assert (WD.Q9001, RDFS.label, Literal("Express", lang="en")) not in triples  # the label is read, written plain
    assert (WD.Q9001, RDFS.label, Literal("Express")) in triples
    assert (WD.Q9001, PG.purl, Literal("pkg:npm/express")) in triples
    assert (WD.Q9001, PG.dependsOn, component_iri("pkg:npm/debug")) in triples
    # debug matches two items: left unresolved.
    assert (component_iri("pkg:npm/debug"), PG.unresolved, Literal(True)) in triples
    lock = graph_set(store, stack_graph_iri(HOME, "https://example.org/composer.lock"))
    assert (WD.Q9003, PG.purl, Literal("pkg:composer/monolog/monolog")) in lock  # through P1324

    items = {c.purl: c for c in assess(store, HOME)}
    express = items["pkg:npm/express"]
    assert express.status == MAPPED and [(o["qid"], o["role"], o["via"]) for o in express.organizations] == [("Q2001", "developer", "wikidata")]
    monolog = items["pkg:composer/monolog/monolog"]
    assert monolog.status == MAPPED and monolog.organizations[0]["qid"] == "Q2002" and monolog.organizations[0]["parents"] == ["Q2001"]
    codex = items["pkg:npm/%40wikimedia/codex"]
    assert codex.status == NO_MAINTAINER and "P178" in codex.missing and "Q9002" in codex.missing
    body = items["pkg:npm/body-parser"]
    assert body.status == NO_ITEM and "P8262" in body.missing and "'body-parser'" in body.missing
    psr = items["pkg:composer/psr/log"]
    assert psr.status == NO_ITEM and "P1324" in psr.missing and "https://github.com/php-fig/log" in psr.missing
    totals = summarize(assess(store, HOME))
    assert totals["components"] == 12 and totals["mapped"] == 4  # express, monolog and the two curated ones
    groups = {(g["ecosystem"], g["vendor"]): g for g in totals["groups"]}
    assert groups[("npm", "@wikimedia")]["unmapped"] == 2
    assert groups[("composer", "psr")]["main_gap"] == NO_ITEM


def test_pypi_names_compare_normalised_and_debian_packages_resolve(store):
    load_world(store, wikidata=True)
    import_files(store, [FIX / "requirements.txt"], home=HOME, sources=["https://example.org/requirements.txt"])
    import_files(store, [FIX / "dpkg-query.txt"], home=HOME, sources=["https://example.org/dpkg.txt"])
    items = {c.purl: c for c in assess(store, HOME)}
    assert items["pkg:pypi/requests"].component == WD.Q9006 and items["pkg:pypi/requests"].organizations[0]["qid"] == "Q2003"
    assert items["pkg:deb/debian/mariadb-server"].component == WD.Q9007
    assert items["pkg:deb/debian/mariadb-server"].status == NO_MAINTAINER
    assert "P3442" in items["pkg:deb/debian/libc6"].missing


def test_unwritable_iris_are_refused(store):
    load_world(store)
    with pytest.raises(UserError, match="not an IRI partnergraph can write"):
        import_files(store, [FIX / "composer.json"], home=HOME, sources=[SRC], graph=URIRef("urn:x>y"))


def test_late_wikidata_and_items_not_loaded(store):
    load_world(store, extra="""
        pgid:usage-9 a pg:Usage ; pg:home wd:Q1001 ; pg:component wd:Q777777 ; pg:criticality pg:CriticalityLow ;
            dcterms:source <https://example.org/source> .
        wd:Q777777 a pg:Component ; rdfs:label "Known only by id"@en .
    """)
    import_files(store, [FIX / "cyclonedx-1.5.json"], home=HOME, sources=[SRC])
    w = Graph()
    w.parse(data=WIKIDATA, format="turtle")
    store.replace_graph(WIKIDATA_GRAPH, w)  # Wikidata arrives after the import
    items = {c.component: c for c in assess(store, HOME)}
    express = items[component_iri("pkg:npm/express")]
    assert express.status == MAPPED and express.item == WD.Q9001 and "re-import" in express.missing
    assert items[WD.Q777777].status == NOT_LOADED


def test_curated_components_are_linked_by_purl(store):
    load_world(store, extra="""
        wd:Q3002 pg:purl "pkg:npm/debug" .
    """)
    import_files(store, [FIX / "cyclonedx-1.5.json"], home=HOME, sources=[SRC])
    triples = graph_set(store, stack_graph_iri(HOME, SRC))
    assert (WD.Q3001, PG.dependsOn, WD.Q3002) not in triples
    assert (component_iri("pkg:npm/express"), PG.dependsOn, WD.Q3002) in triples
    # The curated component keeps its own description: no second label or type from the import.
    assert not any(s == WD.Q3002 and p in (RDF.type, RDFS.label) for s, p, _o in triples)
    debug = next(c for c in assess(store, HOME) if c.component == WD.Q3002)
    assert debug.status == MAPPED and debug.organizations[0]["via"] == "curated" and debug.organizations[0]["qid"] == "Q2002"


def test_ranking_counts_imported_components(store):
    from partnergraph.service import rank

    load_world(store, wikidata=True)
    before = {r["qid"]: r for r in rank(store, home=HOME, eligible_only=False)}
    import_files(store, [FIX / "cyclonedx-1.5.json"], home=HOME, sources=[SRC])
    after = {r["qid"]: r for r in rank(store, home=HOME, eligible_only=False)}
    # Alpha Foundation develops express (Wikidata P178), a direct runtime dependency: medium (2.0).
    assert after["Q2001"]["stack"] == pytest.approx(before["Q2001"]["stack"] + 2.0)
    assert any("Express" in reason for reason in after["Q2001"]["reasons"])


def test_large_imports_check_a_sample_of_every_variant(store, monkeypatch):
    load_world(store)
    monkeypatch.setattr(stack_mod, "FULL_CHECK_LIMIT", 3)
    monkeypatch.setattr(stack_mod, "SAMPLE_PER_VARIANT", 1)
    checked: list[Graph] = []
    real = stack_mod.check_integrity
    monkeypatch.setattr(stack_mod, "check_integrity", lambda data, ctx=(): (checked.append(data), real(data, ctx)))
    report = import_files(store, [FIX / "package-lock-v3.json"], home=HOME, sources=[SRC])
    assert report.sources[0].integrity.startswith("sample of")
    sampled = set(checked[0].subjects(RDF.type, PG.Usage))
    # Every usage variant (scope x direct x criticality) is represented; everything is written.
    variants = {(checked[0].value(u, PG.usageScope), checked[0].value(u, PG.direct).toPython(), checked[0].value(u, PG.criticality)) for u in sampled}
    assert {(PG.Library, True, PG.CriticalityMedium), (PG.Library, False, PG.CriticalityLow),
            (PG.Development, True, PG.CriticalityLow), (PG.Development, False, PG.CriticalityLow)} <= variants
    assert len(sampled) < 7
    written = store.query(f"PREFIX pg: <{PG}> SELECT (COUNT(?u) AS ?n) WHERE {{ GRAPH <{stack_graph_iri(HOME, SRC)}> {{ ?u a pg:Usage }} }}").rows
    assert int(written[0][0]) == 7


def test_vocabulary_declares_the_criticality_inputs():
    g = ontology_graph()
    for term in (PG.direct, PG.inDegree, PG.vendor, PG.purl, PG.version, PG.dependsOn):
        assert (term, RDFS.label, None) in g
    assert (PG.inDegree, RDFS.range, XSD.integer) in g


# ------------------------------------------------------------------------------ CLI


@pytest.fixture
def cli_store(runner, store_url, small_world):
    result = runner.invoke(main, ["--store", store_url, "load", str(small_world)])
    assert result.exit_code == 0, result.output
    return store_url


def test_cli_import_json_and_coverage(runner, cli_store, tmp_path):
    wd_file = write(tmp_path, "wd.ttl", WIKIDATA)
    assert runner.invoke(main, ["--store", cli_store, "load", str(wd_file), "--graph", "wikidata"]).exit_code == 0
    result = runner.invoke(main, ["--store", cli_store, "stack", "import", str(FIX / "cyclonedx-1.5.json"),
                                  "--source", SRC, "--home", "Q1001", "--format", "json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    src = out["sources"][0]
    assert src["format"] == "CycloneDX 1.5" and src["components"] == 6 and src["edges"] == 5
    express = next(p for p in src["packages"] if p["purl"] == "pkg:npm/express")
    assert express["qid"] == "Q9001" and express["organizations"][0]["label"] == "Alpha Foundation"
    assert out["coverage"]["components"] == 6 and out["coverage"]["mapped"] == 1

    table = runner.invoke(main, ["--store", cli_store, "stack", "coverage", "--home", "Q1001"])
    assert table.exit_code == 0, table.output
    assert "3 of 8 components mapped" in table.output  # express plus the two curated components
    assert "@wikimedia" in table.output
    as_json = json.loads(runner.invoke(main, ["--store", cli_store, "stack", "coverage", "--home", "Q1001", "--format", "json"]).output)
    assert as_json["coverage"] == 37.5 and as_json["by_status"][NO_MAINTAINER] == 1
    csv_out = runner.invoke(main, ["--store", cli_store, "stack", "coverage", "--home", "Q1001", "--format", "csv", "--components"]).output
    header, *rows = csv_out.strip().splitlines()
    assert header == "ecosystem,vendor,label,purl,qid,status,missing" and len(rows) == 5


def test_cli_bad_input_exits_2_and_keeps_the_stack(runner, cli_store, tmp_path):
    ok = runner.invoke(main, ["--store", cli_store, "stack", "import", str(FIX / "package.json"), "--source", SRC, "--home", "Q1001"])
    assert ok.exit_code == 0, ok.output
    assert "3 components (3 direct, 2 runtime)" in ok.output and "local-helper" in ok.output
    before = runner.invoke(main, ["--store", cli_store, "graphs"]).output
    for name in ("bad-invalid.json", "bad-schema.json", "bad-conflict-package-lock.json", "bad-unknown.txt"):
        bad = runner.invoke(main, ["--store", cli_store, "stack", "import", str(FIX / name), "--source", SRC, "--home", "Q1001"])
        assert bad.exit_code == 2, bad.output
        assert bad.output.startswith("partnergraph: error: ") and name in bad.output and "Traceback" not in bad.output
    missing = runner.invoke(main, ["--store", cli_store, "stack", "import", str(FIX / "package.json"), "--home", "Q1001"])
    assert missing.exit_code == 2 and "--source" in missing.output
    assert runner.invoke(main, ["--store", cli_store, "graphs"]).output == before


def test_cli_turtle_export_and_graph_option(runner, cli_store, tmp_path):
    out = tmp_path / "stack.ttl"
    result = runner.invoke(main, ["--store", cli_store, "stack", "import", str(FIX / "composer.json"), str(FIX / "package.json"),
                                  "--source", "https://example.org/composer.json", "--source", "https://example.org/package.json",
                                  "--home", "Q1001", "--graph", "stack/mine", "--turtle", str(out)])
    assert result.exit_code == 0, result.output
    g = Graph()
    g.parse(out, format="turtle")
    assert len(set(g.subjects(RDF.type, PG.Usage))) == 6
    assert out.read_text().startswith("# Written by `partnergraph stack import` from:")
    graphs = runner.invoke(main, ["--store", cli_store, "graphs"]).output
    assert str(graph_iri("stack/mine")) in graphs


# ------------------------------------------------------------------------------ the bundled data


def test_bundled_mediawiki_stack_is_sourced_and_linked(bundled_store_url):
    from partnergraph.store import open_store

    with open_store(bundled_store_url, read_only=True) as s:
        rows = s.query(f"""PREFIX pg: <{PG}> PREFIX dcterms: <http://purl.org/dc/terms/>
            SELECT ?c ?src WHERE {{ ?u a pg:Usage ; pg:component ?c ; pg:direct true ; dcterms:source ?src ;
                     pg:home <http://www.wikidata.org/entity/Q180> . ?c pg:purl ?p }}""").rows
    sources = {str(src) for _c, src in rows}
    assert sources == {"https://github.com/wikimedia/mediawiki/blob/649066fce93ad4b345949110711e9f0f6858c86b/composer.json",
                       "https://github.com/wikimedia/mediawiki/blob/fac5920f7db83ea3bd6f627f10e2147564cc1a36/package.json"}
    components = {c for c, _src in rows}
    assert URIRef("https://w3id.org/partnergraph/id/component/parsoid") in components  # linked to the curated component
    assert component_iri("pkg:composer/wikimedia/cdb") in components
    assert len(components) == 108


def test_reference_mediawiki_manifests_import(store):
    ref = Path(__file__).resolve().parents[2] / "shared" / "reference" / "mediawiki-core"
    if not (ref / "composer.json").exists():
        pytest.skip(f"MediaWiki core manifests not found at {ref} (../shared/reference is outside the repository)")
    m = read(ref / "composer.json")
    assert "pkg:composer/wikimedia/parsoid" in m.packages and m.packages["pkg:composer/wikimedia/parsoid"].direct
    assert any("php" in n for n in m.notes)
    p = read(ref / "package.json")
    assert all(pkg.scope == DEVELOPMENT for pkg in p.packages.values())
