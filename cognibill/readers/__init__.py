"""Readers: input files (session TOML, CSV exports) validated into the domain models."""
