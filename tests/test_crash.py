"""Losing nothing on the embedded store: loads killed with SIGKILL, readers during a load.

Each kill is aimed at a named point of the write (PARTNERGRAPH_PAUSE_AT freezes the load there and
says so on stderr) or falls at a random moment; afterwards the store must open, readers must see
the previous graph exactly, the next writer must tidy up, and a load must never be half-visible."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import SMALL_WORLD, write

from partnergraph.ontology import CURATED_GRAPH
from partnergraph.store import STAGING_PREFIX, open_store

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
import generate  # noqa: E402

CLI = [sys.executable, "-m", "partnergraph"]


def make(path: Path, triples: int, seed: int) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        generate.generate(triples, f, seed=seed)
    return path


def curated(url: str, **kw) -> frozenset[str]:  # noqa: ANN003
    with open_store(url, **kw) as s:
        return frozenset(f"{a.n3()} {b.n3()} {c.n3()}" for a, b, c in s.graph_triples(CURATED_GRAPH))


@pytest.fixture(scope="module")
def versions(tmp_path_factory):
    """A store holding v1, saved as a pristine copy, and the file of v2 (bigger, other content)."""
    d = tmp_path_factory.mktemp("crash")
    v1, v2 = make(d / "v1.nt", 1500, 1), make(d / "v2.nt", 6000, 2)
    url = f"oxigraph:{d / 'pristine' / 'store'}"
    subprocess.run([*CLI, "--store", url, "load", str(v1)], check=True, capture_output=True, timeout=300)
    old = curated(url, read_only=True)
    env = dict(os.environ)
    subprocess.run([*CLI, "--store", f"oxigraph:{d / 'v2only' / 'store'}", "load", str(v2)], check=True,
                   capture_output=True, timeout=300, env=env)
    new = curated(f"oxigraph:{d / 'v2only' / 'store'}", read_only=True)
    assert old and new and old != new
    return d, v2, old, new


def fresh_copy(versions, tmp_path) -> str:
    import shutil

    d = versions[0]
    shutil.copytree(d / "pristine", tmp_path / "s", symlinks=True)
    return f"oxigraph:{tmp_path / 's' / 'store'}"


def start_load(url: str, v2: Path, pause_at: str | None = None) -> subprocess.Popen:
    env = dict(os.environ)
    if pause_at:
        env["PARTNERGRAPH_PAUSE_AT"] = pause_at
    return subprocess.Popen([*CLI, "--store", url, "load", str(v2)], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            env=env)


def wait_for_pause(proc: subprocess.Popen, point: str, timeout: float = 240) -> None:
    seen: list[str] = []

    def read() -> None:
        for line in proc.stderr:  # type: ignore[union-attr]
            seen.append(line.decode())
            if f"paused at {point}" in seen[-1]:
                return

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(timeout)
    assert any(f"paused at {point}" in s for s in seen), f"the load never reached {point}: {''.join(seen)[-500:]}"


def check_after_kill(url: str, old: frozenset, new: frozenset, expect_after_reopen: str) -> None:
    # Readers (read-only: the newest published snapshot) see the previous graph, exactly.
    assert curated(url, read_only=True) == old
    with open_store(url) as s:  # the next writer opens it fine and tidies up
        assert not any(str(g).startswith(STAGING_PREFIX) for g in s._all_graph_names())
        now = frozenset(f"{a.n3()} {b.n3()} {c.n3()}" for a, b, c in s.graph_triples(CURATED_GRAPH))
    assert now == (old if expect_after_reopen == "old" else new)
    assert curated(url, read_only=True) == now  # and publishes what it found
    snaps = Path(url.split(":", 1)[1] + ".snapshots")
    assert not [p for p in snaps.iterdir() if p.name.startswith("tmp-")], "a half-written snapshot was left"


@pytest.mark.parametrize("point, after", [
    ("base-snapshot-written", "old"),  # publishing the way back, before the primary is touched
    ("replace-cleared", "old"),   # the old graph removed from the primary, the new one not yet written
    ("replace-batch", "old"),     # in the middle of writing the new graph
    ("replace-written", "old"),   # everything written, the marker not yet removed
    ("before-publish", "new"),    # swapped (committed) but not yet published to readers
    ("snapshot-written", "new"),  # killed in the middle of publishing the snapshot
])
def test_load_killed_at_a_named_point(versions, tmp_path, point, after):
    _d, v2, old, new = versions
    url = fresh_copy(versions, tmp_path)
    proc = start_load(url, v2, point)
    try:
        wait_for_pause(proc, point)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(30)
    check_after_kill(url, old, new, after)


@pytest.mark.parametrize("delay", [0.3, 1.5, 4.0])
def test_load_killed_at_a_random_moment(versions, tmp_path, delay):
    _d, v2, old, new = versions
    url = fresh_copy(versions, tmp_path)
    proc = start_load(url, v2)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert curated(url, read_only=True) in (old, new)
    with open_store(url) as s:
        assert not any(str(g).startswith(STAGING_PREFIX) for g in s._all_graph_names())
    assert curated(url, read_only=True) in (old, new)


def test_readers_see_the_old_graph_or_the_new_never_a_mix(versions, tmp_path):
    """A reader in this process queries without pause while a load runs in another."""
    _d, v2, old, new = versions
    url = fresh_copy(versions, tmp_path)
    seen: list[int] = []
    with open_store(url, read_only=True) as reader:
        proc = start_load(url, v2)
        q = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{CURATED_GRAPH}> {{ ?s ?p ?o }} }}"
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            seen.append(int(reader.query(q).rows[0][0]))  # type: ignore[arg-type]
            if proc.poll() is not None:
                break
            time.sleep(0.05)
        assert proc.wait(60) == 0, proc.stderr.read().decode()  # type: ignore[union-attr]
        time.sleep(0.2)
        seen.append(int(reader.query(q).rows[0][0]))  # type: ignore[arg-type]
        final = frozenset(f"{a.n3()} {b.n3()} {c.n3()}" for a, b, c in reader.graph_triples(CURATED_GRAPH))
    assert set(seen) <= {len(old), len(new)}, set(seen)
    assert seen[0] == len(old) and seen[-1] == len(new) and final == new


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_web_app_keeps_answering_while_another_process_loads(tmp_path):
    url = f"oxigraph:{tmp_path / 'store'}"
    world = write(tmp_path, "world.ttl", SMALL_WORLD)
    subprocess.run([*CLI, "--store", url, "load", str(world)], check=True, capture_output=True, timeout=300)
    port = _free_port()
    server = subprocess.Popen([*CLI, "--store", url, "serve", "--port", str(port)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"

        def labels() -> set[str]:
            with urllib.request.urlopen(f"{base}/partners.json?all=1&as_of=2025-01-01", timeout=60) as r:
                return {row["label"] for row in json.loads(r.read())}

        deadline = time.monotonic() + 120
        while True:
            try:
                before = labels()
                break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()  # type: ignore[union-attr]
                assert time.monotonic() < deadline
                time.sleep(0.3)
        assert "Beta Corp" in before
        renamed = write(tmp_path, "world2.ttl", SMALL_WORLD.replace('"Beta Corp"@en', '"Beta Corporation"@en'))
        # The server holds the store, yet a load in another process runs, and the server keeps answering.
        load = subprocess.Popen([*CLI, "--store", url, "load", str(renamed)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        answers = []
        while load.poll() is None:
            answers.append(labels())
        out, err = load.communicate(timeout=120)
        assert load.returncode == 0, err.decode()
        after = labels()
        assert "Beta Corporation" in after and "Beta Corp" not in after
        assert all(("Beta Corp" in a) != ("Beta Corporation" in a) for a in answers)  # old or new, never both
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(10)
