"""Load Wikidata into the wikidata graph from a live SPARQL endpoint (``partnergraph wikidata fetch``).

Seeds are the Wikidata items the store's other graphs name; the loader fetches their truthy
statements over the chosen properties (``wdt:``), their labels and descriptions in the chosen
languages, then hops over the followed properties up to ``depth`` times, and finally fetches
labels of every other item the statements point to (countries, licences, classes).

Only portable SPARQL 1.1 is sent (``VALUES`` blocks of items, ``UNION``, ``FILTER(LANG(…))``;
no ``SERVICE wikibase:label``), by POST so long ``VALUES`` blocks do not hit URL limits, so the
Wikidata Query Service, QLever, Virtuoso or a local mirror all answer the same query.

Good citizenship: a User-Agent per the Wikimedia policy with a contact; ``429`` honours
``Retry-After`` (seconds or an HTTP date); ``5xx``, time-outs and malformed answers back off
exponentially with jitter; after ``max_retries`` the fetch stops with a message saying how to
resume. Every answer is cached on disk (keyed by endpoint and query), and a checkpoint file lists
the batches done, so a re-run after a failure re-sends only what is missing. Everything is
collected into an N-Triples file and swapped into the graph in one step: a failed fetch leaves
the graph as it was.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import os
import random
import re
import socket
import time
import urllib.error
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import orjson

from partnergraph import __version__
from partnergraph.errors import UserError
from partnergraph.loaders.wikidata_common import (
    DEFAULT_FOLLOW,
    DEFAULT_LANGUAGES,
    DEFAULT_PROPERTIES,
    RDFS_LABEL,
    SCHEMA_DESCRIPTION,
    WD_ENTITY,
    WDT,
    Progress,
    check_nt_integrity,
    load_nt,
    nt_iri,
    nt_literal,
    seed_items,
    temp_path,
    valid_lang,
)
from partnergraph.ontology import WIKIDATA_GRAPH

_QID_IRI = re.compile(r"^http://www\.wikidata\.org/entity/Q[1-9][0-9]*$")
DEFAULT_ENDPOINT = "https://query.wikidata.org/sparql"
#: Contact put in the User-Agent unless PARTNERGRAPH_CONTACT or --contact says otherwise.
DEFAULT_CONTACT = "https://w3id.org/partnergraph/"


class FetchAborted(UserError):
    """The endpoint kept failing: the fetch stopped, the graph is unchanged, a re-run resumes."""


def user_agent(contact: str | None = None) -> str:
    """``partnergraph/<version> (<contact>) SPARQLWrapper/<version>``, as the Wikimedia
    User-Agent policy asks: a tool name and version, a way to reach the operator, the library."""
    import SPARQLWrapper

    contact = contact or os.environ.get("PARTNERGRAPH_CONTACT") or DEFAULT_CONTACT
    contact = " ".join(contact.split())  # no line breaks in a header
    return f"partnergraph/{__version__} ({contact}) SPARQLWrapper/{SPARQLWrapper.__version__}"


def default_cache_dir(store_url: str | None) -> Path:
    """Next to an on-disk store (``PATH.wikidata-cache``), else under the user's cache directory."""
    if os.environ.get("PARTNERGRAPH_CACHE"):
        return Path(os.environ["PARTNERGRAPH_CACHE"])
    from partnergraph.store import DEFAULT_STORE_URL

    url = store_url or os.environ.get("PARTNERGRAPH_STORE") or DEFAULT_STORE_URL
    scheme, _, rest = url.partition(":")
    if scheme == "oxigraph" and rest:
        return Path(rest + ".wikidata-cache")
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "partnergraph" / "wikidata"


# ---------------------------------------------------------------------- the query


def build_query(qids: Iterable[str], properties: Iterable[str], languages: Iterable[str]) -> str:
    """One batch: the truthy statements of ``qids`` over ``properties`` plus their labels and
    descriptions in ``languages`` (``*``: all). Portable SPARQL 1.1, full IRIs via PREFIX."""
    items = " ".join(f"wd:{q}" for q in qids)
    props = " ".join(f"wdt:{p}" for p in properties)
    langs = tuple(languages)
    parts = []
    if props:
        parts.append(f"{{ VALUES ?p {{ {props} }} ?item ?p ?o . }}")
    if langs:
        lang_filter = "" if langs == ("*",) else " FILTER(LANG(?o) IN (" + ", ".join(f'"{lang}"' for lang in langs) + "))"
        parts.append(f"{{ ?item rdfs:label ?o . BIND(rdfs:label AS ?p){lang_filter} }}")
        parts.append(f"{{ ?item schema:description ?o . BIND(schema:description AS ?p){lang_filter} }}")
    return (
        f"PREFIX wd: <{WD_ENTITY}>\nPREFIX wdt: <{WDT}>\n"
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\nPREFIX schema: <http://schema.org/>\n"
        f"SELECT ?item ?p ?o WHERE {{\n  VALUES ?item {{ {items} }}\n  "
        + "\n  UNION\n  ".join(parts)
        + "\n}"
    )


def _term(binding: dict, item: str, pid: str) -> str | None:
    """A SPARQL JSON result term as N-Triples (blank nodes, e.g. unknown values, are skolemised
    per item and property so that they stay distinct and stable)."""
    kind = binding.get("type")
    value = binding.get("value")
    if not isinstance(value, str):
        return None
    if kind == "uri":
        return nt_iri(value)
    if kind == "bnode":
        digest = hashlib.sha1(f"{item} {pid} {value}".encode()).hexdigest()
        return f"<http://www.wikidata.org/.well-known/genid/{digest}>"
    if kind in ("literal", "typed-literal"):
        lang = binding.get("xml:lang")
        if lang:
            return nt_literal(value, lang=lang.lower()) if valid_lang(lang) else None
        datatype = binding.get("datatype")
        return nt_literal(value, datatype=datatype if datatype and "://" in datatype else None)
    return None


def rows_to_nt(answer: dict, wanted: set[str]) -> tuple[list[str], set[tuple[str, str]]]:
    """N-Triples lines from a SPARQL JSON answer, and the items its statements point to as
    (property id, QID) pairs. Rows for predicates not asked for (a misbehaving endpoint) are dropped."""
    lines: list[str] = []
    objects: set[tuple[str, str]] = set()
    try:
        bindings = answer["results"]["bindings"]
    except (KeyError, TypeError):
        raise ValueError("not a SPARQL JSON result (no results.bindings)") from None
    for row in bindings:
        try:
            s, p, o = row["item"], row["p"], row["o"]
        except (KeyError, TypeError):
            continue
        if s.get("type") != "uri" or p.get("type") != "uri" or p.get("value") not in wanted:
            continue
        item = s["value"]
        pred = p["value"]
        obj = _term(o, item, pred)
        if obj is None:
            continue
        lines.append(f"{nt_iri(item)} <{pred}> {obj} .\n")
        if pred.startswith(WDT) and o.get("type") == "uri" and _QID_IRI.match(o["value"]):
            objects.add((pred[len(WDT):], o["value"][len(WD_ENTITY):]))
    return lines, objects


# ---------------------------------------------------------------------- HTTP with retries and a cache


class _Retryable(Exception):
    def __init__(self, message: str, wait: float | None = None) -> None:
        super().__init__(message)
        self.wait = wait


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds to wait: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


@dataclass
class FetchOptions:
    """How to talk to the endpoint; the defaults suit the Wikidata Query Service."""

    endpoint: str = DEFAULT_ENDPOINT
    user_agent: str = field(default_factory=user_agent)
    timeout: float = 60.0
    max_retries: int = 5
    backoff_base: float = 2.0
    max_wait: float = 300.0
    cache_dir: Path = Path(".")
    max_age: float = 24 * 3600.0  # seconds a cached answer is reused without --resume
    resume: bool = True


class Client:
    """Sends queries through SPARQLWrapper, with the retry policy, the cache and the checkpoint."""

    def __init__(self, options: FetchOptions, run_key: str, sleep: Callable[[float], None] = time.sleep) -> None:
        self.o = options
        self.sleep = sleep
        self.cache = options.cache_dir / "responses"
        self.cache.mkdir(parents=True, exist_ok=True)
        self.checkpoint_path = options.cache_dir / "checkpoint.json"
        self.run_key = run_key
        self.done: set[str] = set()
        if options.resume and self.checkpoint_path.exists():
            try:
                state = json.loads(self.checkpoint_path.read_text(encoding="utf-8"))
                if state.get("run") == run_key:
                    self.done = set(state.get("done", []))
            except (OSError, ValueError):
                self.done = set()
        self.resumed = len(self.done)
        self.stats = {"sent": 0, "cached": 0, "resumed": 0, "retries": 0}

    def _key(self, query: str) -> str:
        return hashlib.sha256(f"{self.o.endpoint}\n{query}".encode()).hexdigest()

    def _save_checkpoint(self) -> None:
        tmp = self.checkpoint_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"run": self.run_key, "endpoint": self.o.endpoint, "done": sorted(self.done)}),
                       encoding="utf-8")
        os.replace(tmp, self.checkpoint_path)

    def clear_checkpoint(self) -> None:
        self.checkpoint_path.unlink(missing_ok=True)

    def run(self, query: str) -> dict:
        """The parsed JSON answer to ``query``: from the checkpoint or the cache when it can,
        else from the endpoint."""
        key = self._key(query)
        path = self.cache / f"{key}.json"
        if path.exists():
            fresh = time.time() - path.stat().st_mtime < self.o.max_age
            if key in self.done or fresh:
                try:
                    answer = orjson.loads(path.read_bytes())
                    self.stats["resumed" if key in self.done else "cached"] += 1
                    return answer
                except orjson.JSONDecodeError:
                    path.unlink(missing_ok=True)  # a damaged cache entry: ask again
        raw, answer = self._fetch(query)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(raw)
        os.replace(tmp, path)
        self.done.add(key)
        self._save_checkpoint()
        return answer

    def _fetch(self, query: str) -> tuple[bytes, dict]:
        last = ""
        for attempt in range(self.o.max_retries + 1):
            if attempt:
                self.stats["retries"] += 1
            try:
                self.stats["sent"] += 1
                raw = self._send(query)
                try:
                    answer = orjson.loads(raw)
                except orjson.JSONDecodeError as exc:
                    raise _Retryable(f"the answer was not valid JSON ({exc})") from None
                if not isinstance(answer, dict) or "results" not in answer:
                    raise _Retryable("the answer was JSON but not a SPARQL result")
                return raw, answer
            except _Retryable as exc:
                last = str(exc)
                if attempt == self.o.max_retries:
                    break
                wait = exc.wait
                if wait is not None and wait > self.o.max_wait:
                    raise FetchAborted(
                        f"{self.o.endpoint} asks to wait {wait:.0f}s (Retry-After), more than --max-wait "
                        f"{self.o.max_wait:.0f}s; {self._resume_hint()}") from None
                if wait is None:
                    # Exponential backoff with jitter: base·2^attempt, scaled by a random 0.5–1.
                    wait = min(self.o.backoff_base * (2 ** attempt), self.o.max_wait) * random.uniform(0.5, 1.0)
                self.sleep(wait)
        raise FetchAborted(
            f"gave up on {self.o.endpoint} after {self.o.max_retries + 1} attempts (last: {last}); "
            f"{self._resume_hint()}")

    def _resume_hint(self) -> str:
        return (f"the wikidata graph is unchanged; {len(self.done)} batch(es) done are checkpointed in "
                f"{self.o.cache_dir}: run the same command again to resume (--no-resume starts over)")

    def _send(self, query: str) -> bytes:
        from SPARQLWrapper import JSON, POST, SPARQLWrapper
        from SPARQLWrapper.SPARQLExceptions import (
            EndPointInternalError,
            EndPointNotFound,
            QueryBadFormed,
            Unauthorized,
            URITooLong,
        )

        sw = SPARQLWrapper(self.o.endpoint, agent=self.o.user_agent)
        sw.setMethod(POST)
        sw.setReturnFormat(JSON)
        sw.setTimeout(max(1, int(self.o.timeout)))
        sw.timeout = self.o.timeout  # type: ignore[assignment]  # setTimeout truncates to whole seconds
        sw.setQuery(query)
        try:
            response = sw.query().response
            return response.read()
        except EndPointInternalError as exc:
            raise _Retryable(f"HTTP 500 ({_short(exc)})") from None
        except QueryBadFormed as exc:
            raise UserError(f"{self.o.endpoint} rejected the query as malformed: {_short(exc)}") from None
        except URITooLong:
            raise UserError(f"{self.o.endpoint} says the request is too long: use a smaller --batch-size") from None
        except (EndPointNotFound, Unauthorized) as exc:
            raise UserError(f"{self.o.endpoint}: {_short(exc)}") from None
        except urllib.error.HTTPError as exc:
            if exc.code == 429:
                wait = retry_after_seconds(exc.headers.get("Retry-After") if exc.headers else None)
                raise _Retryable("HTTP 429 Too Many Requests", wait if wait is not None else None) from None
            if exc.code >= 500 or exc.code == 408:
                wait = retry_after_seconds(exc.headers.get("Retry-After") if exc.headers else None)
                raise _Retryable(f"HTTP {exc.code} {exc.reason}", wait) from None
            raise UserError(f"{self.o.endpoint} answered HTTP {exc.code} {exc.reason}") from None
        except (TimeoutError, socket.timeout):
            raise _Retryable(f"no answer within {self.o.timeout:g}s (--timeout)") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                raise _Retryable(f"no answer within {self.o.timeout:g}s (--timeout)") from None
            raise _Retryable(f"cannot reach the endpoint ({exc.reason})") from None
        except (ConnectionError, OSError) as exc:
            raise _Retryable(f"connection failed ({exc})") from None
        except ValueError as exc:  # SPARQLWrapper rejects a malformed endpoint URL this way
            raise UserError(f"bad endpoint {self.o.endpoint!r}: {exc}") from None


def _short(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + "…"


# ---------------------------------------------------------------------- the fetch


@dataclass
class FetchReport:
    """What a fetch did."""

    seeds: int
    items: int
    triples: int
    batches: int
    sent: int
    cached: int
    resumed: int
    retries: int
    seconds: float
    dry_run: bool = False
    queries: list[str] = field(default_factory=list)


def fetch(
    store,  # noqa: ANN001
    options: FetchOptions,
    *,
    depth: int = 1,
    languages: Iterable[str] = DEFAULT_LANGUAGES,
    properties: Iterable[str] = DEFAULT_PROPERTIES,
    follow: Iterable[str] = DEFAULT_FOLLOW,
    batch_size: int = 200,
    seeds: Iterable[str] | None = None,
    dry_run: bool = False,
    progress: bool | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchReport:
    """Fetch the seeds' neighbourhood from the endpoint into the wikidata graph, atomically."""
    started = time.perf_counter()
    properties = tuple(properties)
    follow = tuple(p for p in follow if p in properties)
    languages = tuple(languages)
    seed_list = sorted(set(seeds), key=lambda q: int(q[1:])) if seeds is not None else seed_items(store)
    if not seed_list:
        raise UserError("the store names no Wikidata items (wd:Q…) outside the wikidata graph: load data first "
                        "(partnergraph load, or partnergraph demo)")
    if batch_size < 1:
        raise UserError("--batch-size must be at least 1")
    run_key = hashlib.sha256(json.dumps(
        [options.endpoint, seed_list, properties, follow, languages, depth, batch_size]).encode()).hexdigest()
    wanted = {WDT + p for p in properties} | {RDFS_LABEL, SCHEMA_DESCRIPTION}
    follow_set = set(follow)

    if dry_run:
        queries = [build_query(seed_list[i:i + batch_size], properties, languages)
                   for i in range(0, len(seed_list), batch_size)]
        return FetchReport(len(seed_list), len(seed_list), 0, len(queries), 0, 0, 0, 0,
                           time.perf_counter() - started, dry_run=True, queries=queries)

    client = Client(options, run_key, sleep=sleep)
    out_path = temp_path(options.cache_dir, "fetch-")
    triples = batches = 0
    seen: set[str] = set()
    pointed: set[str] = set()
    try:
        with open(out_path, "w", encoding="utf-8") as out:
            frontier = seed_list
            hop = 0
            while frontier:
                seen.update(frontier)
                label = "seeds" if hop == 0 else f"hop {hop}"
                found: set[str] = set()
                bar = Progress(f"wikidata fetch {label}", total=-(-len(frontier) // batch_size), enabled=progress)
                for i in range(0, len(frontier), batch_size):
                    batch = frontier[i:i + batch_size]
                    answer = client.run(build_query(batch, properties, languages))
                    lines, objects = rows_to_nt(answer, wanted)
                    out.writelines(lines)
                    triples += len(lines)
                    batches += 1
                    for pid, qid in objects:
                        pointed.add(qid)
                        if hop < depth and pid in follow_set:
                            found.add(qid)
                    bar.update(1)
                bar.close()
                hop += 1
                frontier = sorted(found - seen, key=lambda q: int(q[1:])) if hop <= depth else []
            # Labels (and descriptions) of everything else the statements point to.
            rest = sorted(pointed - seen, key=lambda q: int(q[1:]))
            if rest and languages:
                bar = Progress("wikidata fetch labels", total=-(-len(rest) // batch_size), enabled=progress)
                for i in range(0, len(rest), batch_size):
                    answer = client.run(build_query(rest[i:i + batch_size], (), languages))
                    lines, _ = rows_to_nt(answer, {RDFS_LABEL, SCHEMA_DESCRIPTION})
                    out.writelines(lines)
                    triples += len(lines)
                    batches += 1
                    bar.update(1)
                bar.close()
        check_nt_integrity(out_path)
        load_nt(store, out_path, WIKIDATA_GRAPH)
        client.clear_checkpoint()
    finally:
        out_path.unlink(missing_ok=True)
    s = client.stats
    return FetchReport(len(seed_list), len(seen), triples, batches, s["sent"], s["cached"], s["resumed"], s["retries"],
                       time.perf_counter() - started)
