"""Option callbacks shared by the command modules (cli.py imports the others at its end, so they
cannot import these from it)."""

from __future__ import annotations

import datetime as _dt

import click

from partnergraph.errors import UserError


def date_param(_ctx: click.Context, _param: click.Parameter, value: str | None) -> _dt.date | None:
    """--as-of and friends: an ISO date, or a usage error."""
    if value is None:
        return None
    try:
        return _dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (use YYYY-MM-DD)") from None


def home_param(_ctx: click.Context, _param: click.Parameter, value: str | None):  # noqa: ANN201
    """--home: a QID, prefixed name or IRI, as an RDF term, or a usage error."""
    from partnergraph.queries import to_term

    if value is None:
        return None
    try:
        return to_term(value, "iri", "home")
    except UserError as exc:
        raise click.BadParameter(str(exc)) from None
