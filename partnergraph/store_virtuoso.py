"""Start a private Virtuoso (Debian's ``virtuoso-opensource``) on 127.0.0.1, for tests and benchmarks.

The server gets its own ``virtuoso.ini`` and database in a temporary folder, free ports, and a
result-row limit high enough for whole-graph reads. Its SPARQL endpoint for queries is
``/sparql``; updates go to ``/sparql-auth`` as the ``dba`` user (HTTP Digest), which is how a
real deployment would give partnergraph write access without opening the public endpoint.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

INI = """\
[Database]
DatabaseFile = {d}/virtuoso.db
ErrorLogFile = {d}/virtuoso.log
LockFile = {d}/virtuoso.lck
TransactionFile = {d}/virtuoso.trx
xa_persistent_file = {d}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {d}/virtuoso-temp.db
TransactionFile = {d}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
CheckpointInterval = 60
CaseMode = 2
DirsAllowed = ., {d}
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {dirty}
MaxQueryMem = 2G
ThreadsPerQuery = 2
; one MOVE of a million triples is one transaction: its log image must fit (default 50 MB: SR325)
TransactionAfterImageLimit = 1500000000

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {d}
ServerThreads = 10
MaxClientConnections = 10
Charset = UTF-8

[SPARQL]
ResultSetMaxRows = 100000000
MaxQueryCostEstimationTime = 0
MaxQueryExecutionTime = 0
MaxSortedTopRows = 100000000
"""


def virtuoso_binary() -> str | None:
    """The path of virtuoso-t, or None when Virtuoso is not installed."""
    return shutil.which("virtuoso-t") or next(
        (p for p in ("/usr/bin/virtuoso-t", "/usr/local/bin/virtuoso-t") if os.access(p, os.X_OK)), None)


def _die_with_parent() -> None:
    """In the child: ask Linux to stop the server when the process that started it dies (a killed
    test run or benchmark must not leave a Virtuoso behind)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class VirtuosoServer:
    """A throw-away Virtuoso: ``with VirtuosoServer() as v: open_store(v.store_url)``.

    Credentials for updates (dba/dba, the fresh database's own) are handed over through the
    environment variables partnergraph reads (``v.env``), never through a URL."""

    def __init__(self, directory: str | Path | None = None, *, memory_mb: int = 1500) -> None:
        binary = virtuoso_binary()
        if binary is None:
            raise RuntimeError("virtuoso-t not found: apt-get install virtuoso-opensource")
        self.binary = binary
        self._own_dir = directory is None
        self.dir = Path(directory or tempfile.mkdtemp(prefix="pg-virtuoso-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.http_port = _free_port()
        self.sql_port = _free_port()
        buffers = max(10000, memory_mb * 1024 // 8 * 2 // 3)  # 8 KiB pages, 2/3 of the budget
        (self.dir / "virtuoso.ini").write_text(INI.format(d=self.dir, sql_port=self.sql_port, http_port=self.http_port,
                                                          buffers=buffers, dirty=buffers * 3 // 4))
        self.process: subprocess.Popen | None = None

    @property
    def query_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/sparql"

    @property
    def update_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/sparql-auth"

    @property
    def gsp_url(self) -> str:
        """Virtuoso's Graph Store Protocol endpoint for writers (HTTP Digest, as /sparql-auth)."""
        return f"http://127.0.0.1:{self.http_port}/sparql-graph-crud-auth"

    @property
    def store_url(self) -> str:
        return f"sparql:{self.query_url} {self.update_url}"

    @property
    def gsp_store_url(self) -> str:
        """The store URL that also loads graphs through the Graph Store Protocol."""
        return f"sparql:{self.query_url} {self.update_url} {self.gsp_url}"

    @property
    def env(self) -> dict[str, str]:
        return {"PARTNERGRAPH_SPARQL_USER": "dba", "PARTNERGRAPH_SPARQL_PASSWORD": "dba"}

    def start(self, timeout: float = 120) -> "VirtuosoServer":
        log = open(self.dir / "stdout.log", "wb")  # noqa: SIM115 - lives as long as the server
        self.process = subprocess.Popen([self.binary, "-f", "-c", str(self.dir / "virtuoso.ini")], cwd=self.dir,
                                        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                        preexec_fn=_die_with_parent)
        deadline = time.monotonic() + timeout
        probe = f"{self.query_url}?query=ASK%7B%7D"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"virtuoso-t exited with {self.process.returncode}: "
                                   + (self.dir / "virtuoso.log").read_text(errors="replace")[-800:])
            try:
                with urllib.request.urlopen(probe, timeout=2) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"Virtuoso did not answer on {self.query_url} within {timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None
        if self._own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "VirtuosoServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
