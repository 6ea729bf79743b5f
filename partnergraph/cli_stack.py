"""``partnergraph stack``: import SBOMs and package manifests, and see how much of the stack is
mapped to the organizations that make it."""

from __future__ import annotations

import json
from typing import Any

import click

from partnergraph.cli_params import home_param
from partnergraph.errors import UserError
from partnergraph.ontology import graph_iri, qid_of
from partnergraph.output import short, to_csv, to_table


_home = home_param


# The group is registered on partnergraph.cli.main, whose Group turns partnergraph's errors into
# one message and exit code 2; obj is cli.Ctx (not imported here: cli imports this module).
@click.group(name="stack")
def stack() -> None:
    """The software stack: SBOMs and package manifests in, maintaining organizations out."""


def _summary_json(report, coverage: list[dict[str, Any]], totals: dict[str, Any]) -> str:  # noqa: ANN001
    by_component = {c["component"]: c for c in coverage}
    out = {"home": str(report.home), "seconds": round(report.seconds, 3), "phases": report.phases, "coverage": totals,
           "sources": []}
    for s in report.sources:
        comps = []
        for p in s.packages:
            cov = by_component.get(p["component"], {})
            comps.append({**p, "qid": cov.get("qid", p["qid"]), "status": cov.get("status"),
                          "organizations": cov.get("organizations", []), "missing": cov.get("missing")})
        out["sources"].append({
            "file": s.path, "source": s.source, "graph": str(s.graph), "format": s.kind, "components": s.components,
            "edges": s.edges, "direct": s.direct, "runtime": s.runtime, "triples": s.triples,
            "resolution": s.resolved, "integrity_checked": s.integrity, "notes": s.notes, "packages": comps})
    return json.dumps(out, indent=2, ensure_ascii=False)


@stack.command(name="import")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--source", "sources", multiple=True, metavar="URL", required=True,
              help="The public http(s) address of each FILE, in the same order (repeat once per file): "
                   "every usage cites it as dcterms:source, and it names the graph the file replaces.")
@click.option("--home", callback=_home, metavar="QID|IRI",
              help="The home organization whose stack this is (default: the data's pg:HomeOrganization).")
@click.option("--graph", "graph_name", metavar="NAME|IRI",
              help="Put every FILE into this one graph instead of one graph per source.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="json: every component with its purl, Wikidata item, maintainers and the coverage figures.")
@click.option("--turtle", "turtle_path", type=click.Path(dir_okay=False, path_type=str), metavar="FILE",
              help="Also write the imported triples to FILE as Turtle (how data/wikimedia keeps manifest facts).")
@click.pass_obj
def import_cmd(obj, files: tuple[str, ...], sources: tuple[str, ...], home, graph_name: str | None, fmt: str,  # noqa: ANN001
               turtle_path: str | None) -> None:
    """Import SBOMs (CycloneDX JSON 1.4-1.6, SPDX JSON 2.2/2.3) and package manifests
    (composer.json/.lock, package.json, package-lock.json, requirements.txt, pyproject.toml,
    dpkg-query -W output), recognised by their content.

    Each file replaces its own graph in the stack, atomically, after the integrity check;
    importing the same source again replaces it. A file that does not read leaves the store as it was."""
    from partnergraph.loaders.stack import import_files
    from partnergraph.loaders.stack_coverage import assess, summarize
    from partnergraph.service import default_home

    try:
        graph = graph_iri(graph_name) if graph_name else None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    with obj.open() as store:
        home = home if home is not None else default_home(store)
        report = import_files(store, files, home=home, sources=sources, graph=graph, with_packages=fmt == "json",
                              keep_lines=turtle_path is not None)
        if turtle_path is not None:
            from pathlib import Path

            from partnergraph.loaders.stack import to_turtle

            header = "Written by `partnergraph stack import` from:\n" + "\n".join(f"  {s}" for s in sources)
            Path(turtle_path).write_text(to_turtle(report.lines, header), encoding="utf-8")
        if fmt == "json":
            comps = [c for s in report.sources for c in s.packages]
            from rdflib import URIRef

            items = assess(store, home, [URIRef(c["component"]) for c in comps])
            click.echo(_summary_json(report, [i.as_dict() for i in items], summarize(items)))
            return
    for s in report.sources:
        how = ", ".join(f"{n} {k}" for k, n in sorted(s.resolved.items()))
        click.echo(f"{s.path}: {s.kind}, {s.components} components ({s.direct} direct, {s.runtime} runtime), "
                   f"{s.edges} dependency edges; {how}; {s.triples} triples into <{s.graph}>")
        for note in s.notes:
            click.echo(f"  note: {note}")
        if s.integrity != "all":
            click.echo(f"  integrity checked on a {s.integrity}")
    click.echo(f"imported {report.components} components for {short(report.home)} in {report.seconds:.2f}s; "
               "see the gaps with: partnergraph stack coverage")


@stack.command(name="coverage")
@click.option("--home", callback=_home, metavar="QID|IRI",
              help="The home organization (default: the data's pg:HomeOrganization).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--components", "per_component", is_flag=True,
              help="One row per unmapped component instead of one per ecosystem and vendor.")
@click.pass_obj
def coverage_cmd(obj, home, fmt: str, per_component: bool) -> None:  # noqa: ANN001
    """How much of the stack is mapped to organizations (curated stewardship or Wikidata's
    developer / maintained by / owned by), and, grouped by ecosystem and vendor, what is missing."""
    from partnergraph.loaders.stack_coverage import MAPPED, assess, summarize
    from partnergraph.service import default_home

    with obj.open(read_only=True) as store:
        home = home if home is not None else default_home(store)
        items = assess(store, home)
    totals = summarize(items)
    if fmt == "json":
        click.echo(json.dumps({"home": str(home), "qid": qid_of(home), **totals,
                               "components_detail": [i.as_dict() for i in items]}, indent=2, ensure_ascii=False))
        return
    if per_component:
        rows = [i.as_dict() for i in items if i.status != MAPPED]
        columns = ["ecosystem", "vendor", "label", "purl", "qid", "status", "missing"]
    else:
        rows = [{**g, "organizations": g["organizations"][:3] if fmt == "table" else g["organizations"]} for g in totals["groups"]]
        columns = ["ecosystem", "vendor", "components", "mapped", "unmapped", "main_gap", "organizations", "fix", "examples"]
    if fmt == "csv":
        click.echo(to_csv(rows, columns), nl=False)
        return
    if not items:
        click.echo(f"no stack components for {short(home)}: import a manifest with partnergraph stack import")
        return
    click.echo(f"stack of {short(home)}: {totals['mapped']} of {totals['components']} components mapped to an "
               f"organization ({totals['coverage']}%)")
    status = ", ".join(f"{n} {s}" for s, n in sorted(totals["by_status"].items()))
    click.echo(f"by status: {status}\n")
    click.echo(to_table(rows, columns))
