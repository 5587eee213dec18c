"""Packs the real benchmark copies that may ship (PAWS-X, XQuAD, TyDi QA English train, Tatoeba) into
xlt_claims/experiments/data/real/: xz-compressed byte copies, a MANIFEST with upstream repository,
commit, path, sha256, git blob id, row counts and licence per file, and each set's NOTICE. Run
`python -m tools.realdata --help`. XNLI (CC BY-NC) and BUCC (no licence) are never packed."""
