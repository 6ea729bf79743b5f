"""``partnergraph serve``: the web app and the SPARQL endpoint under a production HTTP server, with
the endpoint's query workers, time limit and update token.

Two servers:

- granian (the default): HTTP in Rust, the WSGI app called from a pool of Python threads in each
  of ``--processes`` web processes that share the listening socket. Each web process opens the
  store itself (by its URL), builds the app and its own query workers; an update through any of
  them bumps a counter in shared memory, so that every process drops its cached answers at once,
  and a lock they share makes each update's integrity check and write one step.
- waitress (``--server waitress``, and for a store that lives only in this process's memory):
  one process, HTTP in Python. Its single I/O thread bounds the endpoint at a few thousand
  small answers a second on two cores, which is why granian is the default.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from typing import Any

import click

from partnergraph.errors import UserError
from partnergraph.store import Store

SERVERS = ("granian", "waitress")


def _log_queries() -> None:
    """One line per SPARQL query on stderr (the endpoint logs to ``partnergraph.sparql``)."""
    log = logging.getLogger("partnergraph.sparql")
    log.setLevel(logging.INFO)
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        # the process id tells which web process answered (granian runs several)
        handler.setFormatter(logging.Formatter("%(asctime)s [%(process)d] %(message)s"))
        log.addHandler(handler)
        log.propagate = False


def _servable_by_url(store: Store) -> bool:
    """Whether another process can open the same data from ``store.url`` (not a memory store)."""
    url = getattr(store, "url", "") or ""
    return not (url.startswith("memory:") or url == "oxigraph:")


def default_processes() -> int:
    """Web processes by default: one per core, at most 4 (past that the query workers are the bound)."""
    return max(1, min(4, os.cpu_count() or 1))


def run_server(store: Store, host: str = "127.0.0.1", port: int = 8000, *, threads: int = 16, workers: int | None = None,
               query_timeout: float = 30.0, max_rows: int = 10_000, update_token: str | None = None,
               allow_service: bool = False, cache_mb: int = 64, server: str = "granian",
               processes: int | None = None, warm: bool = True) -> None:
    """Serve until Ctrl-C (SIGINT) or SIGTERM; logs one line per SPARQL query with its duration.

    ``threads``: Python threads answering requests (per web process); ``workers``: query worker
    processes (per web process; default: the cores shared among the web processes, at least 2, so
    that one query running into its time limit never leaves a web process without a worker);
    ``processes``: web processes (granian; default one per core, at most 4)."""
    if server not in SERVERS:
        raise UserError(f"unknown server {server!r}: use one of {', '.join(SERVERS)}")
    _log_queries()
    if server == "granian" and not _servable_by_url(store):
        click.echo("  (a store in this process's memory: served by waitress in this process)", err=True)
        server = "waitress"
    if processes is None:
        processes = default_processes() if server == "granian" else 1
    workers = workers if workers is not None else max(2, (os.cpu_count() or 2) // processes)
    settings = {"query_timeout": query_timeout, "max_rows": max_rows, "workers": workers, "update_token": update_token,
                "allow_service": allow_service, "cache_mb": cache_mb, "warm": warm}
    if server == "granian":
        _run_granian(store, host, port, threads=threads, processes=processes, settings=settings)
    else:
        if processes != 1:
            raise UserError("--processes needs --server granian (waitress serves from one process)")
        _run_waitress(store, host, port, threads=threads, settings=settings)


def _banner(where: str, settings: dict[str, Any], what: str) -> None:
    click.echo(f"serving the web app on {where}/ and the SPARQL endpoint on {where}/sparql (Ctrl-C to stop)")
    click.echo(f"  {what}; {settings['workers']} query worker(s), time limit {settings['query_timeout']:g} s, at most "
               f"{settings['max_rows']} rows, {'updates with the bearer token' if settings['update_token'] else 'read-only'}",
               err=True)


def _run_waitress(store: Store, host: str, port: int, *, threads: int, settings: dict[str, Any]) -> None:
    import signal

    from waitress import create_server

    from partnergraph.webapp import close_app, create_app
    from partnergraph.webapp.sparql import runner_for

    app = create_app(store, **settings)
    try:
        server = create_server(app, host=host, port=port, threads=threads, ident="partnergraph")
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    runner_for(app)  # start the query workers now, not on the first query
    _banner(f"http://{server.effective_host}:{server.effective_port}", settings, f"waitress, {threads} thread(s)")

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


def web_process_app(config: dict[str, Any], epoch: Any):  # noqa: ANN201
    """The WSGI app of one granian web process (called in that process): its own store handle,
    its own query workers, the shared write counter. Module-level, so that a spawned process can
    find it by name."""
    from multiprocessing import util

    from partnergraph.store import open_store
    from partnergraph.webapp import close_app, create_app
    from partnergraph.webapp.sparql import runner_for

    _log_queries()
    store = open_store(config["store_url"], shared=True)
    app = create_app(store, epoch=epoch, **config["settings"])
    runner_for(app)  # the query workers start with the process, not on its first query

    def close() -> None:
        close_app(app)
        store.close()

    # A multiprocessing child leaves by os._exit: atexit never runs there, its finalizers do.
    util.Finalize(None, close, exitpriority=50)
    return app


def _run_granian(store: Store, host: str, port: int, *, threads: int, processes: int, settings: dict[str, Any]) -> None:
    import multiprocessing as mp

    try:
        from granian.constants import HTTPModes, Interfaces
        from granian.log import LogLevels
        from granian.server import Server
    except ImportError as exc:  # an install without it: say what to do instead of a traceback
        raise UserError(f"granian is not installed ({exc}): pip install granian, or use --server waitress") from exc

    # granian binds an IP address: resolve a name (localhost) here, IPv4 first as waitress does.
    # Refuse a busy port here too, with the usual message (granian would log and exit), and name
    # a real port when asked for any (0).
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UserError(f"cannot listen on {host}:{port}: {getattr(exc, 'strerror', None) or exc}") from exc
    family, _, _, _, sockaddr = next((f for f in found if f[0] == socket.AF_INET), found[0])
    address = sockaddr[0]
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(sockaddr)
        except OSError as exc:
            raise UserError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        port = probe.getsockname()[1]
    if hasattr(store, "flush"):
        store.flush()  # the web processes open the store themselves: everything written is on disk
    # Granian starts its web processes with the default start method. Not fork: this process
    # already runs threads (pyoxigraph's), and a forked child blocked for good on a lock one of
    # them held. Spawned, each web process starts clean (a second or so) and inherits the shared
    # counter and update lock, made in the same context.
    mp.set_start_method("spawn", force=True)
    from partnergraph.webapp.sparql import SharedEpoch

    epoch = SharedEpoch(mp.get_context("spawn"))
    config = {"store_url": store.url, "settings": settings}
    stderr_logs = {"version": 1, "disable_existing_loggers": False,
                   "formatters": {"generic": {"()": "logging.Formatter", "fmt": "%(asctime)s granian: %(message)s"}},
                   "handlers": {"console": {"formatter": "generic", "class": "logging.StreamHandler",
                                            "stream": "ext://sys.stderr"}},
                   "loggers": {"_granian": {"handlers": ["console"], "level": "ERROR", "propagate": False}}}
    server = Server("partnergraph.serve:web_process_app", address=address, port=port, interface=Interfaces.WSGI,
                    workers=processes, blocking_threads=threads, http=HTTPModes.http1, websockets=False,
                    log_level=LogLevels.error, log_dictconfig=stderr_logs, log_access=False,
                    respawn_failed_workers=True, workers_kill_timeout=30)
    shown = f"[{host}]" if ":" in host else host
    _banner(f"http://{shown}:{port}", settings,
            f"granian, {processes} web process(es) × {threads} thread(s)")
    from functools import partial

    try:
        server.serve(target_loader=partial(web_process_app, config, epoch), wrap_loader=False)
    except SystemExit as exc:
        if exc.code:
            raise UserError("the web server stopped: a web process could not start (see the messages above)") from exc
    click.echo("stopped")


@click.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--server", "server_name", default="granian", show_default=True, type=click.Choice(SERVERS),
              help="HTTP server: granian (HTTP in Rust, several web processes) or waitress (one process, pure Python).")
@click.option("--processes", default=None, type=click.IntRange(1, 64), metavar="N",
              help="Web processes sharing the port (granian; default: one per core, at most 4); each has its own "
                   "threads, query workers and answer cache.")
@click.option("--threads", default=16, show_default=True, type=click.IntRange(1, 256),
              help="Python threads answering requests (per web process).")
@click.option("--workers", default=None, type=click.IntRange(0, 64), metavar="N",
              help="Processes that evaluate /sparql queries, per web process (default: the cores shared among the web "
                   "processes, at least 2); "
                   "0 evaluates in the web process, where the time limit cannot be enforced.")
@click.option("--query-timeout", default=30.0, show_default=True, type=click.FloatRange(0.1, 86400), metavar="SECONDS",
              help="Time limit of one SPARQL query; past it the query is stopped and answered with 503.")
@click.option("--max-rows", default=10_000, show_default=True, type=click.IntRange(1), metavar="N",
              help="Result-row cap of one query (results past it are cut, with an X-Result-Truncated header).")
@click.option("--update-token", envvar="PARTNERGRAPH_UPDATE_TOKEN", default=None, metavar="TOKEN",
              help="Accept SPARQL Update with 'Authorization: Bearer TOKEN'. Prefer $PARTNERGRAPH_UPDATE_TOKEN: "
                   "a command line is visible to other users. Without it the endpoint is read-only.")
@click.option("--cache-mb", default=64, show_default=True, type=click.IntRange(0), metavar="MB",
              help="Memory for answers of repeated queries, per web process (dropped whenever the data changes); 0: no cache.")
@click.option("--allow-service", is_flag=True, help="Let queries use SERVICE (federation): the server then fetches other hosts.")
@click.option("--warm/--no-warm", default=True, show_default=True,
              help="Derive the ranking and goal progress in the background after every change of the data (and each "
                   "day), so that pages do not compute them on a visitor's request.")
@click.pass_obj
def serve(obj, host: str, port: int, server_name: str, processes: int | None, threads: int, workers: int | None,  # noqa: ANN001
          query_timeout: float, max_rows: int, update_token: str | None, allow_service: bool, cache_mb: int,
          warm: bool) -> None:
    """Serve the web app and the SPARQL endpoint (granian, a production HTTP server) on HOST:PORT."""
    if update_token is not None and len(update_token) < 16:
        raise UserError("the update token must be at least 16 characters (e.g. python -c 'import secrets; print(secrets.token_urlsafe())')")
    with obj.open(shared=True) as store:  # loads in other processes may run while it serves
        run_server(store, host, port, threads=threads, workers=workers, query_timeout=query_timeout,
                   max_rows=max_rows, update_token=update_token, allow_service=allow_service, cache_mb=cache_mb,
                   server=server_name, processes=processes, warm=warm)
