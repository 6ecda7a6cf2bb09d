"""Run cognibill as ``python -m cognibill``."""

from cognibill.cli import main

main()
