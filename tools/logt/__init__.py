"""The LOGT proxy benchmark builder (LibreOffice catalogs from Debian packages -> the shipped files in
xlt_claims/experiments/data/proxy/). Run `python -m tools.logt --help`."""
