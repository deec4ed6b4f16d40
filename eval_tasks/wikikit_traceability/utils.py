"""wikikit_traceability: document line-numbered code; score the references (wikikit.eval.metrics)."""

from pathlib import Path

from wikikit.eval.metrics import ratio  # noqa: F401  - used by the YAML's aggregation
from wikikit.eval.metrics.answer import final_text
from wikikit.eval.metrics.prompts import files_block, render_prompt
from wikikit.eval.metrics.taskdata import load_task_dataset, payload
from wikikit.eval.metrics.traceability import score_traceability

INSTRUCTIONS = (
    "You write architectural wiki pages for a code repository. Ground every section in the code: "
    "after each concept, cite the exact lines as "
    "**Source:** [`path:start-end`](path#Lstart-Lend) using the line numbers shown, then continue. "
    "Never cite a file or line that is not shown."
)


def load(**kwargs):
    return load_task_dataset(Path(__file__).with_name("test.jsonl"))


def doc_to_text(doc) -> str:
    row = payload(doc)
    user = f"{row['ask']}\n\n{files_block(row['files'])}"
    return render_prompt(INSTRUCTIONS, user)


def doc_to_target(doc) -> str:
    return ""


def process_results(doc, results):
    row = payload(doc)
    files = {f["path"]: f["text"] for f in row["files"]}
    s = score_traceability(final_text(results[0]), files)
    return {
        "traceability": s.traceability,
        "coverage": s.coverage,
        "resolved": s.resolved,
        "precision": s.precision,
    }
