"""partnergraph: a knowledge graph of technical partners for open-knowledge projects."""

__version__ = "0.1.0"
