"""cognibill: units, claim checks and estimates for time-based therapy CPT codes."""

__version__ = "0.1.0"
