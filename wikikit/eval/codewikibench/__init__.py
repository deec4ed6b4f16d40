"""CodeWikiBench (FSoft-AI4Code/CodeWikiBench) run its way on wikis wikikit's model wrote.

- docs.py: a wiki as the benchmark's `docs_tree` outline and `structured_docs`, and the page
  reader (`docs_navigator`) over them;
- judge.py: one judge, one conversation per rubric leaf, errors retried then excluded;
- bench.py: several judges per repository combined with their spread, over held-out repos.
The rubric trees and their bottom-up aggregation are wikikit.eval.rubrics.
"""
