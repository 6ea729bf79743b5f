"""rank: the prioritized list, explain and goals on a generated graph in the embedded store.

    python bench/run.py rank --triples 1000000
    python bench/run.py rank --triples 10000000 --runs 1 --no-rdflib

Prints, measured side by side in one run:
  rank_seconds                  the catalogue's prioritized_partners through the store layer (median of 5)
  rank_pyoxigraph_seconds       the same bound .rq text run by pyoxigraph directly on the same store
  rank_vs_pyoxigraph_ratio      the two divided (aim: at most 1.5)
  rank_full_seconds             with --full: service.rank computing the list, the query plus every
                                candidate's principles (what the first call after a write does)
  rank_rdflib_seconds           rdflib's in-memory engine on the same text over a 100,000-triple graph
                                from the same generator (in a child process, stopped after --baseline-budget)
  rank_vs_rdflib_memory_ratio   rdflib's time over the project's on that 100,000-triple graph, in the
                                embedded default store, on disk (aim: >= 1000)
  rank_vs_rdflib_memory_ratio_in_memory_store
                                the same over the project's store layer on Oxigraph's in-memory store
                                (oxigraph: with no path): in memory on both sides
  explain_first_ms, goals_first_ms
                                service.explain (without the list position, which is a ranking) and
                                service.goals at --triples, the first call after the data changed:
                                it computes the answer
  explain_ms, goals_ms          the same calls once the answer is derived for this version of the
                                data, as every later reader gets it (aim: under 100 each)
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

import generate

RDFLIB_TRIPLES = 100_000
HOME = "https://w3id.org/partnergraph/id/bench/org/home"


RUNS = 5  # --runs: measured runs per figure, after one warm-up


def add_arguments(parser: argparse.ArgumentParser) -> None:
    if not any(a.dest == "runs" for a in parser._actions):
        parser.add_argument("--runs", type=int, default=5,
                            help="rank: measured runs per figure after a warm-up (the median is printed); 1: one cold run")
    if not any(a.dest == "full" for a in parser._actions):
        parser.add_argument("--full", action="store_true",
                            help="rank: also time service.rank with every candidate's principles (minutes from 100,000 triples)")
    if not any(a.dest == "no_rdflib" for a in parser._actions):
        parser.add_argument("--no-rdflib", action="store_true",
                            help="rank: skip the rdflib baseline on 100,000 triples (its figure does not depend on --triples)")


def _median(fn, runs: int | None = None) -> float:  # noqa: ANN001
    runs = runs if runs is not None else RUNS
    if runs > 1:
        fn()  # warm-up: caches, first query plans (--runs 1: a single cold run, for 10M triples)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _embedded(tmp: Path, triples: int, name: str):  # noqa: ANN202
    from partnergraph.ontology import CURATED_GRAPH
    from partnergraph.store import open_store

    data = tmp / f"data-{name}-{triples}.nt"
    with open(data, "w", encoding="utf-8") as f:
        written = generate.generate(triples, f)
    store = open_store(f"oxigraph:{tmp / f'store-{name}-{triples}'}")
    started = time.perf_counter()
    # Set-up, not measured: a fresh store has no previous graph to keep, so the data is bulk-loaded
    # straight into its graph (a load's atomic swap is what `bench/run.py store` measures).
    import pyoxigraph as ox

    store._ox.bulk_load(path=str(data), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(str(CURATED_GRAPH)))
    store._ox.optimize()
    store._graphs = None
    print(f"# {written} triples generated; embedded load {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return store, data


def _in_memory(data: Path):  # noqa: ANN202
    """The store layer over Oxigraph in memory (``oxigraph:``), holding the same graph."""
    import pyoxigraph as ox

    from partnergraph.ontology import CURATED_GRAPH
    from partnergraph.store import open_store

    store = open_store("oxigraph:")
    store._ox.bulk_load(path=str(data), format=ox.RdfFormat.N_TRIPLES, to_graph=ox.NamedNode(str(CURATED_GRAPH)))
    store._graphs = None
    return store


def _rdflib_child(data: str, text: str, queue) -> None:  # noqa: ANN001
    from rdflib import Graph

    from partnergraph.ontology import ontology_graph

    graph = Graph()
    graph.parse(data, format="nt")
    for t in ontology_graph():
        graph.add(t)
    queue.put("parsed")
    started = time.perf_counter()
    rows = list(graph.query(text))
    queue.put((time.perf_counter() - started, len(rows)))


def _rdflib_seconds(data: Path, text: str, budget: float) -> tuple[float, bool, int]:
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_rdflib_child, args=(str(data), text, queue))
    child.start()
    assert queue.get() == "parsed"
    started = time.perf_counter()
    child.join(budget)
    if child.is_alive():
        child.kill()
        child.join()
        return time.perf_counter() - started, False, 0
    seconds, rows = queue.get()
    return seconds, True, rows


def run(args: argparse.Namespace) -> None:
    from partnergraph import queries, service
    from partnergraph.store import OxigraphStore

    global RUNS
    RUNS = max(1, args.runs)
    query = queries.get("prioritized_partners")
    text = query.bind({"home": HOME})
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        store, _data = _embedded(tmp, args.triples, "main")
        assert isinstance(store, OxigraphStore)
        rows = queries.run(store, query, {"home": HOME}).rows
        ours = _median(lambda: queries.run(store, query, {"home": HOME}))
        print(f"# ours {ours:.3f}s", file=sys.stderr, flush=True)
        native = store._ox  # the very pyoxigraph Store the project uses: same data, same files
        direct_rows = list(native.query(text, use_default_graph_as_union=True))
        assert len(direct_rows) == len(rows), (len(direct_rows), len(rows))
        direct = _median(lambda: list(native.query(text, use_default_graph_as_union=True)))
        print(f"rank_rows: {len(rows)}")
        print(f"rank_seconds: {ours:.3f}")
        print(f"rank_pyoxigraph_seconds: {direct:.3f}")
        print(f"rank_vs_pyoxigraph_ratio: {ours / direct:.2f}", flush=True)
        home = queries.to_term(HOME, "iri")
        top = rows[0][0]  # the first of the list: the organization with the most evidence to explain
        # The first call after the data changed computes the answer; every later one, in this
        # process or another reading the same snapshot, reads it (Store.derived).
        started = time.perf_counter()
        service.explain(store, top, home=home, with_rank=False)
        print(f"explain_first_ms: {(time.perf_counter() - started) * 1000:.1f}", flush=True)
        explain = _median(lambda: service.explain(store, top, home=home, with_rank=False))
        print(f"explain_ms: {explain * 1000:.1f}", flush=True)
        started = time.perf_counter()
        service.goals(store, home=home)
        print(f"goals_first_ms: {(time.perf_counter() - started) * 1000:.1f}", flush=True)
        goals = _median(lambda: service.goals(store, home=home))
        print(f"goals_ms: {goals * 1000:.1f}", flush=True)
        if args.full:
            # computed each time (service._rank: what the first service.rank after a write does)
            full = _median(lambda: service._rank(store, home=home, eligible_only=False), runs=min(3, RUNS))
            print(f"rank_full_seconds: {full:.3f}", flush=True)
        store.close()
        if args.no_rdflib:
            return

        small, small_data = _embedded(tmp, RDFLIB_TRIPLES, "rdflib")
        ours_small = _median(lambda: queries.run(small, query, {"home": HOME}))
        small.close()
        # The same store layer over Oxigraph's in-memory store (oxigraph: with no path), like for
        # like with rdflib's in-memory graph: what the on-disk lookups cost the figure above.
        memory = _in_memory(small_data)
        ours_memory = _median(lambda: queries.run(memory, query, {"home": HOME}))
        memory.close()
        seconds, finished, rdflib_rows = _rdflib_seconds(small_data, text, args.baseline_budget)
        print(f"rank_seconds_100k: {ours_small:.4f}")
        print(f"rank_seconds_100k_in_memory_store: {ours_memory:.4f}")
        bound = "" if finished else ">"
        if finished:
            print(f"rank_rdflib_seconds: {seconds:.1f}")
        else:
            print(f"rank_rdflib_seconds: >{seconds:.0f} (stopped at the budget)")
        print(f"rank_vs_rdflib_memory_ratio: {bound}{seconds / ours_small:.0f}")
        print(f"rank_vs_rdflib_memory_ratio_in_memory_store: {bound}{seconds / ours_memory:.0f}")
