"""Outputs: the claim lines' one column schema and the writers and renderers that take it."""
