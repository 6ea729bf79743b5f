"""The CLI as a user meets it: help for every verb, the demo, exit codes."""

from __future__ import annotations

import pytest

from partnergraph.cli import main

VERBS = ["demo", "load", "validate", "rank", "explain", "goals", "query", "serve", "graphs", "principles"]


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_has_help(runner, verb):
    r = runner.invoke(main, [verb, "--help"])
    assert r.exit_code == 0 and "Usage:" in r.output


def test_demo_no_serve(runner, tmp_path):
    r = runner.invoke(main, ["--store", f"oxigraph:{tmp_path / 's'}", "demo", "--no-serve", "--as-of", "2025-06-30"])
    assert r.exit_code == 0, r.output
    assert "1. loaded the bundled Wikimedia dataset" in r.output
    assert "2. validated against the principles" in r.output
    assert "organization" in r.output and "QID" in r.output and "score" in r.output
    assert "4. goal progress: ongoing collaboration " in r.output
    r2 = runner.invoke(main, ["--store", f"oxigraph:{tmp_path / 's'}", "demo", "--no-serve", "--as-of", "2025-06-30"])
    same = lambda out: [line for line in out.splitlines() if not line.startswith("1. loaded")]
    assert r2.exit_code == 0 and same(r2.output) == same(r.output)  # re-running replaces, never duplicates


def test_store_from_environment(runner, tmp_path, monkeypatch, small_world):
    monkeypatch.setenv("PARTNERGRAPH_STORE", f"oxigraph:{tmp_path / 'env'}")
    assert runner.invoke(main, ["load", str(small_world)]).exit_code == 0
    assert (tmp_path / "env").exists()
    r = runner.invoke(main, ["graphs"])
    assert "graph/curated" in r.output


def test_bad_store_url_and_unknown_command(runner):
    r = runner.invoke(main, ["--store", "postgres://x", "rank"])
    assert r.exit_code == 2 and "unknown store URL" in r.output
    r = runner.invoke(main, ["frobnicate"])
    assert r.exit_code == 2


def test_reading_a_store_that_does_not_exist(runner, tmp_path):
    r = runner.invoke(main, ["--store", f"oxigraph:{tmp_path / 'none'}", "rank"])
    assert r.exit_code == 2 and "no store at" in r.output
