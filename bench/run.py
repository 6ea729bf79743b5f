"""partnergraph benchmarks: python bench/run.py NAME... [--triples N]

Each benchmark prints one figure per line as `name: value`. Every speed claim is a ratio against a
baseline measured in the same run, on the same data. Never part of the test suite.

    validate   one proposal checked against a store of --triples triples (embedded Oxigraph), and
               pyshacl validating the whole graph with the same shapes

Other benchmarks are the files bench_NAME.py beside this one (each has run(args) and may add its own
options with add_arguments(parser)); their docstrings say what they measure.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402


def _store_with(tmp: Path, triples: int):  # noqa: ANN202
    from partnergraph.ontology import CURATED_GRAPH
    from partnergraph.store import open_store

    data = tmp / "data.nt"
    with open(data, "w", encoding="utf-8") as f:
        written = generate.generate(triples, f)
    store = open_store(f"oxigraph:{tmp / 'store'}")
    started = time.perf_counter()
    store.replace_graph_from_file(CURATED_GRAPH, str(data), "nt")
    print(f"# generated {written} triples; embedded load {time.perf_counter() - started:.1f}s", file=sys.stderr)
    return store, data, written


def bench_validate(args: argparse.Namespace) -> None:
    from partnergraph.loaders.proposals import check, form_to_proposal

    with tempfile.TemporaryDirectory() as d:
        store, data, written = _store_with(Path(d), args.triples)
        form = {
            "kind": "organization", "label": "Proposed Organization", "website": "https://proposed.example/",
            "source": "https://proposed.example/about", "goals": ["Goal 1", "Goal 4"],
            "maintains": [{"component": "https://w3id.org/partnergraph/id/bench/component/5", "role": "maintainer",
                           "source": "https://proposed.example/projects"}],
            "activities": [{"title": "A joint event", "type": "event", "date": "2025-03-01",
                            "source": "https://proposed.example/news"}],
        }
        proposal = form_to_proposal(form, store)
        check(store, proposal)  # warm-up: caches, first query plans
        times = []
        for _ in range(5):
            started = time.perf_counter()
            check(store, proposal)
            times.append(time.perf_counter() - started)
        proposal_seconds = statistics.median(times)
        store.close()

        full_seconds, finished = _full_pyshacl(data, args.baseline_budget)
    print(f"validate_triples: {written}")
    print(f"proposal_validate_seconds: {proposal_seconds:.4f}")
    if finished:
        print(f"full_pyshacl_seconds: {full_seconds:.2f}")
        print(f"proposal_vs_full_pyshacl_ratio: {full_seconds / proposal_seconds:.1f}")
    else:
        print(f"# pyshacl did not finish the whole graph within {args.baseline_budget:.0f}s: the ratio below is a lower bound")
        print(f"full_pyshacl_seconds: >{full_seconds:.0f}")
        print(f"proposal_vs_full_pyshacl_ratio: >{full_seconds / proposal_seconds:.1f}")


def _full_pyshacl(data: Path, budget: float) -> tuple[float, bool]:
    """pyshacl validating the whole graph with the same shapes (parsing not timed), in a child
    process stopped after ``budget`` seconds. Returns (seconds, finished)."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_pyshacl_child, args=(str(data), queue))
    child.start()
    ready = queue.get()  # the child says when parsing is done; only validation is timed
    assert ready == "parsed"
    started = time.perf_counter()
    child.join(budget)
    if child.is_alive():
        child.kill()
        child.join()
        return time.perf_counter() - started, False
    return queue.get() if not queue.empty() else time.perf_counter() - started, True


def _pyshacl_child(data: str, queue) -> None:  # noqa: ANN001
    import pyshacl
    from rdflib import Graph

    from partnergraph.shapes import _ontology, shapes_graph

    graph = Graph()
    graph.parse(data, format="nt")
    for t in _ontology():
        graph.add(t)
    shapes = Graph()
    for t in shapes_graph("principles"):
        shapes.add(t)
    for t in shapes_graph("integrity"):
        shapes.add(t)
    queue.put("parsed")
    started = time.perf_counter()
    pyshacl.validate(graph, shacl_graph=shapes, advanced=True, allow_warnings=True, allow_infos=True)
    queue.put(time.perf_counter() - started)


BENCHMARKS = {"validate": bench_validate}


def _discover() -> list:  # noqa: ANN001
    """Other benchmarks live beside this file as bench_NAME.py, each with run(args) and optionally
    add_arguments(parser); they register themselves here by file name."""
    import importlib

    modules = []
    for path in sorted(HERE.glob("bench_*.py")):
        module = importlib.import_module(path.stem)
        BENCHMARKS[path.stem.removeprefix("bench_")] = module.run
        modules.append(module)
    return modules


def main(argv: list[str] | None = None) -> int:
    modules = _discover()
    parser = argparse.ArgumentParser(description="partnergraph benchmarks")
    parser.add_argument("names", nargs="+", choices=sorted(BENCHMARKS), metavar="NAME",
                        help=f"benchmarks to run: {', '.join(sorted(BENCHMARKS))}")
    parser.add_argument("--triples", type=int, default=100_000, help="size of the generated graph (default 100000)")
    parser.add_argument("--baseline-budget", type=float, default=600, metavar="SECONDS",
                        help="stop a baseline that has not finished after this long; its ratio is then a lower bound")
    for module in modules:
        if hasattr(module, "add_arguments"):
            module.add_arguments(parser)
    args = parser.parse_args(argv)
    for name in args.names:
        BENCHMARKS[name](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
