"""The eval stage (`stage.py`): lm-eval tasks from eval_tasks/, gates and a results table;
`metrics/` scores wiki answers (traceability, Mermaid, tool use, completeness) and
`rubrics.py` is CodeWikiBench's rubric scoring. eval_tasks/ imports these; wikikit never
imports eval_tasks."""
