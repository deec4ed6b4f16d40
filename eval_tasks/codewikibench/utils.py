"""codewikibench: CodeWikiBench's method on one generated document per row: the judges score each
rubric leaf against it, one conversation per leaf, with the document's outline and the
docs_navigator page reader (or the whole document when it fits the judge's context); weighted
means give the repository's score (wikikit.eval.codewikibench). A single prompt stands in for a
whole wiki here; CodeWikiBench on wikis the real client wrote is the semanticwiki harness.

The judges are wikikit teachers configured through the environment, since lm-eval passes a task
nothing else at scoring time: WIKIKIT_JUDGES (the recipe's judges as a JSON list),
WIKIKIT_JUDGING (eval.judging), WIKIKIT_JUDGE_API_KEY_<i> (optional), WIKIKIT_JUDGE_CACHE (the
sqlite response cache). Without a judge the task fails rather than report a score it did not
measure.
"""

import json
import os
from functools import lru_cache
from pathlib import Path

from wikikit.errors import InputError
from wikikit.eval.codewikibench.bench import make_judges
from wikikit.eval.codewikibench.docs import docs_from_pages
from wikikit.eval.codewikibench.judge import JudgeSettings, judge_docs
from wikikit.eval.metrics import ratio  # noqa: F401  - used by the YAML's aggregation
from wikikit.eval.metrics.answer import final_text
from wikikit.eval.metrics.completeness import pages_from_output
from wikikit.eval.metrics.prompts import files_block, render_prompt
from wikikit.eval.metrics.taskdata import load_task_dataset, payload
from wikikit.eval.rubrics import combine_judges

INSTRUCTIONS = (
    "You write the architectural documentation of a code repository: its purpose, components, "
    "how they work together, data flows and key behaviours, with source references "
    "**Source:** [`path:start-end`](path#Lstart-Lend) and Mermaid diagrams where they help."
)


def load(**kwargs):
    return load_task_dataset(Path(__file__).with_name("test.jsonl"))


def doc_to_text(doc) -> str:
    row = payload(doc)
    user = f"Document the {row['repo']} repository.\n\n{files_block(row['files'])}"
    return render_prompt(INSTRUCTIONS, user)


def doc_to_target(doc) -> str:
    return ""


@lru_cache(maxsize=1)
def _judges():
    raw = os.environ.get("WIKIKIT_JUDGES")
    if not raw:
        raise InputError(
            "codewikibench needs a judge: set eval.judge or eval.judges in the recipe (WIKIKIT_JUDGES)"
        )
    configs = json.loads(raw)
    keys = [os.environ.get(f"WIKIKIT_JUDGE_API_KEY_{i}") for i in range(len(configs))]
    cache = os.environ.get("WIKIKIT_JUDGE_CACHE")
    judges = make_judges(configs, keys, Path(cache) if cache else None)
    return judges, JudgeSettings.from_config(json.loads(os.environ.get("WIKIKIT_JUDGING") or "{}"))


def process_results(doc, results):
    row = payload(doc)
    answer = final_text(results[0])
    docs = docs_from_pages(row["repo"], pages_from_output(answer) or {"documentation.md": answer})
    judges, settings = _judges()
    runs = [judge_docs(row["rubrics"], docs, j.converse, settings) for j in judges]
    combined = combine_judges([r.rubrics for r in runs])
    leaves = sum(r.judged + len(r.errors) for r in runs)
    score = combined.overall_score
    return {
        # a repository whose every leaf failed to be judged is left out, not scored 0 or 1
        "codewikibench": (score, 1) if score is not None else (0, 0),
        "judged_leaves": (sum(r.judged for r in runs), leaves),
    }
