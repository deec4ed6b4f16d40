"""Repository access (`repo.py`), symbols from real parsers (`symbols.py`), the call graph
(`callgraph.py`) and the one implementation of `file:line` references (`refs.py`)."""
