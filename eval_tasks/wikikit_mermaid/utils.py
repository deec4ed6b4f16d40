"""wikikit_mermaid: ask for a diagram of given code; parse every block with the real parser."""

from pathlib import Path

from wikikit.eval.metrics import ratio  # noqa: F401  - used by the YAML's aggregation
from wikikit.eval.metrics.answer import final_text
from wikikit.eval.metrics.mermaid import score_mermaid
from wikikit.eval.metrics.prompts import files_block, render_prompt
from wikikit.eval.metrics.taskdata import load_task_dataset, payload

INSTRUCTIONS = (
    "You write architectural wiki pages for a code repository. Diagrams are Mermaid, in fenced "
    "```mermaid blocks, and must parse with Mermaid's own parser."
)


def load(**kwargs):
    return load_task_dataset(Path(__file__).with_name("test.jsonl"))


def doc_to_text(doc) -> str:
    row = payload(doc)
    user = f"{row['ask']} (Mermaid {row['diagram']} diagram.)\n\n{files_block(row['files'])}"
    return render_prompt(INSTRUCTIONS, user)


def doc_to_target(doc) -> str:
    return ""


def process_results(doc, results):
    row = payload(doc)
    s = score_mermaid(final_text(results[0]), row["diagram"])
    return {
        "validity": s.validity,
        "has_diagram": s.has_diagram,
        "parse_rate": s.parse_rate,
        "type_match": s.type_match,
    }
