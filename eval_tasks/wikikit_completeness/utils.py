"""wikikit_completeness: the model writes a small wiki; check links, references, required pages."""

from pathlib import Path

from wikikit.eval.metrics import ratio  # noqa: F401  - used by the YAML's aggregation
from wikikit.eval.metrics.answer import final_text
from wikikit.eval.metrics.completeness import pages_from_output, score_completeness
from wikikit.eval.metrics.prompts import files_block, render_prompt
from wikikit.eval.metrics.taskdata import load_task_dataset, payload

INSTRUCTIONS = (
    "You write a complete architectural wiki for a code repository, as several pages. Start each "
    "page with a line `<!-- page: PATH -->` (PATH like overview.md or components/name.md), or "
    'write each page with one bundled call per line: {"tool": "write_wiki_page", "args": '
    '{"pagePath": ..., "title": ..., "content": ...}}. Link pages to each other with relative '
    "markdown links, never to a page you do not write, and cite source lines in every page as "
    "**Source:** [`path:start-end`](path#Lstart-Lend)."
)


def load(**kwargs):
    return load_task_dataset(Path(__file__).with_name("test.jsonl"))


def doc_to_text(doc) -> str:
    row = payload(doc)
    required = ", ".join(row["required"])
    user = (
        f"Write the wiki for the {row['repo']} repository. It must include: {required}.\n\n"
        f"{files_block(row['files'])}"
    )
    return render_prompt(INSTRUCTIONS, user)


def doc_to_target(doc) -> str:
    return ""


def process_results(doc, results):
    row = payload(doc)
    raw = results[0]
    # pages may come as tool calls (anywhere in the output) or as marked final text
    pages = pages_from_output(raw) or pages_from_output(final_text(raw))
    s = score_completeness(pages, row["required"])
    return {
        "completeness": (s.completeness, 1),
        "links": s.links,
        "referenced": s.referenced,
        "required": s.required,
    }
