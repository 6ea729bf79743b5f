"""sbom: import a generated CycloneDX SBOM into the embedded store.

    python bench/run.py sbom --components 20000 [--edges-per-component 5] [--seed 42]

A CycloneDX 1.5 JSON SBOM with --components npm, PyPI and Composer packages and five times as many
dependency edges (each package depends on up to --edges-per-component others, a DAG), imported by
``partnergraph stack import``'s code path into an embedded on-disk Oxigraph store that holds a home
organization. The import runs in a child process so its peak RSS is its own.

Figures:
    sbom_import_seconds          read + build + integrity check + atomic graph replacement
    sbom_peak_rss_mb             peak resident memory of the importing process (import and re-import)
    sbom_reimport_seconds        the same source imported again: its graph replaced in one transaction
    sbom_vs_rdflib_parse_ratio   rdflib Graph.parse of the same triples as Turtle (same run, in
                                 memory, nothing checked or stored) divided by the import time
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

HOME_TTL = """
@prefix org: <http://www.w3.org/ns/org#> .
@prefix pg: <https://w3id.org/partnergraph/ns#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<http://www.wikidata.org/entity/Q180> a org:Organization, pg:HomeOrganization ; rdfs:label "Wikimedia Foundation"@en .
"""
SOURCE = "https://example.org/bench/sbom.cdx.json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    if not any(a.dest == "components" for a in parser._actions):
        parser.add_argument("--components", type=int, default=20_000, help="sbom: packages in the generated SBOM (default 20000)")
    if not any(a.dest == "edges_per_component" for a in parser._actions):
        parser.add_argument("--edges-per-component", type=int, default=5, help="sbom: dependency edges per package (default 5)")
    if not any(a.dest == "seed" for a in parser._actions):
        parser.add_argument("--seed", type=int, default=42, help="random seed of generated data (default 42)")


def generate_sbom(n: int, edges_per: int, seed: int) -> dict:
    """A CycloneDX 1.5 document: n components (a third each npm, PyPI, Composer; some scoped,
    some dev-only, some with a VCS reference) and about n * edges_per dependency edges."""
    rng = random.Random(seed)
    components = []
    refs = []
    for i in range(n):
        kind = i % 3
        version = f"{rng.randint(0, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}"
        if kind == 0:
            scope = f"@scope{i % 97}" if i % 5 == 0 else None
            name = f"pkg-{i}"
            purl = f"pkg:npm/{'%40' + scope[1:] + '/' if scope else ''}{name}@{version}"
            comp = {"type": "library", "name": name, "version": version, "purl": purl}
            if scope:
                comp["group"] = scope
        elif kind == 1:
            name = f"py-project-{i}"
            purl = f"pkg:pypi/{name}@{version}"
            comp = {"type": "library", "name": name, "version": version, "purl": purl}
        else:
            vendor = f"vendor{i % 211}"
            name = f"lib-{i}"
            purl = f"pkg:composer/{vendor}/{name}@{version}"
            comp = {"type": "library", "group": vendor, "name": name, "version": version, "purl": purl,
                    "externalReferences": [{"type": "vcs", "url": f"https://github.com/{vendor}/{name}.git"}]}
        if i % 7 == 0:
            comp["scope"] = "optional"
        comp["bom-ref"] = purl
        components.append(comp)
        refs.append(purl)
    deps = [{"ref": "root", "dependsOn": refs[: max(1, n // 50)]}]
    for i in range(n):
        # Depend on packages further down the list: a DAG, with popular packages near the end.
        pool = n - i - 1
        if pool <= 0:
            deps.append({"ref": refs[i], "dependsOn": []})
            continue
        k = min(edges_per, pool)
        targets = {i + 1 + min(pool - 1, int(rng.paretovariate(1.2)) - 1 + rng.randrange(pool)) % pool for _ in range(k)}
        while len(targets) < k:
            targets.add(i + 1 + rng.randrange(pool))
        deps.append({"ref": refs[i], "dependsOn": [refs[t] for t in sorted(targets)]})
    return {"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
            "metadata": {"component": {"type": "application", "bom-ref": "root", "name": "bench-app"}},
            "components": components, "dependencies": deps}


def _import_child(store_path: str, sbom: str, queue) -> None:  # noqa: ANN001
    from rdflib import Graph

    from partnergraph.loaders.stack import import_files
    from partnergraph.ontology import CURATED_GRAPH, WD
    from partnergraph.store import open_store

    store = open_store(f"oxigraph:{store_path}")
    g = Graph()
    g.parse(data=HOME_TTL, format="turtle")
    store.replace_graph(CURATED_GRAPH, g)
    started = time.perf_counter()
    report = import_files(store, [sbom], home=WD.Q180, sources=[SOURCE], keep_lines=True)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    import_files(store, [sbom], home=WD.Q180, sources=[SOURCE])  # the same source again: a replacement
    reimport = time.perf_counter() - started
    store.close()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    src = report.sources[0]
    queue.put({"seconds": seconds, "reimport": reimport, "peak_mb": peak_kb / 1024, "components": src.components, "edges": src.edges,
               "triples": src.triples, "integrity": src.integrity, "lines": report.lines,
               "phases": report.phases})


def run(args: argparse.Namespace) -> None:
    import multiprocessing

    from rdflib import Graph

    from partnergraph.loaders.stack import to_turtle

    n = getattr(args, "components", 20_000)
    with tempfile.TemporaryDirectory() as d:
        sbom = Path(d) / "bench.cdx.json"
        sbom.write_text(json.dumps(generate_sbom(n, getattr(args, "edges_per_component", 5), getattr(args, "seed", 42))))
        ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: its peak RSS is the import's own
        queue = ctx.Queue()
        child = ctx.Process(target=_import_child, args=(str(Path(d) / "store"), str(sbom), queue))
        child.start()
        result = queue.get()
        child.join()
        turtle = to_turtle(result.pop("lines"))
        started = time.perf_counter()
        baseline = Graph()
        baseline.parse(data=turtle, format="turtle")
        rdflib_seconds = time.perf_counter() - started
    print(f"# {result['components']} components, {result['edges']} edges, {result['triples']} triples; "
          f"integrity checked on: {result['integrity']}; import phases (s): {result['phases']}; rdflib parsed {len(baseline)} triples of Turtle in {rdflib_seconds:.2f}s",
          file=sys.stderr)
    print(f"sbom_components: {result['components']}")
    print(f"sbom_edges: {result['edges']}")
    print(f"sbom_import_seconds: {result['seconds']:.2f}")
    print(f"sbom_peak_rss_mb: {result['peak_mb']:.0f}")
    print(f"sbom_reimport_seconds: {result['reimport']:.2f}")
    print(f"sbom_vs_rdflib_parse_ratio: {rdflib_seconds / result['seconds']:.2f}")
