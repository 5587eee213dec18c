"""`python -m xlt_claims.cli ...` runs the `claims` command line."""

from . import app

app()
