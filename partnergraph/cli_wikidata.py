"""``partnergraph wikidata fetch|dump``: bulk load from the Wikidata endpoint or from dumps.

Both commands replace the wikidata named graph atomically: on any error (exit 2) it is unchanged.
"""

from __future__ import annotations

from pathlib import Path

import click

from partnergraph.cli import Ctx, Group
from partnergraph.errors import UserError


def _languages(values: tuple[str, ...]) -> tuple[str, ...]:
    from partnergraph.loaders.wikidata_common import DEFAULT_LANGUAGES, check_languages

    return check_languages(values) if values else DEFAULT_LANGUAGES


def _properties(values: tuple[str, ...], option: str, default: tuple[str, ...]) -> tuple[str, ...]:
    from partnergraph.loaders.wikidata_common import check_properties

    return check_properties(values, option) if values else default


def _props_help() -> str:
    from partnergraph.loaders.wikidata_common import PROPERTIES

    return ", ".join(f"{p.pid} {p.label}" for p in PROPERTIES)


@click.group(cls=Group)
def wikidata() -> None:
    """Bulk load from Wikidata into the wikidata graph: from a SPARQL endpoint (fetch) or dumps (dump).

    Both start from the Wikidata items the store's other graphs name (organizations, components,
    goals…) and keep Wikidata's truthy vocabulary (wdt:, rdfs:label, schema:description)."""


@wikidata.command()
@click.option("--endpoint", default=None, metavar="URL", help="SPARQL endpoint (default: the Wikidata Query Service).")
@click.option("--depth", type=click.IntRange(0, 5), default=1, show_default=True,
              help="Hops from the seeds over the followed properties.")
@click.option("--lang", "langs", multiple=True, metavar="CODE",
              help="Language of labels and descriptions (repeatable or comma-separated; '*' for all; default en).")
@click.option("--property", "props", multiple=True, metavar="PID",
              help="Property to load (repeatable; default: the documented table, see `partnergraph wikidata properties`).")
@click.option("--follow", "follows", multiple=True, metavar="PID",
              help="Property to hop over (repeatable; default P178 P126 P127 P749 P463).")
@click.option("--contact", envvar="PARTNERGRAPH_CONTACT", metavar="URL|EMAIL",
              help="Your contact for the User-Agent (Wikimedia policy); also $PARTNERGRAPH_CONTACT.")
@click.option("--user-agent", default=None, metavar="TEXT", help="The whole User-Agent header, overriding --contact.")
@click.option("--cache-dir", type=click.Path(path_type=Path), default=None,
              help="Answers cache and checkpoint (default: next to the store, STORE.wikidata-cache).")
@click.option("--batch-size", type=click.IntRange(1, 5000), default=200, show_default=True, help="Items per VALUES block.")
@click.option("--timeout", type=click.FloatRange(0.1), default=60.0, show_default=True, help="Seconds per request.")
@click.option("--max-retries", type=click.IntRange(0, 50), default=5, show_default=True,
              help="Retries of one batch (429, 5xx, time-outs, malformed answers) before giving up.")
@click.option("--backoff", "backoff_base", type=click.FloatRange(0), default=2.0, show_default=True,
              help="Base of the exponential backoff, seconds (doubles per retry, with jitter).")
@click.option("--max-wait", type=click.FloatRange(0), default=300.0, show_default=True,
              help="Longest single wait (a longer Retry-After stops the fetch, to resume later).")
@click.option("--max-age", type=click.FloatRange(0), default=24.0, show_default=True,
              help="Hours a cached answer is reused (batches of an interrupted run are always reused with --resume).")
@click.option("--resume/--no-resume", default=True, show_default=True,
              help="Continue an interrupted fetch from its checkpoint, or start over.")
@click.option("--dry-run", is_flag=True, help="Print the first query and the number of batches; send nothing.")
@click.pass_obj
def fetch(obj: Ctx, endpoint: str | None, depth: int, langs: tuple[str, ...], props: tuple[str, ...],
          follows: tuple[str, ...], contact: str | None, user_agent: str | None, cache_dir: Path | None,
          batch_size: int, timeout: float, max_retries: int, backoff_base: float, max_wait: float,
          max_age: float, resume: bool, dry_run: bool) -> None:
    """Fetch the items the graph names, and their neighbourhood, from a SPARQL endpoint.

    Portable SPARQL 1.1 only (VALUES batches, no SERVICE wikibase:label), so the Wikidata Query
    Service, QLever, Virtuoso or a mirror all work. Rate limits are honoured; answers are cached
    and a failed fetch resumes from its checkpoint. Exit 2 on failure, graph unchanged."""
    from partnergraph.loaders.wikidata import DEFAULT_ENDPOINT, FetchOptions, default_cache_dir, fetch as do_fetch
    from partnergraph.loaders.wikidata import user_agent as make_agent
    from partnergraph.loaders.wikidata_common import DEFAULT_FOLLOW, DEFAULT_PROPERTIES

    endpoint = endpoint or DEFAULT_ENDPOINT
    if not endpoint.startswith(("http://", "https://")):
        raise UserError(f"--endpoint {endpoint!r} is not an http(s) URL")
    properties = _properties(props, "--property", DEFAULT_PROPERTIES)
    follow = _properties(follows, "--follow", tuple(p for p in DEFAULT_FOLLOW if p in properties))
    missing = [p for p in follow if p not in properties]
    if missing:
        raise UserError(f"--follow {', '.join(missing)}: also load it with --property")
    options = FetchOptions(
        endpoint=endpoint,
        user_agent=user_agent or make_agent(contact),
        timeout=timeout,
        max_retries=max_retries,
        backoff_base=backoff_base,
        max_wait=max_wait,
        cache_dir=cache_dir or default_cache_dir(obj.store_url),
        max_age=max_age * 3600,
        resume=resume,
    )
    with obj.open() as store:
        report = do_fetch(store, options, depth=depth, languages=_languages(langs), properties=properties,
                          follow=follow, batch_size=batch_size, dry_run=dry_run)
    if report.dry_run:
        click.echo(f"{report.seeds} seed item(s), {report.batches} batch(es) for the seeds; first query:\n")
        click.echo(report.queries[0])
        return
    click.echo(f"loaded {report.triples} triples about {report.items} items ({report.seeds} seeds, depth {depth}) "
               f"from {endpoint} into the wikidata graph in {report.seconds:.1f}s: {report.batches} batches, "
               f"{report.sent} requests, {report.cached} from the cache, {report.resumed} from the checkpoint, "
               f"{report.retries} retries")


@wikidata.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--class", "classes", multiple=True, metavar="QID",
              help="Keep every item that is an instance or subclass of this class (repeatable), instead of the "
                   "store's items and their neighbourhood.")
@click.option("--depth", type=click.IntRange(0, 5), default=1, show_default=True,
              help="Hops from the seeds over the followed properties (one more pass over the dumps each).")
@click.option("--lang", "langs", multiple=True, metavar="CODE",
              help="Language of labels and descriptions (repeatable or comma-separated; '*' for all; default en).")
@click.option("--property", "props", multiple=True, metavar="PID", help="Property to keep (repeatable; default: the table).")
@click.option("--all-properties", is_flag=True, help="Keep the truthy statements of every property.")
@click.option("--follow", "follows", multiple=True, metavar="PID",
              help="Property to hop over (repeatable; default P178 P126 P127 P749 P463).")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes parsing and converting (decompression runs in its own process anyway).")
@click.option("--work-dir", type=click.Path(path_type=Path), default=None,
              help="Where the converted N-Triples are staged (default: next to the store, STORE.wikidata-cache).")
@click.pass_obj
def dump(obj: Ctx, files: tuple[Path, ...], classes: tuple[str, ...], depth: int, langs: tuple[str, ...],
         props: tuple[str, ...], all_properties: bool, follows: tuple[str, ...], jobs: int,
         work_dir: Path | None) -> None:
    """Load Wikidata JSON dumps (.json[.gz|.bz2]) or truthy N-Triples dumps (.nt[.gz|.bz2]).

    Constant memory whatever the size; a truncated or corrupt dump stops with the file and line,
    and the wikidata graph is left unchanged (exit 2)."""
    from partnergraph.loaders.wikidata import default_cache_dir
    from partnergraph.loaders.wikidata_common import DEFAULT_FOLLOW, DEFAULT_PROPERTIES, check_classes
    from partnergraph.loaders.wikidata_dump import load_dumps

    properties = None if all_properties else _properties(props, "--property", DEFAULT_PROPERTIES)
    follow = _properties(follows, "--follow", DEFAULT_FOLLOW)
    with obj.open() as store:
        report = load_dumps(store, files, classes=check_classes(classes), languages=_languages(langs),
                            properties=properties, follow=follow, depth=depth, jobs=jobs,
                            work_dir=work_dir or default_cache_dir(obj.store_url))
    click.echo(f"loaded {report.triples} triples ({report.kept} kept of {report.entities} entities read in "
               f"{report.passes} pass(es)) from {report.files} dump file(s) into the wikidata graph in "
               f"{report.seconds:.1f}s ({report.entities_per_second:,.0f} entities/s)")


@wikidata.command()
def properties() -> None:
    """The properties loaded by default, with their Wikidata ids (all verified)."""
    from partnergraph.loaders.wikidata_common import PROPERTIES

    for p in PROPERTIES:
        click.echo(f"{p.pid:<6} {p.label:<30} {p.datatype:<14} {'followed' if p.follow else ''}")
