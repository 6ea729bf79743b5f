"""`partnergraph wikidata dump`: JSON and truthy N-Triples dumps, each compression, truthy
conversion (ranks, unknown/no values, datatypes, languages), selection, and failure without harm."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from rdflib import Literal, Namespace, URIRef
from rdflib.namespace import RDF, RDFS

from partnergraph.cli import main
from partnergraph.errors import UserError
from partnergraph.loaders.wikidata_dump import load_dumps
from partnergraph.ontology import CURATED_GRAPH, SCHEMA, WD, WDT, WIKIDATA_GRAPH
from partnergraph.store import open_store
from wikidata_fixtures import json_dump_bytes, world, write_dump

XSD = Namespace("http://www.w3.org/2001/XMLSchema#")  # open namespace: no warning when pytest inspects it
GENID = "http://www.wikidata.org/.well-known/genid/"
WDNO = "http://www.wikidata.org/prop/novalue/"
SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "reference" / "wikidata-samples"
if not SAMPLES.is_dir():
    SAMPLES = Path("/work/shared/reference/wikidata-samples")

MARKER = (WD["Q1"], RDFS.label, Literal("loaded before", lang="en"))


@pytest.fixture
def ox(tmp_path):
    s = open_store(f"oxigraph:{tmp_path / 'store'}")
    s.replace_graph(WIKIDATA_GRAPH, [MARKER])
    yield s
    s.close()


def triples(store) -> set:  # noqa: ANN001
    return set(store.graph_triples(WIKIDATA_GRAPH))


def objects(store, s, p) -> set:  # noqa: ANN001
    return {o for (s2, p2, o) in triples(store) if s2 == s and p2 == p}


@pytest.fixture(params=["external", "python"])
def decompressor(request, monkeypatch):
    """Both decompression paths: lbzip2/pigz when installed, and the Python child process."""
    if request.param == "python":
        monkeypatch.setenv("PARTNERGRAPH_NO_EXTERNAL_DECOMPRESSOR", "1")
    elif not (shutil.which("lbzip2") or shutil.which("pbzip2")) or not shutil.which("pigz"):
        pytest.skip("lbzip2/pbzip2 and pigz not installed (Debian packages; .ci/run installs them)")
    return request.param


# ---------------------------------------------------------------------- conversion


@pytest.mark.parametrize("suffix", [".json", ".json.gz", ".json.bz2"])
def test_json_dump_each_compression_truthy_conversion(ox, tmp_path, suffix, decompressor):
    dump = write_dump(tmp_path / f"dump{suffix}", json_dump_bytes(world()))
    report = load_dumps(ox, [dump], seeds=["Q2001", "Q3001"], languages=["en", "de"], depth=0, progress=False)
    assert report.passes == 1 and report.entities == len(world()) and report.kept == 2
    if suffix != ".json":
        assert report.decompressors[0] in (("python",) if decompressor == "python" else ("lbzip2", "pbzip2", "pigz"))
    got = triples(ox)
    assert MARKER not in got  # the graph was replaced
    # Ranks: preferred beats normal, deprecated never.
    assert objects(ox, WD.Q2001, WDT.P17) == {WD.Q183}
    assert objects(ox, WD.Q2001, WDT.P31) == {WD.Q43229}
    # Unknown value: a skolem IRI like WDQS; no value: the wdno: class.
    (some,) = objects(ox, WD.Q2001, WDT.P127)
    assert str(some).startswith(GENID)
    assert (WD.Q2001, RDF.type, URIRef(WDNO + "P463")) in got
    assert not objects(ox, WD.Q2001, WDT.P463)
    # Datatypes.
    assert objects(ox, WD.Q2001, WDT.P856) == {URIRef("https://alpha.example/")}
    assert objects(ox, WD.Q2001, WDT.P571) == {Literal("1999-05-07", datatype=XSD.date)}
    assert objects(ox, WD.Q3001, WDT.P571) == {Literal("2001-03", datatype=XSD.gYearMonth)}
    assert objects(ox, WD.Q3001, WDT.P1324) == {URIRef("https://git.example/alpha%20db")}
    assert objects(ox, WD.Q3001, WDT.P8262) == {Literal("alphadb")}
    assert objects(ox, WD.Q3001, WDT.P178) == {WD.Q2001}
    # Not in the property table: not loaded by default.
    assert not objects(ox, WD.Q2001, WDT.P1082)
    # Labels and descriptions in the chosen languages only.
    assert objects(ox, WD.Q2001, RDFS.label) == {Literal("Alpha Foundation", lang="en"), Literal("Alpha-Stiftung", lang="de")}
    assert objects(ox, WD.Q2001, SCHEMA.description) == {Literal("a foundation", lang="en"), Literal("eine Stiftung", lang="de")}
    # Only the kept entities.
    assert {s for s, _, _ in got} == {WD.Q2001, WD.Q3001}


def test_every_datatype_with_all_properties(ox, tmp_path):
    dump = write_dump(tmp_path / "d.json", json_dump_bytes(world()))
    load_dumps(ox, [dump], seeds=["Q2001", "Q2005", "Q2006", "Q3001"], properties=None, languages=["*"], depth=0,
               progress=False)
    assert objects(ox, WD.Q2001, WDT.P1082) == {Literal("250", datatype=XSD.decimal)}
    assert objects(ox, WD.Q3001, WDT.P1476) == {Literal('Alpha "DB"', lang="en")}
    (point,) = objects(ox, WD.Q3001, WDT.P625)
    assert str(point) == "Point(13.25 52.5)" and str(point.datatype) == "http://www.opengis.net/ont/geosparql#wktLiteral"
    assert objects(ox, WD.Q2005, WDT.P571) == {Literal("1950", datatype=XSD.gYear)}
    # A Julian-calendar date is given in the Gregorian calendar, as Wikidata's RDF export does.
    assert objects(ox, WD.Q2006, WDT.P571) == {Literal("1582-10-14", datatype=XSD.date)}
    assert Literal("Fondation Alpha", lang="fr") in objects(ox, WD.Q2001, RDFS.label)


def test_neighbourhood_is_multi_pass_to_depth(ox, tmp_path):
    dump = write_dump(tmp_path / "d.json.bz2", json_dump_bytes(world()))
    r1 = load_dumps(ox, [dump], seeds=["Q2001"], depth=1, progress=False)
    assert r1.passes == 2
    assert {s for s, _, _ in triples(ox)} == {WD.Q2001, WD.Q2005}
    r2 = load_dumps(ox, [dump], seeds=["Q2001"], depth=2, progress=False)
    assert r2.passes == 3
    assert {s for s, _, _ in triples(ox)} == {WD.Q2001, WD.Q2005, WD.Q2006}
    # P17 (country) is loaded but not followed: Germany is not pulled in.
    assert WD.Q183 not in {s for s, _, _ in triples(ox)}


def test_class_filter_instances_and_subclasses_best_rank(ox, tmp_path):
    dump = write_dump(tmp_path / "d.json.gz", json_dump_bytes(world()))
    report = load_dumps(ox, [dump], classes=["Q43229"], progress=False)
    # Q2001 (instance), Q4002 and Q4830453 (subclasses); Q4001 is a business, not directly an
    # organization (no reasoning over the class tree is done).
    assert {s for s, _, _ in triples(ox)} == {WD.Q2001, WD.Q4002, WD.Q4830453}
    assert report.kept == 3
    # A deprecated P31 does not make a member: Q2001's deprecated "human" does not count for Q5.
    load_dumps(ox, [dump], classes=["Q5"], progress=False)
    assert triples(ox) == set()


def test_jobs_and_small_blocks_give_the_same_result(ox, tmp_path, monkeypatch):
    from partnergraph.loaders import wikidata_dump

    dump = write_dump(tmp_path / "d.json.bz2", json_dump_bytes(world()))
    load_dumps(ox, [dump], classes=["Q43229"], jobs=1, progress=False)
    one = triples(ox)
    assert len({s for s, _, _ in one}) == 3
    monkeypatch.setattr(wikidata_dump, "BLOCK", 700)  # many blocks, lines split across reads
    load_dumps(ox, [dump], classes=["Q43229"], jobs=2, progress=False)
    assert triples(ox) == one
    # Line numbers stay right across blocks.
    lines = json_dump_bytes(world()).split(b"\n")
    lines[8] = lines[8][:30]
    bad = write_dump(tmp_path / "bad.json", b"\n".join(lines))
    with pytest.raises(UserError, match=r"line 9: not one JSON entity"):
        load_dumps(ox, [bad], classes=["Q43229"], jobs=2, progress=False)


def test_real_sample_dump_slice():
    """The JSON dump slice of 2015 (Wikidata-Toolkit's sample, 101 entities): every entity with a
    best-rank P31 human (Q5) is kept, counted here independently of the loader."""
    sample = SAMPLES / "Wikidata_Wikidata-Toolkit__sample-dump-20150815.json.gz"
    if not sample.exists():
        pytest.skip(f"shared reference samples not found at {SAMPLES}")
    import gzip

    expected = set()
    for line in gzip.decompress(sample.read_bytes()).splitlines():
        line = line.strip().rstrip(b",")
        if line.startswith(b"{"):
            e = json.loads(line)
            p31 = e.get("claims", {}).get("P31", [])
            best = [s for s in p31 if s["rank"] == "preferred"] or [s for s in p31 if s["rank"] == "normal"]
            if any(s["mainsnak"].get("datavalue", {}).get("value", {}).get("numeric-id") == 5 for s in best):
                expected.add(WD[e["id"]])
    assert expected
    with open_store("memory:") as store:
        report = load_dumps(store, [sample], classes=["Q5"], progress=False)
        assert report.entities == 101
        assert {s for s, _, _ in store.graph_triples(WIKIDATA_GRAPH)} == expected


# ---------------------------------------------------------------------- N-Triples dumps

TRUTHY = """\
<http://www.wikidata.org/entity/Q2001> <http://www.w3.org/2000/01/rdf-schema#label> "Alpha Foundation"@en .
<http://www.wikidata.org/entity/Q2001> <http://www.w3.org/2000/01/rdf-schema#label> "Alpha-Stiftung"@de .
<http://www.wikidata.org/entity/Q2001> <http://www.w3.org/2004/02/skos/core#prefLabel> "Alpha Foundation"@en .
<http://www.wikidata.org/entity/Q2001> <http://schema.org/name> "Alpha Foundation"@en .
<http://www.wikidata.org/entity/Q2001> <http://schema.org/description> "a foundation"@en .
<http://www.wikidata.org/entity/Q2001> <http://www.wikidata.org/prop/direct/P31> <http://www.wikidata.org/entity/Q43229> .
<http://www.wikidata.org/entity/Q2001> <http://www.wikidata.org/prop/direct/P749> <http://www.wikidata.org/entity/Q2005> .
<http://www.wikidata.org/entity/Q2001> <http://www.wikidata.org/prop/direct/P1082> "+250"^^<http://www.w3.org/2001/XMLSchema#decimal> .
<http://www.wikidata.org/entity/Q2001> <http://www.wikidata.org/prop/direct/P571> "1999-05-07T00:00:00Z"^^<http://www.w3.org/2001/XMLSchema#dateTime> .
<http://www.wikidata.org/entity/Q2005> <http://www.w3.org/2000/01/rdf-schema#label> "Alpha Holding"@en .
<http://www.wikidata.org/entity/Q2005> <http://www.wikidata.org/prop/direct/P31> <http://www.wikidata.org/entity/Q4830453> .
<http://www.wikidata.org/entity/Q4001> <http://www.w3.org/2000/01/rdf-schema#label> "Beta Corp"@en .
<http://www.wikidata.org/entity/Q4001> <http://www.wikidata.org/prop/direct/P279> <http://www.wikidata.org/entity/Q43229> .
<https://www.wikidata.org/wiki/Special:EntityData/Q2001> <http://schema.org/about> <http://www.wikidata.org/entity/Q2001> .
"""


@pytest.mark.parametrize("suffix", [".nt", ".nt.gz", ".nt.bz2"])
def test_truthy_nt_dump_each_compression(ox, tmp_path, suffix, decompressor):
    dump = write_dump(tmp_path / f"truthy{suffix}", TRUTHY.encode())
    load_dumps(ox, [dump], seeds=["Q2001"], depth=1, languages=["en"], progress=False)
    got = triples(ox)
    assert objects(ox, WD.Q2001, RDFS.label) == {Literal("Alpha Foundation", lang="en")}
    assert objects(ox, WD.Q2001, SCHEMA.description) == {Literal("a foundation", lang="en")}
    assert objects(ox, WD.Q2001, WDT.P749) == {WD.Q2005}
    assert objects(ox, WD.Q2005, RDFS.label) == {Literal("Alpha Holding", lang="en")}  # followed P749
    assert not objects(ox, WD.Q2001, WDT.P1082)  # not a chosen property
    assert {p for _, p, _ in got} <= {RDFS.label, SCHEMA.description, WDT.P31, WDT.P749, WDT.P571}
    assert WD.Q4001 not in {s for s, _, _ in got}


def test_truthy_nt_class_filter_two_passes(ox, tmp_path):
    dump = write_dump(tmp_path / "truthy.nt.bz2", TRUTHY.encode())
    report = load_dumps(ox, [dump], classes=["Q43229"], progress=False)
    assert report.passes == 2
    assert {s for s, _, _ in triples(ox)} == {WD.Q2001, WD.Q4001}


# ---------------------------------------------------------------------- damaged dumps


def _cut(data: bytes, fraction: float = 0.6) -> bytes:
    return data[: int(len(data) * fraction)]


@pytest.mark.parametrize("suffix", [".json.bz2", ".json.gz", ".nt.bz2", ".nt.gz"])
def test_truncated_compressed_stream_fails_clearly_store_unchanged(ox, tmp_path, suffix, decompressor):
    body = json_dump_bytes(world() * 30) if ".json" in suffix else TRUTHY.encode() * 30
    whole = write_dump(tmp_path / f"whole{suffix}", body)
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(_cut(whole.read_bytes()))
    with pytest.raises(UserError) as err:
        load_dumps(ox, [cut], seeds=["Q2001"], progress=False, work_dir=tmp_path)
    message = str(err.value)
    assert str(cut) in message and "corrupt or truncated" in message and "line" in message
    assert triples(ox) == {MARKER}
    assert not list(tmp_path.glob(".partnergraph-dump-*"))  # the staged file is gone


def test_corrupt_compressed_block(ox, tmp_path, decompressor):
    data = bytearray(write_dump(tmp_path / "d.json.bz2", json_dump_bytes(world() * 30)).read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad = tmp_path / "bad.json.bz2"
    bad.write_bytes(bytes(data))
    with pytest.raises(UserError, match="corrupt or truncated"):
        load_dumps(ox, [bad], classes=["Q43229"], progress=False)
    assert triples(ox) == {MARKER}


def test_json_cut_mid_line_names_the_line(ox, tmp_path):
    data = json_dump_bytes(world())
    lines = data.split(b"\n")
    cut = b"\n".join(lines[:4]) + b"\n" + lines[4][:40]  # the 5th line stops in the middle
    dump = write_dump(tmp_path / "cut.json", cut)
    with pytest.raises(UserError, match=r"cut\.json: line 5: not one JSON entity per line"):
        load_dumps(ox, [dump], seeds=["Q2001"], progress=False)
    assert triples(ox) == {MARKER}


def test_json_without_closing_bracket_is_truncated(ox, tmp_path):
    data = json_dump_bytes(world()).rsplit(b"]", 1)[0]
    dump = write_dump(tmp_path / "open.json.gz", data)
    with pytest.raises(UserError, match="never closes"):
        load_dumps(ox, [dump], seeds=["Q2001"], progress=False)
    assert triples(ox) == {MARKER}


def test_bad_json_in_a_kept_line(ox, tmp_path):
    lines = json_dump_bytes(world()).split(b"\n")
    lines[2] = b'{"type":"item","id":"Q2001","labels":{"en":}},'
    dump = write_dump(tmp_path / "bad.json", b"\n".join(lines))
    with pytest.raises(UserError, match=r"bad\.json: line 3: invalid JSON"):
        load_dumps(ox, [dump], seeds=["Q2001"], progress=False)
    assert triples(ox) == {MARKER}


def test_nt_cut_mid_line(ox, tmp_path):
    dump = write_dump(tmp_path / "cut.nt", TRUTHY.encode()[:300])
    with pytest.raises(UserError, match=r"cut\.nt: line 3: not an N-Triples line"):
        load_dumps(ox, [dump], seeds=["Q2001"], progress=False)
    assert triples(ox) == {MARKER}


# ---------------------------------------------------------------------- the command


def test_cli_dump_seeds_from_store_and_errors(runner, tmp_path, small_world):
    url = f"oxigraph:{tmp_path / 'store'}"
    assert runner.invoke(main, ["--store", url, "load", str(small_world)]).exit_code == 0
    # The small world names Q2001 (and others); its entity in the dump is kept, with its parent.
    dump = write_dump(tmp_path / "d.json.bz2", json_dump_bytes(world()))
    result = runner.invoke(main, ["--store", url, "wikidata", "dump", str(dump), "--lang", "en,de"])
    assert result.exit_code == 0, result.output
    assert "entities/s" in result.output and "2 pass(es)" in result.output
    with open_store(url) as store:
        subjects = {s for s, _, _ in store.graph_triples(WIKIDATA_GRAPH)}
        assert {WD.Q2001, WD.Q2005, WD.Q3001} <= subjects
        before = set(store.graph_triples(WIKIDATA_GRAPH))
        curated = set(store.graph_triples(CURATED_GRAPH))
    cut = tmp_path / "cut.json.bz2"
    cut.write_bytes(_cut(dump.read_bytes()))
    result = runner.invoke(main, ["--store", url, "wikidata", "dump", str(cut)])
    assert result.exit_code == 2
    assert result.output.startswith("partnergraph: error: ") and "cut.json.bz2" in result.output
    assert "Traceback" not in result.output
    assert not list((tmp_path / "store.wikidata-cache").glob(".partnergraph-dump-*"))  # staged file removed
    result = runner.invoke(main, ["--store", url, "wikidata", "dump", str(tmp_path / "x.csv")])
    assert result.exit_code == 2 and "not a Wikidata dump" in result.output
    result = runner.invoke(main, ["--store", url, "wikidata", "dump", str(dump), "--class", "organization"])
    assert result.exit_code == 2 and "not a Wikidata item id" in result.output
    with open_store(url) as store:
        assert set(store.graph_triples(WIKIDATA_GRAPH)) == before
        assert set(store.graph_triples(CURATED_GRAPH)) == curated


def test_progress_line_only_on_a_terminal(tmp_path, capsys):
    dump = write_dump(tmp_path / "d.json", json_dump_bytes(world()))
    with open_store("memory:") as store:
        load_dumps(store, [dump], classes=["Q43229"])  # stderr is not a terminal under pytest
    assert "entities" not in capsys.readouterr().err


def test_progress_with_entities_per_second_when_asked(tmp_path, capsys):
    dump = write_dump(tmp_path / "d.json", json_dump_bytes(world()))
    with open_store("memory:") as store:
        load_dumps(store, [dump], classes=["Q43229"], progress=True)
    err = capsys.readouterr().err
    assert "entities/s" in err and "dump (by class)" in err
