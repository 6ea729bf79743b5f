"""``partnergraph serve``: the web app and the SPARQL endpoint under waitress (a production WSGI
server), with the endpoint's query workers, time limit and update token."""

from __future__ import annotations

import logging
import os
import sys

import click

from partnergraph.errors import UserError
from partnergraph.store import Store


def run_server(store: Store, host: str = "127.0.0.1", port: int = 8000, *, threads: int = 8, workers: int | None = None,
               query_timeout: float = 30.0, max_rows: int = 10_000, update_token: str | None = None,
               allow_service: bool = False, cache_mb: int = 64) -> None:
    """Serve until Ctrl-C (SIGINT) or SIGTERM; logs one line per SPARQL query with its duration."""
    import signal

    from waitress import create_server

    from partnergraph.webapp import close_app, create_app

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log = logging.getLogger("partnergraph.sparql")
    log.setLevel(logging.INFO)
    if not log.handlers:
        log.addHandler(handler)
    workers = workers if workers is not None else max(2, os.cpu_count() or 2)
    app = create_app(store, query_timeout=query_timeout, max_rows=max_rows, workers=workers,
                     update_token=update_token, allow_service=allow_service, cache_mb=cache_mb)
    try:
        server = create_server(app, host=host, port=port, threads=threads, ident="partnergraph")
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    from partnergraph.webapp.sparql import runner_for

    runner_for(app)  # start the query workers now, not on the first query
    where = f"http://{server.effective_host}:{server.effective_port}"
    click.echo(f"serving the web app on {where}/ and the SPARQL endpoint on {where}/sparql (Ctrl-C to stop)")
    click.echo(f"  {workers} query worker(s), time limit {query_timeout:g} s, at most {max_rows} rows, "
               f"{'updates with the bearer token' if update_token else 'read-only'}", err=True)
    def stop(*_: object) -> None:
        raise KeyboardInterrupt

    # Both signals stop the server, SIGINT included even when the process was started with it
    # ignored (a background job of a non-interactive shell inherits SIG_IGN, and Python then never
    # raises KeyboardInterrupt).
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run()
    except KeyboardInterrupt:
        click.echo("stopped")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        close_app(app)
        server.close()


@click.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256), help="HTTP worker threads.")
@click.option("--workers", default=None, type=click.IntRange(0, 64), metavar="N",
              help="Processes that evaluate /sparql queries (default: the number of cores, at least 2); "
                   "0 evaluates in the server process, where the time limit cannot be enforced.")
@click.option("--query-timeout", default=30.0, show_default=True, type=click.FloatRange(0.1, 86400), metavar="SECONDS",
              help="Time limit of one SPARQL query; past it the query is stopped and answered with 503.")
@click.option("--max-rows", default=10_000, show_default=True, type=click.IntRange(1), metavar="N",
              help="Result-row cap of one query (results past it are cut, with an X-Result-Truncated header).")
@click.option("--update-token", envvar="PARTNERGRAPH_UPDATE_TOKEN", default=None, metavar="TOKEN",
              help="Accept SPARQL Update with 'Authorization: Bearer TOKEN'. Prefer $PARTNERGRAPH_UPDATE_TOKEN: "
                   "a command line is visible to other users. Without it the endpoint is read-only.")
@click.option("--cache-mb", default=64, show_default=True, type=click.IntRange(0), metavar="MB",
              help="Memory for answers of repeated queries (dropped whenever the data changes); 0: no cache.")
@click.option("--allow-service", is_flag=True, help="Let queries use SERVICE (federation): the server then fetches other hosts.")
@click.pass_obj
def serve(obj, host: str, port: int, threads: int, workers: int | None, query_timeout: float, max_rows: int,  # noqa: ANN001
          update_token: str | None, allow_service: bool, cache_mb: int) -> None:
    """Serve the web app and the SPARQL endpoint (waitress, a production WSGI server) on HOST:PORT."""
    if update_token is not None and len(update_token) < 16:
        raise UserError("the update token must be at least 16 characters (e.g. python -c 'import secrets; print(secrets.token_urlsafe())')")
    with obj.open(shared=True) as store:  # loads in other processes may run while it serves
        run_server(store, host, port, threads=threads, workers=workers, query_timeout=query_timeout,
                   max_rows=max_rows, update_token=update_token, allow_service=allow_service, cache_mb=cache_mb)
