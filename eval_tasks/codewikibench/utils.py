"""codewikibench: CodeWikiBench's method on the shipped repos: an LLM judge scores each rubric
leaf against the generated documentation; weighted means give the repository's score.

The judge is a wikikit teacher configured through the environment, since lm-eval passes a task
nothing else at scoring time: WIKIKIT_JUDGE (the recipe's `eval.judge` mapping as JSON),
WIKIKIT_JUDGE_API_KEY (optional), WIKIKIT_JUDGE_CACHE (optional sqlite cache path). Without a
judge the task fails rather than report a score it did not measure.
"""

import json
import os
from functools import lru_cache
from pathlib import Path

from wikikit.errors import InputError
from wikikit.eval.metrics import ratio  # noqa: F401  - used by the YAML's aggregation
from wikikit.eval.metrics.answer import final_text
from wikikit.eval.metrics.prompts import files_block, render_prompt
from wikikit.eval.metrics.taskdata import load_task_dataset, payload
from wikikit.eval.rubrics import judge_tree, teacher_asker

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
def _asker():
    from wikikit.teachers import make_teacher

    raw = os.environ.get("WIKIKIT_JUDGE")
    if not raw:
        raise InputError(
            "codewikibench needs a judge: set eval.judge in the recipe (WIKIKIT_JUDGE)"
        )
    config = json.loads(raw)
    cache = os.environ.get("WIKIKIT_JUDGE_CACHE")
    teacher = make_teacher(
        config,
        api_key=os.environ.get("WIKIKIT_JUDGE_API_KEY"),
        cache_path=Path(cache) if cache else None,
    )
    return teacher_asker(teacher), int(config.get("max_attempts", 3))


def process_results(doc, results):
    row = payload(doc)
    ask_many, attempts = _asker()
    report = judge_tree(row["rubrics"], final_text(results[0]), ask_many, max_attempts=attempts)
    leaves = report.judged + len(report.errors)
    return {
        # a repository whose every leaf failed to be judged is left out, not scored 0 or 1
        "codewikibench": (report.score, 1) if report.score is not None else (0, 0),
        "judged_leaves": (report.judged, leaves),
    }
