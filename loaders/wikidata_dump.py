"""Load Wikidata dumps into the wikidata graph (``partnergraph wikidata dump FILE…``).

Reads the JSON dumps (``.json``, ``.json.gz``, ``.json.bz2``: an array with one entity per line)
and the truthy N-Triples dumps (``.nt``, ``.nt.gz``, ``.nt.bz2``) in constant memory: the file is
decompressed by a separate process (``lbzip2``/``pigz`` when installed — both cores —, else a
Python child process), read in blocks of whole lines, and each block is filtered and converted by
this process or by a pool of ``jobs`` workers, with a bounded number of blocks in flight.

Which entities: either the items the store names and their neighbourhood over the followed
properties — **multi-pass**: pass 0 keeps the seeds and collects the items their followed
statements point to, pass k keeps those, up to ``depth`` (a dump is read ``depth + 1`` times; the
only state kept between passes is the set of item ids) — or every item that is an instance or
subclass of a ``--class`` (best-rank P31/P279, one pass over JSON; N-Triples take two: one finds
the subjects, one keeps their triples).

Conversion follows Wikidata's own truthy RDF (``wdt:``): best rank only (preferred if any, else
normal; deprecated never); ``somevalue`` becomes a skolem IRI under
``http://www.wikidata.org/.well-known/genid/`` as WDQS does; ``novalue`` becomes
``wd:Q rdf:type wdno:P`` as in Wikidata's RDF; items → ``wd:`` IRIs; url → IRI; string and
external-id → plain literals; time → ``xsd:dateTime`` (precision second), ``xsd:date`` (day;
Julian dates converted to the Gregorian calendar like Wikidata's export), ``xsd:gYearMonth``
(month), ``xsd:gYear`` (year and coarser); quantity → ``xsd:decimal``; monolingualtext → a
language-tagged literal; globecoordinate → ``geo:wktLiteral`` ``Point(lon lat)``. Labels become
``rdfs:label`` and descriptions ``schema:description`` in the chosen languages.

Lines that a pre-filter rules out are not parsed (that is most of the speed), but each is checked
to be framed as one entity (``{…}``), and the array must close: a truncated or corrupt dump stops
with the file and line (and, for a broken compressed stream, what the decompressor said), and the
graph is left as it was.
"""

from __future__ import annotations

import collections
import hashlib
import multiprocessing
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterable, Iterator

import orjson

from partnergraph.errors import UserError
from partnergraph.loaders.wikidata_common import (
    DEFAULT_FOLLOW,
    DEFAULT_LANGUAGES,
    DEFAULT_PROPERTIES,
    GENID,
    GEO_WKT,
    PROPERTY_BY_ID,
    RDF_TYPE,
    RDFS_LABEL,
    SCHEMA_DESCRIPTION,
    WD_ENTITY,
    WDNO,
    WDT,
    XSD,
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

BLOCK = 4 << 20  # bytes of whole lines per block
JULIAN = "http://www.wikidata.org/entity/Q1985786"
EARTH = "http://www.wikidata.org/entity/Q2"


# ---------------------------------------------------------------------- files and decompression


def dump_kind(path: Path) -> tuple[str, str | None]:
    """('json'|'nt', None|'gz'|'bz2') from the file name."""
    name = path.name.lower()
    compression = None
    for suffix, comp in ((".gz", "gz"), (".bz2", "bz2")):
        if name.endswith(suffix):
            name, compression = name[: -len(suffix)], comp
    if name.endswith(".json"):
        return "json", compression
    if name.endswith(".nt"):
        return "nt", compression
    raise UserError(f"{path}: not a Wikidata dump by its name (expected .json, .nt, optionally .gz or .bz2)")


def _external_tool(compression: str) -> list[str] | None:
    """A parallel decompressor from Debian (lbzip2, pbzip2, pigz) when installed."""
    if os.environ.get("PARTNERGRAPH_NO_EXTERNAL_DECOMPRESSOR"):
        return None
    candidates = {"bz2": [["lbzip2", "-d", "-c"], ["pbzip2", "-d", "-c"]], "gz": [["pigz", "-d", "-c"]]}[compression]
    for cmd in candidates:
        if shutil.which(cmd[0]):
            return cmd
    return None


class Source:
    """The decompressed bytes of one dump file, produced by a child process when compressed."""

    def __init__(self, path: Path, compression: str | None, external: bool = True) -> None:
        self.path = path
        self.proc: subprocess.Popen | None = None
        self.tool = "python"
        if compression is None:
            self.stream: IO[bytes] = open(path, "rb")
            return
        cmd = _external_tool(compression) if external else None
        if cmd:
            self.tool = cmd[0]
            argv = cmd + [str(path)]
        else:
            argv = [sys.executable, "-m", "partnergraph.loaders.wikidata_dump", "--decompress", compression, str(path)]
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        self.stream = self.proc.stdout  # type: ignore[assignment]
        try:  # a 1 MiB pipe instead of 64 KiB: fewer wake-ups of both processes
            import fcntl

            fcntl.fcntl(self.stream.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), 1 << 20)
        except (ImportError, OSError):
            pass

    def blocks(self, size: int | None = None) -> Iterator[tuple[int, bytes]]:
        """(number of the block's first line, block of whole lines); the last may lack a newline."""
        size = size or BLOCK
        line = 1
        rest = b""
        read = self.stream.read
        while True:
            data = read(size)
            if not data:
                break
            data = rest + data
            cut = data.rfind(b"\n")
            if cut < 0:
                rest = data
                continue
            block, rest = data[: cut + 1], data[cut + 1:]
            yield line, block
            line += block.count(b"\n")
        self.finish(line)
        if rest:
            yield line, rest

    def finish(self, line: int) -> None:
        """Raise a clear error when the decompressor failed (corrupt or truncated stream)."""
        if self.proc is None:
            return
        self.proc.wait()
        err = (self.proc.stderr.read() if self.proc.stderr else b"").decode("utf-8", "replace").strip()
        if self.proc.returncode != 0:
            detail = err.splitlines()[-1] if err else f"exit status {self.proc.returncode}"
            raise UserError(f"{self.path}: the compressed stream is corrupt or truncated near decompressed line "
                            f"{line} ({self.tool}: {detail}); nothing was loaded")

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for s in (self.stream, self.proc.stderr if self.proc else None):
            if s is not None:
                s.close()


def _decompress_main(compression: str, path: str) -> int:
    """The Python fallback decompressor (a child process, so it runs on its own core)."""
    import bz2
    import gzip
    import zlib

    out = sys.stdout.buffer
    raw = open(path, "rb")
    reader = bz2.BZ2File(raw) if compression == "bz2" else gzip.GzipFile(fileobj=raw)
    try:
        while True:
            data = reader.read(1 << 20)
            if not data:
                break
            out.write(data)
    except (EOFError, OSError, zlib.error, ValueError) as exc:
        out.flush()
        sys.stderr.write(f"{type(exc).__name__}: {exc} (at compressed byte {raw.tell()})\n")
        return 3
    except BrokenPipeError:
        return 0
    out.flush()
    return 0


# ---------------------------------------------------------------------- converting one entity


def _julian_to_gregorian(year: int, month: int, day: int) -> tuple[int, int, int]:
    """A Julian calendar date as the Gregorian date of the same day (via the Julian day number)."""
    a = (14 - month) // 12
    y = year + 4800 - a
    m = month + 12 * a - 3
    jdn = day + (153 * m + 2) // 5 + 365 * y + y // 4 - 32083
    a = jdn + 32044
    b = (4 * a + 3) // 146097
    c = a - 146097 * b // 4
    d = (4 * c + 3) // 1461
    e = c - 1461 * d // 4
    m = (5 * e + 2) // 153
    return 100 * b + d - 4800 + m // 10, m + 3 - 12 * (m // 10), e - (153 * m + 2) // 5 + 1


def time_literal(value: dict) -> str | None:
    """A Wikibase time value as a typed literal, at the precision it has."""
    t = value.get("time")
    if not isinstance(t, str):
        return None
    precision = value.get("precision", 11)
    match = re.match(r"^([+-]?)(\d+)-(\d\d)-(\d\d)T(\d\d:\d\d:\d\d)Z$", t)
    if not match:
        return None
    sign, y, mo, d, clock = match.groups()
    sign = "-" if sign == "-" else ""
    year, month, day = int(y), int(mo), int(d)
    if precision >= 11 and month and day and value.get("calendarmodel") == JULIAN and not sign:
        year, month, day = _julian_to_gregorian(year, month, day)
    ys = f"{sign}{year:04d}"
    if precision >= 14 and month and day:
        return nt_literal(f"{ys}-{month:02d}-{day:02d}T{clock}Z", datatype=XSD + "dateTime")
    if precision >= 11 and month and day:
        return nt_literal(f"{ys}-{month:02d}-{day:02d}", datatype=XSD + "date")
    if precision >= 10 and month:
        return nt_literal(f"{ys}-{month:02d}", datatype=XSD + "gYearMonth")
    return nt_literal(ys, datatype=XSD + "gYear")


_ENTITY_LETTER = {"item": "Q", "property": "P", "lexeme": "L"}


def value_term(snak: dict, pid: str) -> str | None:
    """The N-Triples object of a value snak, or None for values Wikidata's truthy RDF omits."""
    dv = snak.get("datavalue")
    if not isinstance(dv, dict):
        return None
    kind, v = dv.get("type"), dv.get("value")
    datatype = snak.get("datatype") or (PROPERTY_BY_ID[pid].datatype if pid in PROPERTY_BY_ID else None)
    if kind == "wikibase-entityid" and isinstance(v, dict):
        eid = v.get("id")
        if not eid and v.get("numeric-id") is not None:
            eid = _ENTITY_LETTER.get(v.get("entity-type", "item"), "Q") + str(v["numeric-id"])
        return f"<{WD_ENTITY}{eid}>" if eid and re.match(r"^[A-Z][0-9]+(-[A-Z][0-9]+)?$", eid) else None
    if kind == "string" and isinstance(v, str):
        if datatype == "url":
            return nt_iri(v)
        if datatype == "commonsMedia":
            from urllib.parse import quote

            return nt_iri("http://commons.wikimedia.org/wiki/Special:FilePath/" + quote(v.replace(" ", "_")))
        return nt_literal(v)
    if kind == "time" and isinstance(v, dict):
        return time_literal(v)
    if kind == "quantity" and isinstance(v, dict) and isinstance(v.get("amount"), str):
        return nt_literal(v["amount"].lstrip("+"), datatype=XSD + "decimal")
    if kind == "monolingualtext" and isinstance(v, dict):
        lang = v.get("language", "")
        return nt_literal(v.get("text", ""), lang=lang.lower()) if valid_lang(lang) else None
    if kind == "globecoordinate" and isinstance(v, dict):
        try:
            point = f"Point({float(v['longitude'])!r} {float(v['latitude'])!r})"
        except (KeyError, TypeError, ValueError):
            return None
        globe = v.get("globe") or EARTH
        text = point if globe == EARTH else f"<{globe}> {point}"
        return nt_literal(text, datatype=GEO_WKT)
    return None


def best_statements(statements: list) -> list:
    """Wikidata's truthy selection: the preferred statements if any, else the normal ones."""
    preferred = [s for s in statements if s.get("rank") == "preferred"]
    return preferred or [s for s in statements if s.get("rank", "normal") == "normal"]


def entity_to_nt(entity: dict, properties: tuple[str, ...] | None, languages: tuple[str, ...],
                 follow: frozenset[str] = frozenset()) -> tuple[list[str], set[str]]:
    """Truthy N-Triples of one JSON entity (properties None: all), and the items its followed
    statements point to."""
    eid = entity["id"]
    s = f"<{WD_ENTITY}{eid}>"
    lines: list[str] = []
    found: set[str] = set()
    every_lang = languages == ("*",)
    for key, pred in (("labels", RDFS_LABEL), ("descriptions", SCHEMA_DESCRIPTION)):
        values = entity.get(key) or {}
        if not isinstance(values, dict):
            continue
        for lang in (values if every_lang else languages):
            v = values.get(lang)
            if isinstance(v, dict) and isinstance(v.get("value"), str):
                tag = v.get("language", lang)
                if valid_lang(tag):
                    lines.append(f"{s} <{pred}> {nt_literal(v['value'], lang=tag.lower())} .\n")
    claims = entity.get("claims") or {}
    if not isinstance(claims, dict):
        return lines, found
    for pid in (properties if properties is not None else claims):
        statements = claims.get(pid)
        if not statements:
            continue
        for st in best_statements(statements):
            snak = st.get("mainsnak") or {}
            snaktype = snak.get("snaktype", "value")
            if snaktype == "novalue":
                lines.append(f"{s} <{RDF_TYPE}> <{WDNO}{pid}> .\n")
                continue
            if snaktype == "somevalue":
                key = st.get("id") or f"{eid}|{pid}|{len(lines)}"
                obj = f"<{GENID}{hashlib.md5(key.encode()).hexdigest()}>"
            else:
                obj = value_term(snak, pid)
                if obj is None:
                    continue
                if pid in follow and obj.startswith(f"<{WD_ENTITY}Q"):
                    found.add(obj[1 + len(WD_ENTITY):-1])
            lines.append(f"{s} <{WDT}{pid}> {obj} .\n")
    return lines, found


def _is_of_class(entity: dict, classes: frozenset[str]) -> bool:
    claims = entity.get("claims") or {}
    for pid in ("P31", "P279"):
        for st in best_statements(claims.get(pid) or []):
            snak = st.get("mainsnak") or {}
            if snak.get("snaktype", "value") != "value":
                continue
            obj = value_term(snak, pid)
            if obj and obj[1 + len(WD_ENTITY):-1] in classes:
                return True
    return False


# ---------------------------------------------------------------------- filtering one block


@dataclass
class PassConfig:
    """What one pass over the dumps keeps. mode: 'ids' (keep these QIDs), 'class' (JSON: keep
    instances/subclasses of classes; N-Triples: only find them)."""

    mode: str
    ids: frozenset[str] = frozenset()
    classes: frozenset[str] = frozenset()
    properties: tuple[str, ...] | None = DEFAULT_PROPERTIES
    languages: tuple[str, ...] = DEFAULT_LANGUAGES
    follow: frozenset[str] = frozenset()


@dataclass
class BlockResult:
    text: str = ""
    entities: int = 0
    kept: int = 0
    found: set[str] = field(default_factory=set)
    closed_at: int | None = None
    error: str | None = None


_CONFIG: PassConfig | None = None
_ID_RE = re.compile(rb'"id"\s*:\s*"(Q[0-9]+)"')


def _set_config(config: PassConfig) -> None:
    global _CONFIG, _CLASS_RE, _CLASS_DIGITS
    _CONFIG = config
    _CLASS_RE = None
    _CLASS_DIGITS = tuple(c[1:].encode() for c in sorted(config.classes))
    if config.classes:
        nums = b"|".join(c[1:].encode() for c in sorted(config.classes))
        ids = b"|".join(c.encode() for c in sorted(config.classes))
        _CLASS_RE = re.compile(rb'"numeric-id"\s*:\s*(?:' + nums + rb')(?![0-9])|"id"\s*:\s*"(?:' + ids + rb')"')


_CLASS_RE: re.Pattern | None = None
_CLASS_DIGITS: tuple[bytes, ...] = ()


def process_json_block(first_line: int, block: bytes) -> BlockResult:
    """Filter and convert one block of a JSON dump (runs in a worker or inline)."""
    config = _CONFIG
    assert config is not None
    r = BlockResult()
    out: list[str] = []
    ids = config.ids
    by_class = config.mode == "class"
    class_re = _CLASS_RE
    digits = _CLASS_DIGITS
    id_findall = _ID_RE.findall
    for offset, raw in enumerate(block.split(b"\n")):
        line = raw.strip()
        if not line:
            continue
        if line.endswith(b","):
            line = line[:-1]
        if line[:1] != b"{" or line[-1:] != b"}":
            if line == b"[":
                continue
            if line == b"]":
                r.closed_at = first_line + offset
                continue
            r.error = f"line {first_line + offset}: not one JSON entity per line (truncated or corrupt dump)"
            return r
        r.entities += 1
        # Pre-filter on the raw bytes (a superset of what is kept), then parse the candidates.
        if by_class:
            # The digits of a class id are in any line that names it (memchr-fast), then the regex.
            if not any(d in line for d in digits) or class_re is None or not class_re.search(line):
                continue
        elif not any(q.decode() in ids for q in id_findall(line)):
            continue
        try:
            entity = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            r.error = f"line {first_line + offset}: invalid JSON ({exc})"
            return r
        if not isinstance(entity, dict) or not isinstance(entity.get("id"), str):
            r.error = f"line {first_line + offset}: a JSON value that is not an entity"
            return r
        if by_class:
            if not _is_of_class(entity, config.classes):
                continue
        elif entity["id"] not in ids:
            continue
        lines, found = entity_to_nt(entity, config.properties, config.languages, config.follow)
        out.extend(lines)
        r.found |= found
        r.kept += 1
    r.text = "".join(out)
    return r


_NT_SUBJECT = re.compile(r"^<http://www\.wikidata\.org/entity/(Q[1-9][0-9]*)> <([^>]*)> (.*) \.\s*$")


def process_nt_block(first_line: int, block: bytes) -> BlockResult:
    """Filter one block of a truthy N-Triples dump: keep the chosen predicates of kept subjects
    (mode 'ids'), or find the subjects of the classes (mode 'class')."""
    config = _CONFIG
    assert config is not None
    r = BlockResult()
    out: list[str] = []
    ids = config.ids
    wanted = {WDT + p for p in config.properties} if config.properties is not None else None
    labels = (RDFS_LABEL, SCHEMA_DESCRIPTION)
    every_lang = config.languages == ("*",)
    langs = set(config.languages)
    class_objs = {f"<{WD_ENTITY}{c}>" for c in config.classes}
    type_preds = {WDT + "P31", WDT + "P279"}
    last_subject = None
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_no = first_line + block[:exc.start].count(b"\n")
        return BlockResult(error=f"line {line_no}: not UTF-8 text")
    for offset, line in enumerate(text.split("\n")):
        if not line or line.startswith("#"):
            continue
        if not line.rstrip().endswith(" .") or line[0] not in "<_":
            r.error = f"line {first_line + offset}: not an N-Triples line (truncated or corrupt dump)"
            return r
        m = _NT_SUBJECT.match(line)
        if not m:
            continue
        qid, pred, obj = m.groups()
        if qid != last_subject:
            r.entities += 1
            last_subject = qid
        if config.mode == "class":
            if pred in type_preds and obj in class_objs:
                r.found.add(qid)
            continue
        if qid not in ids:
            continue
        if pred in labels:
            at = obj.rfind('"@')
            if at < 0 or not (every_lang or obj[at + 2:].lower() in langs):
                continue
        elif not pred.startswith(WDT) or (wanted is not None and pred not in wanted):
            continue
        elif pred[len(WDT):] in config.follow and obj.startswith(f"<{WD_ENTITY}Q"):
            found = obj[1 + len(WD_ENTITY):-1]
            if found[1:].isdigit():
                r.found.add(found)
        out.append(line.rstrip() + "\n")
    r.text = "".join(out)
    r.kept = len(out)
    return r


def _process(kind: str, first_line: int, block: bytes) -> BlockResult:
    return (process_json_block if kind == "json" else process_nt_block)(first_line, block)


# ---------------------------------------------------------------------- passes


@dataclass
class DumpReport:
    """What a dump load did."""

    files: int
    passes: int
    entities: int  # entities read, over all passes
    kept: int  # entities (JSON) or triples (N-Triples) kept
    triples: int
    seconds: float
    decompressors: list[str] = field(default_factory=list)
    stream_seconds: float = 0.0  # reading, filtering, converting (before the store swap)
    stream_peak_rss_kib: int = 0  # this process's peak RSS when the stream stage ended

    @property
    def entities_per_second(self) -> float:
        return self.entities / self.seconds if self.seconds else 0.0


class _Runner:
    """Runs one pass over the files, inline or on a pool of workers, writing N-Triples to ``out``."""

    def __init__(self, jobs: int, external: bool, progress: bool | None) -> None:
        self.jobs = jobs
        self.external = external
        self.progress = progress
        self.tools: list[str] = []

    def run(self, files: list[Path], config: PassConfig, out: IO[str], label: str) -> BlockResult:
        total = BlockResult()
        pool = None
        if self.jobs > 1:
            pool = multiprocessing.get_context("fork").Pool(self.jobs, initializer=_set_config, initargs=(config,))
        else:
            _set_config(config)
        bar = Progress(label, unit="entities", enabled=self.progress)
        try:
            for path in files:
                kind, compression = dump_kind(path)
                source = Source(path, compression, self.external)
                self.tools.append(source.tool)
                closed: int | None = None
                last_line = 0
                try:
                    pending: collections.deque = collections.deque()

                    def take(result: BlockResult) -> None:
                        nonlocal closed
                        if result.error:
                            raise UserError(f"{path}: {result.error}; nothing was loaded")
                        if result.closed_at is not None:
                            closed = result.closed_at
                        elif closed is not None and result.entities:
                            raise UserError(f"{path}: line {closed}: entities after the closing ']'; nothing was loaded")
                        out.write(result.text)
                        total.entities += result.entities
                        total.kept += result.kept
                        total.found |= result.found
                        bar.update(result.entities)

                    for first, block in source.blocks():
                        last_line = first + block.count(b"\n")
                        if pool is None:
                            take(_process(kind, first, block))
                            continue
                        pending.append(pool.apply_async(_process, (kind, first, block)))
                        if len(pending) >= 2 * self.jobs:
                            take(pending.popleft().get())
                    while pending:
                        take(pending.popleft().get())
                finally:
                    source.close()
                if kind == "json" and closed is None:
                    raise UserError(f"{path}: the JSON array never closes (no ']' line; the dump is truncated "
                                    f"after line {last_line}); nothing was loaded")
        finally:
            bar.close()
            if pool is not None:
                pool.terminate()
                pool.join()
        return total


def load_dumps(
    store,  # noqa: ANN001
    files: Iterable[str | Path],
    *,
    classes: Iterable[str] = (),
    languages: Iterable[str] = DEFAULT_LANGUAGES,
    properties: Iterable[str] | None = DEFAULT_PROPERTIES,
    follow: Iterable[str] = DEFAULT_FOLLOW,
    depth: int = 1,
    seeds: Iterable[str] | None = None,
    jobs: int = 1,
    work_dir: Path | None = None,
    external: bool = True,
    progress: bool | None = None,
) -> DumpReport:
    """Read the dumps, keep the entities of interest, and swap them into the wikidata graph."""
    started = time.perf_counter()
    paths = [Path(f) for f in files]
    for p in paths:
        dump_kind(p)
        if not p.is_file():
            raise UserError(f"{p}: no such file")
    props = tuple(properties) if properties is not None else None
    langs = tuple(languages)
    follow_set = frozenset(f for f in follow if props is None or f in props)
    class_set = frozenset(classes)
    runner = _Runner(max(1, jobs), external, progress)
    if work_dir is None:
        import tempfile

        work_dir = Path(tempfile.gettempdir())
    out_path = temp_path(work_dir, ".partnergraph-dump-")
    entities = kept = passes = 0
    try:
        with open(out_path, "w", encoding="utf-8") as out:
            if class_set:
                json_files = [p for p in paths if dump_kind(p)[0] == "json"]
                nt_files = [p for p in paths if dump_kind(p)[0] == "nt"]
                config = PassConfig("class", classes=class_set, properties=props, languages=langs)
                if json_files:
                    r = runner.run(json_files, config, out, "dump (by class)")
                    passes, entities, kept = passes + 1, entities + r.entities, kept + r.kept
                if nt_files:
                    r = runner.run(nt_files, config, out, "dump (finding the class's items)")
                    passes, entities = passes + 1, entities + r.entities
                    keep = PassConfig("ids", ids=frozenset(r.found), properties=props, languages=langs)
                    r = runner.run(nt_files, keep, out, "dump (keeping their triples)")
                    passes, entities, kept = passes + 1, entities + r.entities, kept + r.kept
            else:
                seed_list = set(seeds) if seeds is not None else set(seed_items(store))
                if not seed_list:
                    raise UserError("the store names no Wikidata items (wd:Q…) outside the wikidata graph: load "
                                    "data first, or choose entities with --class")
                done: set[str] = set()
                frontier = frozenset(seed_list)
                for hop in range(depth + 1):
                    done |= frontier
                    config = PassConfig("ids", ids=frontier, properties=props, languages=langs,
                                        follow=follow_set if hop < depth else frozenset())
                    r = runner.run(paths, config, out, f"dump pass {hop + 1} ({len(frontier)} items)")
                    passes, entities, kept = passes + 1, entities + r.entities, kept + r.kept
                    frontier = frozenset(r.found - done)
                    if not frontier:
                        break
        triples = _count_lines(out_path)
        stream_seconds = time.perf_counter() - started
        stream_peak = _peak_rss_kib()
        check_nt_integrity(out_path)
        load_nt(store, out_path, WIKIDATA_GRAPH)
    finally:
        out_path.unlink(missing_ok=True)
    return DumpReport(len(paths), passes, entities, kept, triples, time.perf_counter() - started, runner.tools,
                      stream_seconds, stream_peak)


def _peak_rss_kib() -> int:
    try:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    except ImportError:  # not on this platform
        return 0


def _count_lines(path: Path) -> int:
    n = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            n += chunk.count(b"\n")
    return n


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--decompress":
    sys.exit(_decompress_main(sys.argv[2], sys.argv[3]))
