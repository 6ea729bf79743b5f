"""Everything that writes triples into a store.

Each loader parses and checks its input completely before it touches the store, then replaces
one named graph atomically (``Store.replace_graph``): a failing load leaves the store as it was.
"""
