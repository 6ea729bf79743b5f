"""Curated, sourced datasets shipped with partnergraph (package data, so a wheel carries them).

``data/wikimedia/`` is the Wikimedia Foundation's: organizations, stack components, goals,
activities and status claims, every fact with the dcterms:source it was read from.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def dataset_names() -> list[str]:
    """The bundled datasets (folder names)."""
    root = resources.files(__name__)
    return sorted(e.name for e in root.iterdir() if e.is_dir() and not e.name.startswith(("_", ".")))


def dataset_path(name: str = "wikimedia") -> Path:
    """The folder of a bundled dataset, as a real path (the package is installed unzipped)."""
    return Path(str(resources.files(__name__).joinpath(name)))
