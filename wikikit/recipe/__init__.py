"""Recipes: load (safe YAML, `extends`, `--set`, secrets), validate, fingerprint (`load.py`),
`wikikit diff` (`diff.py`) and `wikikit init` (`starter.py`)."""
