"""The ``partnergraph`` command: one verb per job.

Exit codes scripts can trust: 0 fine, 1 the data says no (violations), 2 bad usage or bad input.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
from typing import Any

import click

from partnergraph import __version__
from partnergraph.cli_params import date_param, home_param
from partnergraph.errors import PartnergraphError, UserError
from partnergraph.ontology import graph_iri
from partnergraph.output import short, to_csv, to_json, to_table
from partnergraph.store import DEFAULT_STORE_URL, Store, open_store

FORMAT = click.Choice(["table", "csv", "json"])


class Group(click.Group):
    """A click group that turns partnergraph's errors into one message and their exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except PartnergraphError as exc:
            click.echo(f"partnergraph: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("partnergraph: interrupted", err=True)
            ctx.exit(130)


_date = date_param
_home = home_param


class Ctx:
    """What every command needs: the store URL, opened on demand."""

    def __init__(self, store_url: str | None) -> None:
        self.store_url = store_url

    def open(self, *, read_only: bool = False, shared: bool = False) -> Store:
        return open_store(self.store_url, read_only=read_only, shared=shared)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--store",
    "store_url",
    envvar="PARTNERGRAPH_STORE",
    metavar="URL",
    help=f"Where the graph lives: oxigraph:PATH (default {DEFAULT_STORE_URL.split(':', 1)[1]}) or memory:. "
    "Also read from $PARTNERGRAPH_STORE.",
)
@click.version_option(__version__, prog_name="partnergraph")
@click.pass_context
def main(ctx: click.Context, store_url: str | None) -> None:
    """partnergraph: which organizations to partner with, and why, from a sourced knowledge graph.

    Start with `partnergraph demo`: it loads the bundled Wikimedia dataset, validates it against
    the principles of partnership, prints the prioritized list and serves the web app."""
    ctx.obj = Ctx(store_url)


# ----------------------------------------------------------------------------- load


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--graph", "graph_name", default="curated", show_default=True, metavar="NAME|IRI",
              help="The named graph the files replace (short name under the project's graph base, or a full IRI).")
@click.option("--format", "fmt", default=None, metavar="SYNTAX",
              help="RDF syntax for files whose suffix does not tell (turtle, nt, nquads, trig, xml, json-ld).")
@click.pass_obj
def load(obj: Ctx, paths: tuple[str, ...], graph_name: str, fmt: str | None) -> None:
    """Load RDF files or folders into one named graph, replacing it atomically.

    Every file is parsed and the whole is checked against shapes/integrity.ttl before anything is
    written; a bad file or an integrity violation leaves the store exactly as it was."""
    from partnergraph.loaders.rdf import load_paths

    try:
        graph = graph_iri(graph_name)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    with obj.open() as store:
        report = load_paths(store, paths, graph, fmt)
    click.echo(f"loaded {report.triples} triples from {len(report.files)} file(s) into <{report.graph}> in {report.seconds:.2f}s")


@main.command()
@click.pass_obj
def graphs(obj: Ctx) -> None:
    """List the named graphs in the store with their sizes."""
    with obj.open(read_only=True) as store:
        rows = [{"graph": str(g), "triples": n} for g, n in store.graph_sizes()]
    click.echo(to_table(rows, ["graph", "triples"]) if rows else "the store is empty")


# ----------------------------------------------------------------------------- validate


def _print_validation(result, fmt: str) -> None:  # noqa: ANN001
    from partnergraph.shapes import describe

    if fmt == "turtle":
        click.echo(result.report_graph.serialize(format="turtle"))
        return
    if fmt == "json":
        click.echo(json.dumps({
            "conforms": result.conforms,
            "as_of": result.as_of.isoformat(),
            "organizations": [
                {
                    "iri": str(v.organization), "qid": v.qid, "label": v.label, "eligible": v.eligible,
                    "failed_principles": v.failed_principles,
                    "findings": [{"principle": f.principle, "severity": f.severity, "message": f.message,
                                  "focus": str(f.focus), "value": None if f.value is None else str(f.value)} for f in v.findings],
                }
                for v in result.verdicts.values()
            ],
            "other_findings": [
                {"principle": f.principle, "severity": f.severity, "message": f.message, "focus": str(f.focus)}
                for f in result.findings if f.organization not in result.verdicts
            ],
        }, indent=2, ensure_ascii=False))
        return
    eligible = sum(1 for v in result.verdicts.values() if v.eligible)
    click.echo(f"Principles of partnership, as of {result.as_of.isoformat()}: "
               f"{eligible} of {len(result.verdicts)} organizations eligible")
    for v in result.verdicts.values():
        warnings = [f for f in v.findings if f.severity == "Warning"]
        verdict = "eligible" if v.eligible else "NOT ELIGIBLE"
        if v.eligible and warnings:
            verdict += f", {len(warnings)} warning(s)"
        name = f"{v.label} ({v.qid})" if v.qid else f"{v.label} (unresolved)"
        click.echo(f"\n{name}: {verdict}")
        for f in v.findings:
            if f.severity == "Info":
                continue
            click.echo(f"  - [{f.severity.lower()}] {f.principle}: {f.message}")
    others = [f for f in result.findings if f.organization not in result.verdicts and f.severity == "Violation"]
    if others:
        click.echo("\nOther problems:")
        for f in others:
            click.echo(f"  - {describe(f.focus, result.report_graph)}: {f.message}")


@main.command(name="validate")
@click.option("--as-of", callback=_date, metavar="DATE", help="Evaluate the principles at this date (default: today).")
@click.option("--focus", multiple=True, metavar="QID", help="Report only these organizations (repeatable).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "turtle"]), default="text", show_default=True,
              help="text: a verdict per organization; json: for tools; turtle: the standard sh:ValidationReport.")
@click.pass_obj
def validate_cmd(obj: Ctx, as_of: _dt.date | None, focus: tuple[str, ...], fmt: str) -> None:
    """Check the graph against the principles of partnership (shapes/principles.ttl).

    Exit 0 when everything conforms, 1 when a violation stands."""
    from partnergraph.queries import to_term
    from partnergraph.service import validate_store

    focus_iris = [to_term(q, "iri", "focus") for q in focus] or None
    with obj.open(read_only=True) as store:
        result = validate_store(store, as_of=as_of, focus=focus_iris)  # type: ignore[arg-type]
    if focus_iris:
        missing = [short(f) for f in focus_iris if f not in result.verdicts]
        if missing:
            raise UserError(f"not an organization in the graph: {', '.join(missing)}")
    _print_validation(result, fmt)
    sys.exit(0 if result.conforms else 1)


@main.command()
@click.option("--format", "fmt", type=click.Choice(["text", "markdown", "json"]), default="text", show_default=True)
def principles(fmt: str) -> None:
    """Print the principles of partnership, read from shapes/principles.ttl itself."""
    from partnergraph.shapes import principles as read_principles, principles_markdown

    found = read_principles()
    if fmt == "markdown":
        click.echo(principles_markdown(), nl=False)
    elif fmt == "json":
        click.echo(json.dumps([{"iri": str(p.iri), "name": p.label, "statement": p.comment, "severity": p.severity,
                                "messages": p.messages} for p in found], indent=2))
    else:
        for p in found:
            click.echo(f"{p.label} ({p.severity.lower()})")
            click.echo(f"  {p.comment}")


# ----------------------------------------------------------------------------- proposals


@main.command()
@click.argument("file", type=click.Path(path_type=str))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_obj
def propose(obj: Ctx, file: str, fmt: str) -> None:
    """Propose an organization or an activity (Turtle, or a JSON/YAML form; see docs/PROCESS.md).

    The proposal is checked against integrity and the principles of partnership before anything is
    stored: exit 2 for a malformed proposal, 1 when it breaks a principle, 0 when it is stored
    pending review."""
    from partnergraph.loaders.proposals import read_proposal, submit

    with obj.open() as store:
        proposal = read_proposal(file, store)
        pid = submit(store, proposal)
    if fmt == "json":
        click.echo(json.dumps({"id": pid, "state": "proposed", "proposes": str(proposal.focus),
                               "warnings": [{"about": a, "message": m} for a, m in proposal.warnings]}, indent=2))
        return
    click.echo(f"proposal {pid} stored, pending review ({proposal.kind}: {short(proposal.focus)})")
    for about, message in proposal.warnings:
        click.echo(f"  - [warning] {about}: {message}")
    click.echo(f"next: a reviewer runs 'partnergraph review {pid} --accept --reason …' (or --decline, --start)")


@main.command()
@click.option("--state", type=click.Choice(["proposed", "under-review", "accepted", "declined"]), help="Only proposals in this state.")
@click.option("--format", "fmt", type=FORMAT, default="table", show_default=True)
@click.pass_obj
def proposals(obj: Ctx, state: str | None, fmt: str) -> None:
    """List proposals with their state."""
    from partnergraph.loaders.proposals import list_proposals

    with obj.open(read_only=True) as store:
        rows = list_proposals(store, state)
    if fmt == "json":
        click.echo(to_json(rows))
    elif fmt == "csv":
        click.echo(to_csv(rows, ["id", "state", "created", "proposer", "about", "proposes"]), nl=False)
    else:
        click.echo(to_table(rows, ["id", "state", "created", "proposer", "about"]) if rows else "no proposals")


@main.command()
@click.argument("proposal_id")
@click.option("--start", "decision", flag_value="start", help="Mark it under review.")
@click.option("--accept", "decision", flag_value="accept", help="Accept it: its triples join the graph.")
@click.option("--decline", "decision", flag_value="decline", help="Decline it (its content is kept as the record).")
@click.option("--reason", required=True, help="Why: recorded in the proposal's history.")
@click.option("--by", "by", default="", help="Who decided (name or handle).")
@click.pass_obj
def review(obj: Ctx, proposal_id: str, decision: str | None, reason: str, by: str) -> None:
    """Move a proposal on: proposed → under review → accepted | declined, with who and why."""
    from partnergraph.loaders.proposals import history, review as do_review

    if decision is None:
        raise click.UsageError("say --start, --accept or --decline")
    with obj.open() as store:
        state = do_review(store, proposal_id, decision, reason, by)
        steps = history(store, proposal_id)
    click.echo(f"proposal {proposal_id} is now {state}")
    for step in steps:
        who = f" by {step['by']}" if step["by"] else ""
        click.echo(f"  {step['date']}  {step['state']}{who}: {step['reason']}")


# ----------------------------------------------------------------------------- rank


def _weights(values: tuple[str, ...]) -> dict[str, float]:
    out = {}
    for item in values:
        name, sep, number = item.partition("=")
        try:
            if not sep:
                raise ValueError
            out[name.strip()] = float(number)
        except ValueError:
            raise click.BadParameter(f"{item!r}: use NAME=NUMBER, e.g. stack=0.4", param_hint="--weight") from None
    return out


RANK_COLUMNS = ["rank", "label", "qid", "score", "status", "reasons"]


def _print_rank(rows: list[dict[str, Any]], fmt: str, show_eligibility: bool = False) -> None:
    if fmt == "json":
        click.echo(to_json(rows))
    elif fmt == "csv":
        click.echo(to_csv(rows, ["rank", "qid", "label", "score", "stack", "goals", "engagement", "status_score",
                                 "responsiveness", "diversity", "status", "eligible", "failed_principles", "reasons", "iri"]), nl=False)
    else:
        table_rows = []
        for r in rows:
            reasons = list(r["reasons"])
            if show_eligibility and not r["eligible"]:
                reasons = [f"NOT ELIGIBLE ({', '.join(r['failed_principles'])})"] + reasons
            table_rows.append(dict(r, qid=r["qid"] or "(unresolved)", reasons="; ".join(reasons[:4])))
        click.echo(to_table(table_rows, RANK_COLUMNS, ["#", "organization", "QID", "score", "status", "main reasons"]))


@main.command(name="rank")
@click.option("--limit", type=click.IntRange(min=1), default=None, metavar="N", help="Show the first N only.")
@click.option("--format", "fmt", type=FORMAT, default="table", show_default=True)
@click.option("--as-of", callback=_date, metavar="DATE", help="Rank the graph as it stood on this date.")
@click.option("--home", callback=_home, metavar="QID", help="The home organization (default: the one the data declares, else Q180, the Wikimedia Foundation).")
@click.option("--weight", "weights", multiple=True, metavar="NAME=NUMBER",
              help="Override a score weight: stack, goals, engagement, status, responsiveness, diversity (repeatable; "
              "applied after --profile).")
@click.option("--profile", type=click.Path(dir_okay=False, path_type=str), metavar="FILE.toml",
              help="Weights from a TOML profile: a [weights] table of component = number.")
@click.option("--all", "show_all", is_flag=True, help="Include organizations that fail a principle, with the principles they fail.")
@click.pass_obj
def rank_cmd(obj: Ctx, limit: int | None, fmt: str, as_of: _dt.date | None, home, weights: tuple[str, ...],  # noqa: ANN001
             profile: str | None, show_all: bool) -> None:
    """The prioritized list of technical partners, with the reasons behind each score.

    The score is a weighted sum of six components (stack, goals, engagement, status,
    responsiveness, diversity); 'partnergraph explain QID' shows every number behind one."""
    from partnergraph.service import rank

    chosen = _chosen_weights(profile, weights)
    with obj.open(read_only=True) as store:
        rows = rank(store, home=home, as_of=as_of, weights=chosen, eligible_only=not show_all, limit=limit)
    _print_rank(rows, fmt, show_eligibility=show_all)


def _chosen_weights(profile: str | None, weights: tuple[str, ...]) -> dict[str, float]:
    from partnergraph.service import check_weights, load_profile

    chosen = load_profile(profile) if profile else {}
    chosen.update(check_weights(_weights(weights), origin="--weight"))
    return chosen


# ----------------------------------------------------------------------------- explain


@main.command()
@click.argument("org")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--as-of", callback=_date, metavar="DATE", help="Explain the score as it stood on this date.")
@click.option("--home", callback=_home, metavar="QID", help="The home organization (default: the one the data declares).")
@click.option("--weight", "weights", multiple=True, metavar="NAME=NUMBER", help="Override a score weight (repeatable).")
@click.option("--profile", type=click.Path(dir_okay=False, path_type=str), metavar="FILE.toml", help="Weights from a TOML profile.")
@click.option("--no-position", is_flag=True,
              help="Leave out its place in the list, which needs the whole ranking (derived once per version of the "
                   "data: the first call after a load ranks every organization, some 40 s at a million triples).")
@click.pass_obj
def explain(obj: Ctx, org: str, fmt: str, as_of: _dt.date | None, home, weights: tuple[str, ...], profile: str | None,  # noqa: ANN001
            no_position: bool) -> None:
    """Why an organization ranks where it does: every number behind its score, with evidence.

    ORG is a QID (Q95), a prefixed name or an IRI (organizations without a Wikidata item)."""
    from partnergraph.service import explain as explain_org

    chosen = _chosen_weights(profile, weights)
    with obj.open(read_only=True) as store:
        result = explain_org(store, org, home=home, as_of=as_of, weights=chosen, with_rank=not no_position)
    if fmt == "json":
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
        return
    if not result["eligible"]:
        place = "not eligible: fails " + ", ".join(result["failed_principles"])
    elif no_position:
        place = "eligible"
    else:
        place = f"#{result['rank']} of the eligible partners" if result["rank"] else "not ranked"
    click.echo(f"{result['label']} ({result['qid'] or result['iri']}): score {result['score']} as of {result['as_of']}, {place}")
    rows = [{"component": c["name"], "weight": c["weight"], "points": c["points"], "contribution": c["contribution"],
             "evidence": len(c["evidence"])} for c in result["components"]]
    click.echo(to_table(rows, ["component", "weight", "points", "contribution", "evidence"],
                        ["component", "weight", "points", "weight x points", "pieces of evidence"]))
    for c in result["components"]:
        if not c["evidence"]:
            continue
        click.echo(f"\n{c['name']} ({c['points']} points):")
        for e in c["evidence"]:
            when = f"{e['date']}  " if e["date"] else ""
            click.echo(f"  {e['points']:>7.4g}  {when}{e['label'] or short(e['item'])}" + (f" — {e['detail']}" if e["detail"] else ""))
            for source in e["sources"]:
                click.echo(f"           source: {source}")
            for node in e["nodes"]:
                click.echo(f"           from: {node}")
            if not e["nodes"]:
                for t in e["triples"]:
                    click.echo(f"           from: <{t[0]}> <{t[1]}> <{t[2]}>")
    if result["findings"]:
        click.echo("\nprinciples:")
        for f in result["findings"]:
            click.echo(f"  {f['severity']:<9} {f['principle']}: {f['message']}")


# ----------------------------------------------------------------------------- goals


@main.command(name="goals")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--as-of", callback=_date, metavar="DATE", help="Measure progress as it stood on this date.")
@click.option("--home", callback=_home, metavar="QID", help="The home organization (default: the one the data declares).")
@click.pass_obj
def goals_cmd(obj: Ctx, fmt: str, as_of: _dt.date | None, home) -> None:  # noqa: ANN001
    """Are we meeting our goal? Targets per status level against who is there now.

    Exit code 0 when every target is met, 1 when some are not (for scripts and CI)."""
    from partnergraph.service import goals

    with obj.open(read_only=True) as store:
        result = goals(store, home=home, as_of=as_of)
    levels = result["levels"]
    if fmt == "json":
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
    elif fmt == "csv":
        click.echo(to_csv([dict(l, organizations=" | ".join(o["label"] for o in l["organizations"])) for l in levels],
                          ["label", "level", "target", "count", "missing", "stale", "met", "organizations", "status", "source"]), nl=False)
    else:
        click.echo(f"goal progress of {short(result['home'])} as of {result['as_of']} (targets: {result['targets_from']})")
        rows = []
        for l in levels:
            names = ", ".join(o["label"] + (" (stale)" if o["stale"] else "") for o in l["organizations"])
            rows.append(dict(l, target="—" if l["target"] is None else l["target"], organizations=names or "—"))
        click.echo(to_table(rows, ["label", "target", "count", "missing", "stale", "organizations"],
                            ["status", "target", "now", "missing", "stale", "organizations"]))
    unmet = [l for l in levels if l["target"] is not None and not l["met"]]
    if unmet:
        sys.exit(1)


# ----------------------------------------------------------------------------- query


@main.command()
@click.argument("name_or_file", required=False)
@click.option("--list", "list_", is_flag=True, help="List the named queries of the catalogue.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE", help="Bind a query parameter (repeatable).")
@click.option("--format", "fmt", type=FORMAT, default="table", show_default=True)
@click.option("--allow-service", "allow_service", multiple=True, metavar="HOST",
              help="Let the query call SERVICE on this host (repeatable); any other SERVICE is refused.")
@click.pass_obj
def query(obj: Ctx, name_or_file: str | None, list_: bool, params: tuple[str, ...], fmt: str,
          allow_service: tuple[str, ...] = ()) -> None:
    """Run a named query from the catalogue (queries/) or a SPARQL file.

    Parameters are bound as typed RDF terms, never pasted into the query text."""
    from partnergraph import queries

    if list_ or not name_or_file:
        rows = []
        for name, q in queries.catalogue().items():
            ps = ", ".join(f"{p.name}={p.default or 'none'}" for p in q.params)
            rows.append({"name": name, "title": q.title, "parameters": ps})
        if fmt == "json":
            click.echo(to_json(rows))
        elif fmt == "csv":
            click.echo(to_csv(rows, ["name", "title", "parameters"]), nl=False)
        else:
            click.echo(to_table(rows, ["name", "title", "parameters"]))
        return
    q = queries.get(name_or_file)
    values = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r}: use NAME=VALUE", param_hint="--param")
        values[key.strip()] = value
    with obj.open(read_only=True) as store:
        store.allowed_service_hosts = allow_service
        result = queries.run(store, q, values)
    if result.kind == "ASK":
        click.echo(json.dumps({"boolean": result.boolean}) if fmt == "json" else str(result.boolean).lower())
        return
    if result.kind == "CONSTRUCT":
        click.echo(result.graph.serialize(format="json-ld" if fmt == "json" else "turtle"))  # type: ignore[union-attr]
        return
    rows = result.dicts()
    if fmt == "json":
        click.echo(to_json(rows))
    elif fmt == "csv":
        click.echo(to_csv(rows, result.variables), nl=False)
    else:
        shown = [{k: (short(v) if v is not None and not hasattr(v, "language") else v) for k, v in r.items()} for r in rows]
        click.echo(to_table(shown, result.variables))
        click.echo(f"({len(rows)} row{'s' if len(rows) != 1 else ''})", err=True)


# ----------------------------------------------------------------------------- serve and demo


def _serve(store: Store, host: str, port: int, threads: int) -> None:
    from partnergraph.serve import run_server

    run_server(store, host, port, threads=threads)


@main.command()
@click.option("--serve/--no-serve", "do_serve", default=True, help="Serve the web app afterwards (default) or exit.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True, help="Rows of the list to print.")
@click.option("--as-of", callback=_date, metavar="DATE", help="Validate and rank as of this date.")
@click.pass_obj
def demo(obj: Ctx, do_serve: bool, host: str, port: int, limit: int, as_of: _dt.date | None) -> None:
    """The main job on the bundled Wikimedia data: load, validate, rank, serve."""
    from partnergraph.service import load_bundled, rank, validate_store

    with obj.open() as store:
        report = load_bundled(store)
        click.echo(f"1. loaded the bundled Wikimedia dataset: {report.triples} triples from {len(report.files)} files "
                   f"into {store.url} ({report.seconds:.1f}s)")
        result = validate_store(store, as_of=as_of)
        eligible = [v for v in result.verdicts.values() if v.eligible]
        warnings = sum(1 for f in result.findings if f.severity == "Warning")
        click.echo(f"2. validated against the principles of partnership: {len(eligible)} of {len(result.verdicts)} "
                   f"organizations eligible, {warnings} warnings (details: partnergraph validate)")
        rows = rank(store, as_of=as_of, validation=result, limit=limit)
        click.echo(f"3. prioritized technical partners of the Wikimedia Foundation (top {len(rows)}; "
                   "all: partnergraph rank --all):\n")
        _print_rank(rows, "table")
        from partnergraph.service import goals

        progress = goals(store, as_of=as_of)
        parts = [f"{l['label']} {l['count']}/{l['target']}" + (f" ({l['stale']} stale)" if l["stale"] else "")
                 for l in progress["levels"] if l["target"] is not None]
        click.echo(f"\n4. goal progress: {'; '.join(parts)} (details: partnergraph goals; why a score: partnergraph explain QID)")
    if do_serve:
        click.echo("")
        # Served like `partnergraph serve`: shared, so that loads in other processes can run meanwhile.
        with obj.open(shared=True) as store:
            _serve(store, host, port, 4)


main.add_command(__import__("partnergraph.cli_stack", fromlist=["stack"]).stack)  # partnergraph stack import|coverage
from partnergraph.serve import serve as _serve_cmd  # noqa: E402

main.add_command(_serve_cmd)

from partnergraph.cli_wikidata import wikidata as _wikidata  # noqa: E402

main.add_command(_wikidata)

from partnergraph.cli_store import register as _register_store_commands  # noqa: E402

_register_store_commands(main)
