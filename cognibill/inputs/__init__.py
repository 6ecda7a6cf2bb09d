"""Inputs: vendor exports read into the engine's frames, and the one-value cell parsers."""
