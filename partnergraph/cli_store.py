"""Backups: ``partnergraph export`` (N-Quads of every graph) and ``partnergraph import`` (restore).

An export holds every graph that carries data, pending proposals included, so that a restore is
exact; staging graphs and bookkeeping (``…/graph/.…``) are left out. An import parses the whole
file and checks it before touching the store, then swaps every graph in at once (one update
request: one transaction), so a failed or killed import leaves the store as it was.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import IO, Iterable

import click
from rdflib import Dataset, Graph, URIRef

from partnergraph.errors import UserError
from partnergraph.ontology import ONTOLOGY_GRAPH, graph_iri
from partnergraph.store import INTERNAL_PREFIX, PENDING_PREFIX, Store

MAX_IMPORT_BYTES = 4 * 1024**3


def exported_graphs(store: Store, only: Iterable[URIRef] = ()) -> list[URIRef]:
    """The graphs an export holds: every data graph and pending proposal, no bookkeeping."""
    every = [g for g in store._all_graph_names() if not str(g).startswith(INTERNAL_PREFIX)]
    names = sorted(set(every) | set(store.graph_names()))
    if only:
        wanted = list(only)
        missing = [str(g) for g in wanted if g not in names]
        if missing:
            raise UserError(f"no graph {', '.join('<' + m + '>' for m in missing)} in the store ('partnergraph graphs' lists them)")
        return wanted
    return names


def export_store(store: Store, out: IO[str], only: Iterable[URIRef] = ()) -> tuple[int, int]:
    """Write N-Quads; returns (graphs, quads). Streams graph by graph."""
    from rdflib.plugins.serializers.nt import _nt_row  # N-Triples escaping: one line per statement

    graphs = quads = 0
    for name in exported_graphs(store, only):
        graphs += 1
        tail = f" <{name}> .\n"
        for t in store.graph_triples(name):
            out.write(_nt_row(t)[:-3] + tail)
            quads += 1
    return graphs, quads


def read_backup(path: str) -> dict[URIRef, Graph]:
    """Parse an N-Quads backup completely (nothing is written before this succeeds)."""
    if path == "-":
        data = sys.stdin.buffer.read(MAX_IMPORT_BYTES + 1)
        label = "standard input"
    else:
        p = Path(path)
        if not p.is_file():
            raise UserError(f"{path}: no such file")
        if p.stat().st_size > MAX_IMPORT_BYTES:
            raise UserError(f"{path}: larger than {MAX_IMPORT_BYTES // 1024**3} GiB; load big graphs with 'partnergraph load'")
        data = p.read_bytes()
        label = path
    if len(data) > MAX_IMPORT_BYTES:
        raise UserError(f"{label}: larger than {MAX_IMPORT_BYTES // 1024**3} GiB")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UserError(f"{label}: not UTF-8 (byte {exc.start}): N-Quads files are UTF-8") from None
    ds = Dataset()
    try:
        ds.parse(data=text, format="nquads")
    except Exception as exc:  # noqa: BLE001 - rdflib's parsers raise many kinds
        raise UserError(f"{label}: not valid N-Quads: {' '.join(str(exc).split())[:400]}") from None
    out: dict[URIRef, Graph] = {}
    for s, p, o, g in ds.quads((None, None, None, None)):
        name = g.identifier if isinstance(g, Graph) else g
        if not isinstance(name, URIRef) or str(name) == "urn:x-rdflib:default":
            raise UserError(f"{label}: a triple outside any named graph ({s.n3()} {p.n3()} …); partnergraph keeps every triple in a named graph")
        if str(name).startswith(INTERNAL_PREFIX):
            raise UserError(f"{label}: <{name}> is partnergraph's own bookkeeping, not something to import")
        out.setdefault(name, Graph()).add((s, p, o))
    if not out:
        raise UserError(f"{label}: no quads to import; the store was left as it was")
    return out


def check_backup(graphs: dict[URIRef, Graph]) -> None:
    """Integrity of every data graph, with the rest of the backup as context (as a load checks)."""
    from partnergraph.shapes import check_integrity

    for name, g in graphs.items():
        if name == ONTOLOGY_GRAPH or str(name).startswith(PENDING_PREFIX):
            continue  # the vocabulary itself, and proposals not yet accepted (checked when reviewed)
        context = Graph()
        for other, og in graphs.items():
            if other != name:
                for t in og:
                    context.add(t)
        try:
            check_integrity(g, context)
        except UserError as exc:
            raise UserError(f"graph <{name}> of the backup: {exc}") from None


@click.command(name="export")
@click.argument("file", required=False, default="-", metavar="[FILE|-]")
@click.option("--graph", "graphs", multiple=True, metavar="NAME|IRI", help="Only this graph (repeatable).")
@click.pass_obj
def export_cmd(obj, file: str, graphs: tuple[str, ...]) -> None:  # noqa: ANN001
    """Write every graph of the store (pending proposals included) as N-Quads, for a backup."""
    try:
        only = [graph_iri(g) for g in graphs]
    except ValueError as exc:
        raise UserError(str(exc)) from None
    started = time.perf_counter()
    with obj.open(read_only=True) as store:
        if file == "-":
            n, q = export_store(store, sys.stdout, only)
        else:
            target = Path(file)
            tmp = target.with_name(f".{target.name}.partial")
            try:
                with open(tmp, "w", encoding="utf-8") as out:
                    n, q = export_store(store, out, only)
                tmp.replace(target)
            except OSError as exc:
                tmp.unlink(missing_ok=True)
                raise UserError(f"cannot write {file}: {exc.strerror or exc}") from None
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
    click.echo(f"exported {q} quads in {n} graph(s) in {time.perf_counter() - started:.2f}s", err=True)


@click.command(name="import")
@click.argument("file", metavar="FILE|-")
@click.option("--replace", is_flag=True, help="Also drop the graphs that the backup does not hold: the store becomes the backup.")
@click.option("--trusted", is_flag=True, help="Skip the integrity check (a backup you made yourself, too big to check).")
@click.pass_obj
def import_cmd(obj, file: str, replace: bool, trusted: bool) -> None:  # noqa: ANN001
    """Restore an N-Quads backup (from 'partnergraph export'): its graphs replace the store's, all at once."""
    started = time.perf_counter()
    graphs = read_backup(file)
    if not trusted:
        check_backup(graphs)
    with obj.open() as store:
        drop = [g for g in exported_graphs(store) if g not in graphs] if replace else []
        store.replace_graphs(graphs, drop)  # type: ignore[arg-type]
    quads = sum(len(g) for g in graphs.values())
    dropped = f", dropped {len(drop)} other graph(s)" if drop else ""
    click.echo(f"imported {quads} quads into {len(graphs)} graph(s){dropped} in {time.perf_counter() - started:.2f}s")


def register(main: click.Group) -> None:
    """Add the backup commands to the partnergraph command group."""
    main.add_command(export_cmd)
    main.add_command(import_cmd)
