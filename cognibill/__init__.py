"""cognibill: units, claim checks and estimates for time-based therapy CPT codes.

``cognibill.bill(paths, ...)`` and ``cognibill.bill_rows(frame, ...)`` are the public core API
(``cognibill.api``); they are imported on first use, so ``import cognibill`` stays light.
"""

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "bill", "bill_rows"]


def __getattr__(name: str) -> Any:
    if name in ("bill", "bill_rows"):
        from cognibill import api

        return getattr(api, name)
    raise AttributeError(f"module 'cognibill' has no attribute {name!r}")
