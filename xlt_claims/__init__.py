"""xlt-claims: verify claims of machine-written literature reports."""
__version__ = "0.1.0"
