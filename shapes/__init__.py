"""SHACL shapes and the functions that apply them.

``integrity.ttl`` says what any data must satisfy to be stored; ``check_integrity`` applies it
before every write. ``principles.ttl`` states the principles of partnership; ``validate`` applies
them and turns pyshacl's standard report into a verdict per organization.

pyshacl runs on an rdflib in-memory copy of the data it needs, never over the Oxigraph-backed
graph: over Oxigraph, literals come back typed xsd:string (so ``sh:in`` lists of plain strings
match nothing) and pyshacl asks the store for its size again and again.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Iterable

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, XSD
from rdflib.term import Node

from partnergraph.errors import IntegrityError
from partnergraph.ontology import PG, PREFIXES, SH, ontology_graph, qid_of

SEVERITIES = {SH.Violation: "Violation", SH.Warning: "Warning", SH.Info: "Info"}
_RANK = {"Violation": 0, "Warning": 1, "Info": 2}


def shapes_text(name: str) -> str:
    """The text of a shapes file shipped with the package (``integrity`` or ``principles``)."""
    return resources.files(__name__).joinpath(f"{name}.ttl").read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def shapes_graph(name: str) -> Graph:
    """A parsed shapes file (cached: shapes do not change while the process runs)."""
    g = Graph()
    g.parse(data=shapes_text(name), format="turtle")
    return g


@lru_cache(maxsize=1)
def _ontology() -> Graph:
    return ontology_graph()


@dataclass
class Principle:
    """One principle of partnership, as the shapes file states it."""

    iri: URIRef
    label: str
    comment: str
    severity: str
    messages: list[str] = field(default_factory=list)


def principles() -> list[Principle]:
    """The principles, read from principles.ttl itself (one source of truth), in file order."""
    g = shapes_graph("principles")
    text = shapes_text("principles")
    found = []
    for shape in g.subjects(RDF.type, SH.NodeShape):
        if not isinstance(shape, URIRef):
            continue
        messages = []
        for constraint in list(g.objects(shape, SH.property)) + list(g.objects(shape, SH.sparql)):
            messages += [str(m) for m in g.objects(constraint, SH.message)]
        found.append(
            Principle(
                iri=shape,
                label=str(g.value(shape, RDFS.label)),
                comment=str(g.value(shape, RDFS.comment)),
                severity=SEVERITIES.get(g.value(shape, SH.severity), "Violation"),  # type: ignore[arg-type]
                messages=messages,
            )
        )
    found.sort(key=lambda p: text.find(p.iri.split("#")[-1] + "\n"))
    return found


_MEANING = {
    "Violation": "not an eligible partner until fixed",
    "Warning": "eligible, but a person should look",
    "Info": "recorded for reading the list, never a reason to exclude",
}


def principles_markdown() -> str:
    """The principles as a Markdown section (docs/PROCESS.md quotes exactly this)."""
    lines = []
    for i, p in enumerate(principles(), 1):
        lines.append(f"{i}. **{p.label}** ({p.severity.lower()}: {_MEANING[p.severity]}). {p.comment}")
    return "\n".join(lines) + "\n"


@dataclass
class Finding:
    """One result of a validation: which node, which principle (or rule), how bad, why."""

    focus: Node
    organization: Node | None
    shape: URIRef | None
    principle: str
    severity: str
    message: str
    value: Node | None = None
    path: Node | None = None
    component: Node | None = None


@dataclass
class OrgVerdict:
    """The verdict on one organization: eligible unless a Violation stands."""

    organization: URIRef
    label: str
    qid: str | None
    findings: list[Finding]

    @property
    def eligible(self) -> bool:
        return not any(f.severity == "Violation" for f in self.findings)

    @property
    def failed_principles(self) -> list[str]:
        return sorted({f.principle for f in self.findings if f.severity == "Violation"})


@dataclass
class ValidationResult:
    """What ``validate`` found, plus the standard sh:ValidationReport graph."""

    findings: list[Finding]
    report_graph: Graph
    verdicts: dict[URIRef, OrgVerdict]
    as_of: _dt.date

    @property
    def conforms(self) -> bool:
        return not any(f.severity == "Violation" for f in self.findings)


def _owning_shapes(shapes: Graph) -> dict[Node, URIRef]:
    """Map every shape node (including nested property shapes) to the named shape it belongs to."""
    owner: dict[Node, URIRef] = {}
    for named in shapes.subjects(RDF.type, SH.NodeShape):
        if not isinstance(named, URIRef):
            continue
        stack: list[Node] = [named]
        while stack:
            node = stack.pop()
            if node in owner:
                continue
            owner[node] = named
            for p in (SH.property, SH.sparql, SH.node, SH.qualifiedValueShape, SH["or"], SH["and"]):
                for child in shapes.objects(node, p):
                    stack.append(child)
                    # rdf lists (sh:or)
                    for item in shapes.items(child) if (child, RDF.first, None) in shapes else ():
                        stack.append(item)
    return owner


def _run_pyshacl(data: Graph, shapes: Graph) -> Graph:
    import pyshacl

    _conforms, report_graph, _text = pyshacl.validate(
        data,
        shacl_graph=shapes,
        inference="none",
        advanced=True,
        allow_warnings=True,
        allow_infos=True,
        abort_on_first=False,
    )
    return report_graph  # type: ignore[return-value]


def _prefix_block(shapes: Graph, node: Node) -> str:
    """PREFIX lines for a SHACL-SPARQL constraint or target, from its sh:prefixes declarations."""
    lines = [
        f"PREFIX {shapes.value(decl, SH.prefix)}: <{shapes.value(decl, SH.namespace)}>"
        for owner in shapes.objects(node, SH.prefixes)
        for decl in shapes.objects(owner, SH.declare)
    ]
    return "\n".join(lines) + "\n"


@dataclass
class _SparqlConstraint:
    shape: URIRef
    holder: Node
    constraint: Node
    select: str
    message: str
    severity: URIRef
    target: Node


def _sparql_constraints(shapes: Graph) -> list[_SparqlConstraint]:
    """The SHACL-SPARQL constraints of named shapes, with their prefixes expanded into the text."""
    out = []
    for shape in shapes.subjects(RDF.type, SH.NodeShape):
        if not isinstance(shape, URIRef):
            continue
        holders = [shape] + list(shapes.objects(shape, SH.property))
        for holder, constraint in [(h, c) for h in holders for c in shapes.objects(h, SH.sparql)]:
            select = _prefix_block(shapes, constraint) + str(shapes.value(constraint, SH.select))
            targets = list(shapes.objects(shape, SH.targetClass)) + list(shapes.objects(shape, SH.target))
            if len(targets) != 1:
                raise ValueError(f"{shape}: SPARQL constraints need exactly one target (sh:targetClass or sh:target) here")
            out.append(
                _SparqlConstraint(
                    shape=shape,
                    holder=holder,
                    constraint=constraint,
                    select=select,
                    message=str(shapes.value(constraint, SH.message) or "does not conform"),
                    severity=shapes.value(holder, SH.severity) or SH.Violation,  # type: ignore[assignment]
                    target=targets[0],
                )
            )
    return out


_THIS = re.compile(r"\$this\b")
_SELECT_WHERE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)


def _ox_copy(data: Graph):  # noqa: ANN202
    """An in-memory Oxigraph store holding ``data`` (for native SPARQL over a small graph)."""
    import pyoxigraph as ox

    from partnergraph.store import _to_ox

    store = ox.Store()
    store.extend([ox.Quad(_to_ox(s), _to_ox(p), _to_ox(o)) for s, p, o in data])
    return store


def _run_sparql_constraints(data: Graph, shapes: Graph, report: Graph, focus: set[Node] | None, store=None) -> None:  # noqa: ANN001
    """Evaluate every SHACL-SPARQL constraint once, natively (Oxigraph), for all its focus nodes.

    SHACL pre-binds $this to each focus node and runs the query once per node; with the focus
    nodes given as a VALUES block at the head of the WHERE clause, one run gives the same
    solutions (the constraints here use no sub-select), and is hundreds of times faster than
    pyshacl running rdflib's engine per node. The results go into the standard report graph."""
    from partnergraph.store import _from_ox

    constraints = _sparql_constraints(shapes)
    if not constraints:
        return
    if store is None:
        store = _ox_copy(data)
    conforms = report.value(predicate=RDF.type, object=SH.ValidationReport, any=True)
    for c in constraints:
        focus_nodes = _focus_nodes(store, shapes, data, c.target)
        if focus is not None:
            focus_nodes = [n for n in focus_nodes if n in focus]
        if not focus_nodes:
            continue
        values = "VALUES ?this { " + " ".join(f"<{n}>" for n in focus_nodes) + " }"
        text = _THIS.sub("?this", c.select)
        text = _SELECT_WHERE.sub(lambda m: m.group(0) + " " + values + " ", text, count=1)
        seen = set()
        solutions = store.query(text)
        has_value = "value" in [v.value for v in solutions.variables]
        for solution in solutions:
            this = _from_ox(solution["this"])
            value = _from_ox(solution["value"]) if has_value else None
            key = (this, value)
            if this is None or key in seen:
                continue
            seen.add(key)
            result = BNode()
            report.add((result, RDF.type, SH.ValidationResult))
            report.add((result, SH.focusNode, this))
            report.add((result, SH.resultSeverity, c.severity))
            report.add((result, SH.sourceShape, c.holder))
            report.add((result, SH.sourceConstraint, c.constraint))
            report.add((result, SH.sourceConstraintComponent, SH.SPARQLConstraintComponent))
            message = c.message.replace("{$this}", str(this))
            if value is not None:
                report.add((result, SH.value, value))
                message = message.replace("{?value}", _label_or_text(value, data))
            report.add((result, SH.resultMessage, Literal(message)))
            if conforms is not None:
                report.add((conforms, SH.result, result))
                if c.severity == SH.Violation:
                    report.set((conforms, SH.conforms, Literal(False)))


def _focus_nodes(store, shapes: Graph, data: Graph, target: Node) -> list[URIRef]:  # noqa: ANN001
    """The focus nodes of a target: a class (with its subclasses) or a SHACL-AF SPARQL target."""
    from partnergraph.store import _from_ox

    if (target, RDF.type, SH.SPARQLTarget) in shapes:
        text = _prefix_block(shapes, target) + str(shapes.value(target, SH.select))
        found = {_from_ox(sol["this"]) for sol in store.query(text)}
    else:
        classes = set(data.transitive_subjects(RDFS.subClassOf, target))
        found = {s for cls in classes for s in data.subjects(RDF.type, cls)}
    return sorted(n for n in found if isinstance(n, URIRef))


def _label_or_text(node: Node, data: Graph) -> str:
    label = data.value(node, RDFS.label)
    if label is not None:
        return str(label)
    return str(node)


def _findings(report: Graph, shapes: Graph, data: Graph) -> list[Finding]:
    owner = _owning_shapes(shapes)
    out = []
    for result in report.subjects(RDF.type, SH.ValidationResult):
        focus = report.value(result, SH.focusNode)
        source = report.value(result, SH.sourceShape)
        named = owner.get(source) if source is not None else None  # type: ignore[arg-type]
        label = shapes.value(named, RDFS.label) if named is not None else None
        severity = SEVERITIES.get(report.value(result, SH.resultSeverity), "Violation")  # type: ignore[arg-type]
        message = report.value(result, SH.resultMessage)
        value = report.value(result, SH.value)
        path = report.value(result, SH.resultPath)
        out.append(
            Finding(
                focus=focus,  # type: ignore[arg-type]
                organization=_organization_of(focus, data),  # type: ignore[arg-type]
                shape=named,
                principle=str(label) if label is not None else "integrity",
                severity=severity,
                message=str(message) if message is not None else "does not conform",
                value=value,
                path=path,
                component=report.value(result, SH.sourceConstraintComponent),
            )
        )
    # pyshacl reports a failed sh:node both as a generic "must conform to Shape …" result and as
    # the nested shape's own results; keep the generic one only when it is all there is.
    specific = {f.focus for f in out if f.component != SH.NodeConstraintComponent}
    out = [f for f in out if f.component != SH.NodeConstraintComponent or f.focus not in specific]
    out.sort(key=lambda f: (_RANK[f.severity], str(f.organization), f.principle, f.message))
    return out


def _organization_of(focus: Node, data: Graph) -> Node | None:
    """The organization a finding is about: the focus itself, or the partner of an activity."""
    org_ns = URIRef("http://www.w3.org/ns/org#Organization")
    if (focus, RDF.type, org_ns) in data or (focus, RDF.type, PG.HomeOrganization) in data:
        return focus
    for p in (PG.partner, PG.organization):
        value = data.value(focus, p)
        if value is not None:
            return value
    return None


def describe(node: Node | None, data: Graph) -> str:
    """A short human name for a node: its label and QID, or its IRI."""
    if node is None:
        return "(unknown)"
    label = data.value(node, RDFS.label) or data.value(node, DCTERMS.title) or data.value(node, URIRef(str(PREFIXES["skos"]) + "prefLabel"))
    qid = qid_of(node)
    if label is not None and qid:
        return f"{label} ({qid})"
    if label is not None:
        return str(label)
    return qid or str(node)


# ------------------------------------------------------------------------ integrity


def check_integrity(data: Graph, context: Iterable[tuple[Node, Node, Node]] = ()) -> None:
    """Raise IntegrityError when ``data`` breaks shapes/integrity.ttl; return quietly otherwise.

    ``context`` adds triples the incoming data may refer to without stating them itself (the
    rdf:type of organizations already in the store, say); they are read, never written."""
    shapes = shapes_graph("integrity")
    full = Graph()
    for t in data:
        full.add(t)
    for t in context:
        full.add(t)
    for t in _ontology():
        full.add(t)
    report = _run_pyshacl(full, shapes)
    described = set(data.subjects())
    # Only what the incoming data describes is judged; context nodes are read, not checked.
    findings = [f for f in _findings(report, shapes, full) if f.severity == "Violation" and f.focus in described]
    if findings:
        messages = []
        seen = set()
        for f in findings:
            line = f"{describe(f.focus, full)}: {f.message}"
            if f.value is not None and f.value != f.focus:
                line += f" (value: {f.value})"
            if line not in seen:
                seen.add(line)
                messages.append(line)
        raise IntegrityError(
            f"the data breaks {len(messages)} integrity rule(s) of shapes/integrity.ttl; nothing was written:",
            messages,
        )


# ------------------------------------------------------------------------ principles


def validate(data: Graph, *, as_of: _dt.date | None = None, focus: Iterable[URIRef] | None = None) -> ValidationResult:
    """Check ``data`` against the principles of partnership (and integrity) at ``as_of``.

    ``focus`` restricts the verdicts to some organizations (all are checked; only theirs are
    reported)."""
    as_of = as_of or _dt.date.today()
    shapes = Graph()
    for t in shapes_graph("principles"):
        shapes.add(t)
    for t in shapes_graph("integrity"):
        shapes.add(t)
    full = Graph()
    for t in data:
        full.add(t)
    for t in _ontology():
        full.add(t)
    context = BNode()
    full.add((context, RDF.type, PG.ValidationContext))
    full.add((context, PG.asOf, Literal(as_of.isoformat(), datatype=XSD.date)))
    # The Core pass goes to pyshacl, with the SPARQL constraints left out (they run natively
    # below) and SPARQL targets replaced by the explicit focus nodes they select, computed natively
    # once: pyshacl then parses no SPARQL at all, and checks only the nodes asked for.
    store = _ox_copy(full)
    core = Graph()
    for t in shapes:
        core.add(t)
    for holder, constraint in list(shapes.subject_objects(SH.sparql)):
        core.remove((holder, SH.sparql, constraint))
    wanted_focus = set(focus) if focus is not None else None
    for shape, target in list(shapes.subject_objects(SH.target)):
        if (target, RDF.type, SH.SPARQLTarget) in shapes:
            core.remove((shape, SH.target, target))
            for node in _focus_nodes(store, shapes, full, target):
                if wanted_focus is None or node in wanted_focus:
                    core.add((shape, SH.targetNode, node))
    report = _run_pyshacl(full, core)
    _run_sparql_constraints(full, shapes, report, wanted_focus, store=store)
    findings = _findings(report, shapes, full)
    orgs = set(_focus_nodes(store, shapes, full, URIRef("https://w3id.org/partnergraph/shapes#Candidates")))
    wanted = set(focus) if focus is not None else None
    by_org: dict[URIRef, list[Finding]] = defaultdict(list)
    for f in findings:
        if isinstance(f.organization, URIRef):
            by_org[f.organization].append(f)
    verdicts = {}
    for o in sorted(orgs, key=lambda n: describe(n, full).lower()):
        if wanted is not None and o not in wanted:
            continue
        label = full.value(o, RDFS.label)
        verdicts[o] = OrgVerdict(o, str(label) if label else str(o), qid_of(o), by_org.get(o, []))
    if wanted is not None:
        findings = [f for f in findings if f.organization in wanted]
    return ValidationResult(findings=findings, report_graph=report, verdicts=verdicts, as_of=as_of)


# ------------------------------------------------------------------------ principles, natively


class NativeUnsupported(Exception):
    """The principles use a SHACL feature the native evaluator does not translate."""


_CONTEXT = re.compile(r"\?(\w+)\s+a\s+pg:ValidationContext\s*;\s*pg:asOf\s+\?(\w+)\s*\.")
_NODE_KEYS = {RDF.type, RDFS.label, RDFS.comment, SH.severity, SH.target, SH.sparql, SH.property, SH.name,
              SH.description, SH.message}
_PROPERTY_KEYS = {SH.path, SH.minCount, SH.severity, SH.message, SH.sparql, SH.name, SH.description}


def _path_sparql(shapes: Graph, path: Node) -> str:
    if isinstance(path, URIRef):
        return f"<{path}>"
    inverse = shapes.value(path, SH.inversePath)
    if isinstance(inverse, URIRef) and len(list(shapes.predicate_objects(path))) == 1:
        return f"^<{inverse}>"
    raise NativeUnsupported(f"property path {path!r}")


_NOT_EXISTS = re.compile(r"FILTER\s+NOT\s+EXISTS\s*\{", re.IGNORECASE)
_COMMENT = re.compile(r"(?m)(^|\s)#[^\n]*")


def _not_exists_groups(body: str) -> list[str] | None:
    """The groups of a WHERE body (from after "WHERE {") made of FILTER NOT EXISTS { … } only,
    comments aside; None for any other shape of body."""
    text = _COMMENT.sub(" ", body)
    groups, pos = [], 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if text.startswith("}", pos):
            return groups if groups and not text[pos + 1:].strip() else None
        opening = _NOT_EXISTS.match(text, pos)
        if opening is None:
            return None
        depth, i, quote = 1, opening.end(), None
        while i < len(text) and depth:
            ch = text[i]
            if quote:
                if ch == "\\":
                    i += 1
                elif ch == quote:
                    quote = None
            elif ch in "\"'":
                quote = ch
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            i += 1
        if depth:
            return None
        groups.append(text[opening.end(): i - 1])
        pos = i


def evaluate_principles(store, *, as_of: _dt.date | None = None, focus: Iterable[URIRef] | None = None) -> ValidationResult:  # noqa: ANN001
    """The principles evaluated on the store itself, one SPARQL query per constraint.

    Same findings as ``validate`` for the principles (a test holds them equal on the bundled data),
    without copying the graph into memory: what ranking and the organization pages need at any
    scale, on any backend. Integrity is not re-checked here: every write was checked already.
    Raises NativeUnsupported when the shapes use a feature this does not translate; callers then
    fall back to ``validate``."""

    as_of = as_of or _dt.date.today()
    shapes = shapes_graph("principles")
    as_of_term = Literal(as_of.isoformat(), datatype=XSD.date).n3()
    candidates_target = URIRef("https://w3id.org/partnergraph/shapes#Candidates")
    if (candidates_target, RDF.type, SH.SPARQLTarget) not in shapes:
        raise NativeUnsupported("no pgsh:Candidates target")
    target_text = _prefix_block(shapes, candidates_target) + str(shapes.value(candidates_target, SH.select))
    if focus is not None:  # only these: asked of the target query itself (one organization's page at any scale)
        wanted = sorted({n for n in focus if isinstance(n, URIRef)})
        if not wanted:
            return ValidationResult(findings=[], report_graph=Graph(), verdicts={}, as_of=as_of)
        target_text = _SELECT_WHERE.sub(
            lambda m: m.group(0) + " VALUES ?this { " + " ".join(n.n3() for n in wanted) + " } ", target_text, count=1)
    candidates = {r[0] for r in store.query(target_text).rows if isinstance(r[0], URIRef)}
    if focus is not None:
        candidates &= set(focus)
    ordered = sorted(candidates)
    findings: list[Finding] = []
    values = "VALUES ?this { " + " ".join(n.n3() for n in ordered) + " }"
    # Every candidate (the ranking), where the store joins sub-selects by hash (Oxigraph): the
    # candidates come as the target query itself rather than as a VALUES block of every
    # organization, which Oxigraph joins row by row with anything but a basic pattern (minutes per
    # constraint at a million triples, one or two seconds so).
    target_prefixes = _prefix_block(shapes, candidates_target)
    whole = focus is None and len(ordered) > 1 and getattr(store, "joins_subselects_by_hash", False)
    target_block = "{ " + _THIS.sub("?this", str(shapes.value(candidates_target, SH.select))) + " }"

    def run(select: str, shape: URIRef, holder: Node, severity: str, message: str, path: Node | None, component: URIRef) -> None:
        text = select
        block = target_block if whole and select.startswith(target_prefixes) else values
        if "ValidationContext" in text:
            text, count = _CONTEXT.subn(lambda m: f"VALUES ?{m.group(2)} {{ {as_of_term} }}", text)
            if count != 1 or "ValidationContext" in text:
                raise NativeUnsupported("a validation-context pattern it cannot rewrite")
        where = _SELECT_WHERE.search(text)
        if where is None:
            raise NativeUnsupported("a constraint without SELECT … WHERE {")
        head, body = text[: where.end()], text[where.end():]
        selects = list(re.finditer(r"\bSELECT\b", head, re.IGNORECASE))
        prologue = text[: selects[-1].start()] if selects else ""  # the PREFIX lines, for ASKs and joins
        label = shapes.value(shape, RDFS.label)
        principle = str(label) if label else str(shape)
        if len(ordered) == 1 and not re.search(r"\bSELECT\b", body, re.IGNORECASE):
            # One organization (its page, explain): $this pre-bound by substitution, as SHACL-SPARQL
            # defines it. Engines plan a constant inside FILTER NOT EXISTS from the start; a
            # variable bound by VALUES outside it, Oxigraph does not (a scan of every alignment).
            const = ordered[0].n3()
            groups = _not_exists_groups(_THIS.sub(const, body))
            if groups is not None:
                # A constraint made of FILTER NOT EXISTS alone holds for it when one of the groups
                # has a solution: one ASK each. (Oxigraph takes 1.2 s for even a one-pattern
                # FILTER NOT EXISTS at a million triples, and 10 ms to ASK the same pattern.)
                try:
                    holds = any(store.query(prologue + " ASK { " + g + " }").boolean for g in groups)
                except Exception:  # noqa: BLE001 - a group this split wrongly: the general way below
                    holds = None
                if holds is not None:
                    if not holds:
                        _add(ordered[0], None, shape, principle, severity, message, path, component)
                    return
            text = _THIS.sub("?this", head) + f" VALUES ?this {{ {const} }} " + _THIS.sub(const, body)
        else:
            groups = _not_exists_groups(_THIS.sub("?this", body)) if len(ordered) > 1 else None
            if groups is not None:
                # The same for every candidate: FILTER NOT EXISTS alone holds for the candidates
                # for which some group has a solution, which one positive join per group finds.
                # (Oxigraph evaluates FILTER NOT EXISTS row by row without starting from the row's
                # organization: Relevance took 21 s for every candidate at 100,000 triples.)
                try:
                    holding: set = set()
                    for g in groups:
                        found = store.query(prologue + " SELECT DISTINCT ?this WHERE { " + block + " " + g + " }")
                        holding.update(r[0] for r in found.rows)
                except Exception:  # noqa: BLE001 - a group this split wrongly: the general way below
                    holding = None  # type: ignore[assignment]
                if holding is not None:
                    for this in ordered:
                        if this not in holding:
                            _add(this, None, shape, principle, severity, message, path, component)
                    return
            text = _THIS.sub("?this", head) + " " + block + " " + _THIS.sub("?this", body)
        result = store.query(text)
        has_value = "value" in result.variables
        seen = set()
        for row in result.dicts():
            this, value = row.get("this"), row.get("value") if has_value else None
            if this is None or (this, value) in seen:
                continue
            seen.add((this, value))
            _add(this, value, shape, principle, severity, message, path, component)

    def _add(this: Node, value: Node | None, shape: URIRef, principle: str, severity: str, message: str,
             path: Node | None, component: URIRef) -> None:
        findings.append(Finding(focus=this, organization=this, shape=shape, principle=principle,
                                severity=severity, message=message.replace("{$this}", str(this)), value=value,
                                path=path, component=component))

    if ordered:
        for shape in sorted(s for s in shapes.subjects(RDF.type, SH.NodeShape) if isinstance(s, URIRef)):
            if set(shapes.predicates(shape)) - _NODE_KEYS:
                raise NativeUnsupported(f"{shape}: {sorted(set(shapes.predicates(shape)) - _NODE_KEYS)}")
            if list(shapes.objects(shape, SH.target)) != [candidates_target]:
                raise NativeUnsupported(f"{shape}: a target other than the candidates")
            shape_severity = SEVERITIES.get(shapes.value(shape, SH.severity), "Violation")  # type: ignore[arg-type]
            for constraint in shapes.objects(shape, SH.sparql):
                run(_prefix_block(shapes, constraint) + str(shapes.value(constraint, SH.select)), shape, shape, shape_severity,
                    str(shapes.value(constraint, SH.message) or "does not conform"), None, SH.SPARQLConstraintComponent)
            for prop in shapes.objects(shape, SH.property):
                if set(shapes.predicates(prop)) - _PROPERTY_KEYS:
                    raise NativeUnsupported(f"{shape}: property shape with {sorted(set(shapes.predicates(prop)) - _PROPERTY_KEYS)}")
                path = shapes.value(prop, SH.path)
                severity = SEVERITIES.get(shapes.value(prop, SH.severity), "Violation")  # type: ignore[arg-type]
                message = str(shapes.value(prop, SH.message) or "does not conform")
                min_count = shapes.value(prop, SH.minCount)
                if min_count is not None:
                    n = int(min_count)
                    if n == 1:
                        select = f"SELECT $this WHERE {{ FILTER NOT EXISTS {{ $this {_path_sparql(shapes, path)} ?v }} }}"
                    else:
                        select = (f"SELECT ?this WHERE {{ OPTIONAL {{ ?this {_path_sparql(shapes, path)} ?v }} }} "
                                  f"GROUP BY ?this HAVING (COUNT(DISTINCT ?v) < {n})")
                    run(select, shape, prop, severity, message, path, SH.MinCountConstraintComponent)
                for constraint in shapes.objects(prop, SH.sparql):
                    run(_prefix_block(shapes, constraint) + str(shapes.value(constraint, SH.select)), shape, prop, severity,
                        str(shapes.value(constraint, SH.message) or "does not conform"), path, SH.SPARQLConstraintComponent)
    labels = _labels(store, ordered + [f.value for f in findings if isinstance(f.value, URIRef)])
    for f in findings:
        if f.value is not None and "{?value}" in f.message:
            f.message = f.message.replace("{?value}", str(labels.get(f.value, f.value)))
    findings.sort(key=lambda f: (_RANK[f.severity], str(f.organization), f.principle, f.message))
    by_org: dict[URIRef, list[Finding]] = defaultdict(list)
    for f in findings:
        by_org[f.organization].append(f)  # type: ignore[index]
    verdicts = {}
    for o in sorted(ordered, key=lambda n: (str(labels[n]) if n in labels else str(n)).lower()):
        label = labels.get(o)
        verdicts[o] = OrgVerdict(o, str(label) if label is not None else str(o), qid_of(o), by_org.get(o, []))
    return ValidationResult(findings=findings, report_graph=Graph(), verdicts=verdicts, as_of=as_of)


def _labels(store, nodes: list) -> dict:  # noqa: ANN001
    """rdfs:label of each node, in one query."""
    nodes = sorted({n for n in nodes if isinstance(n, URIRef)})
    if not nodes:
        return {}
    text = ("SELECT ?n (SAMPLE(?l) AS ?label) WHERE { VALUES ?n { " + " ".join(n.n3() for n in nodes) + " } "
            "?n <http://www.w3.org/2000/01/rdf-schema#label> ?l } GROUP BY ?n")
    return {r[0]: r[1] for r in store.query(text).rows}
