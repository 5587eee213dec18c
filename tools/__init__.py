"""Build tools of xlt-claims, run from a source checkout (`python -m tools.<name>`); never shipped in
the runtime package and never imported by it."""
