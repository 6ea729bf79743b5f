"""Errors a user can cause, with the exit code the CLI gives them.

Anything raised as a ``UserError`` ends in one clear message on stderr and exit code 2; nothing
in the store has changed when it is raised from a write path."""

from __future__ import annotations


class PartnergraphError(Exception):
    """Base class of the errors partnergraph reports to users."""

    exit_code = 2


class UserError(PartnergraphError):
    """Bad usage or bad input: a file that does not parse, a malformed query, an unknown name."""


class StoreError(PartnergraphError):
    """The store cannot be opened or written (locked, missing, read-only)."""


class IntegrityError(UserError):
    """Data breaks shapes/integrity.ttl and was not written. ``messages`` lists each problem."""

    def __init__(self, summary: str, messages: list[str]) -> None:
        super().__init__(summary)
        self.messages = messages

    def __str__(self) -> str:
        lines = [super().__str__()] + [f"  - {m}" for m in self.messages]
        return "\n".join(lines)
