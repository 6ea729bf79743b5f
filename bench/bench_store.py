"""store: load and rank on the embedded store and on Virtuoso, side by side, on the same data.

    python bench/run.py store --triples 1000000

Generates --triples triples with generate.py, then for each store: replaces the curated graph with
the file (embedded: Oxigraph's bulk loader through the staging graph; Virtuoso: the remote store's
batched INSERT DATA into a staging graph and a MOVE, over HTTP, exactly what `partnergraph load`
does; then again with the staging graph filled through the Graph Store Protocol,
`store_load_seconds_virtuoso_gsp`; `--virtuoso-load gsp` or `insert` makes one of the two, for
10,000,000 triples) and runs the catalogue's prioritized_partners query for the generated home organization
(median of 3 after a warm-up). Virtuoso is started by the benchmark on 127.0.0.1 (Debian's
virtuoso-opensource), as the tests do.

The catalogue's query text is the same on both stores (written around Virtuoso 7.2's compiler bugs,
see README "Scaling out"); should the server still refuse it, the benchmark prints
`store_rank_seconds_virtuoso: failed` and the server's message rather than time another query.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import generate

HOME = generate.node("org/home")[1:-1]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    if not any(a.dest == "virtuoso_memory_mb" for a in parser._actions):
        parser.add_argument("--virtuoso-memory-mb", type=int, default=4000, help="Virtuoso buffer memory (store bench)")
    if not any(a.dest == "virtuoso_load" for a in parser._actions):
        parser.add_argument("--virtuoso-load", choices=("both", "insert", "gsp"), default="both",
                            help="store bench: load Virtuoso by batched INSERT DATA, through the Graph Store "
                                 "Protocol, or both one after the other (default; at 10M triples each takes many minutes)")


def _time_rank(store, text: str) -> tuple[float, int]:  # noqa: ANN001
    """Median of three runs after a warm-up; a single cold run when one run takes over 20 s."""
    started = time.perf_counter()
    rows = len(store.query(text).rows)
    first = time.perf_counter() - started
    if first > 20:
        return first, rows
    times = []
    for _ in range(3):
        started = time.perf_counter()
        rows = len(store.query(text).rows)
        times.append(time.perf_counter() - started)
    return statistics.median(times), rows


def _triples(path: Path):  # noqa: ANN202
    import pyoxigraph as ox

    from partnergraph.store import _from_ox

    with open(path, "rb") as f:
        for t in ox.parse(f, ox.RdfFormat.N_TRIPLES):
            yield (_from_ox(t.subject), _from_ox(t.predicate), _from_ox(t.object))


def run(args: argparse.Namespace) -> None:
    from partnergraph import queries
    from partnergraph.ontology import CURATED_GRAPH
    from partnergraph.store import open_store
    from partnergraph.store_virtuoso import VirtuosoServer, virtuoso_binary

    query = queries.get("prioritized_partners")
    with tempfile.TemporaryDirectory(prefix="pg-bench-store-") as d:
        data = Path(d) / "data.nt"
        with open(data, "w", encoding="utf-8") as f:
            written = generate.generate(args.triples, f)
        print(f"# generated {written} triples", file=sys.stderr)

        embedded = open_store(f"oxigraph:{Path(d) / 'store'}")
        started = time.perf_counter()
        embedded.replace_graph_from_file(CURATED_GRAPH, str(data), "nt")
        load_embedded = time.perf_counter() - started
        text = query.bind({"home": HOME})
        print(f"store_load_seconds_embedded: {load_embedded:.2f}")

        if virtuoso_binary() is None:
            rank_embedded, rows = _time_rank(embedded, text)
            print(f"store_rank_seconds_embedded: {rank_embedded:.3f}")
            print("# Virtuoso not installed (apt-get install virtuoso-opensource): no Virtuoso figures")
            embedded.close()
            return

        with VirtuosoServer(Path(d) / "virtuoso", memory_mb=args.virtuoso_memory_mb) as server:
            os.environ.update(server.env)
            remote = open_store(server.store_url)
            load_virtuoso = load_gsp = None
            if args.virtuoso_load in ("both", "insert"):
                started = time.perf_counter()
                remote.replace_graph(CURATED_GRAPH, _triples(data))
                load_virtuoso = time.perf_counter() - started
                print(f"store_load_seconds_virtuoso: {load_virtuoso:.2f}")
            if args.virtuoso_load in ("both", "gsp"):
                # (again,) the staging graph filled through the Graph Store Protocol
                gsp = open_store(server.gsp_store_url)
                started = time.perf_counter()
                gsp.replace_graph(CURATED_GRAPH, _triples(data))
                load_gsp = time.perf_counter() - started
                gsp.close()
                print(f"store_load_seconds_virtuoso_gsp: {load_gsp:.2f}")
            if load_virtuoso is not None and load_gsp is not None:
                print(f"store_load_ratio_virtuoso_insert_over_gsp: {load_virtuoso / load_gsp:.2f}")
            if load_virtuoso is None:
                print(f"store_load_seconds_virtuoso: {load_gsp:.2f}")
                print("# (Virtuoso loaded through the Graph Store Protocol only: --virtuoso-load gsp)")
                load_virtuoso = load_gsp
            rank_embedded, rows_embedded = _time_rank(embedded, text)
            print(f"store_rank_seconds_embedded: {rank_embedded:.3f}")
            print(f"store_load_ratio_virtuoso_over_embedded: {load_virtuoso / load_embedded:.2f}")
            try:
                rank_virtuoso, rows_virtuoso = _time_rank(remote, text)
            except Exception as exc:  # noqa: BLE001 - a server that cannot run the catalogue query
                print("store_rank_seconds_virtuoso: failed")
                print(f"# Virtuoso cannot run the catalogue query: {' '.join(str(exc).split())[:300]}")
            else:
                print(f"store_rank_seconds_virtuoso: {rank_virtuoso:.3f}")
                print(f"store_rank_ratio_virtuoso_over_embedded: {rank_virtuoso / rank_embedded:.2f}")
                print(f"# rows: embedded {rows_embedded}, virtuoso {rows_virtuoso}")
            remote.close()
        embedded.close()
