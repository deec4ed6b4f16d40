"""wikikit_tooluse: SemanticWiki's tools in the prompt; score the calls the model makes."""

import json
from pathlib import Path

from wikikit.eval.metrics import ratio  # noqa: F401  - used by the YAML's aggregation
from wikikit.eval.metrics.prompts import prompt_style, render_prompt
from wikikit.eval.metrics.taskdata import load_task_dataset, payload
from wikikit.eval.metrics.tooluse import score_tooluse

INSTRUCTIONS = (
    "You are SemanticWiki's documentation agent. Use the tools to explore the repository and "
    "write the wiki: discover, read, analyze, write pages with source references, verify. "
    "Call a tool when the task needs one; answer directly when it does not."
)
# SemanticWiki's bundled mode: tools listed in the prompt, one raw JSON call per line
BUNDLED = (
    'To call a tool, write one line of raw JSON: {{"tool": "tool_name", "args": {{...}}}} '
    "(not in a code block). Tools:\n{tools}"
)


def _tools():
    from wikikit.semanticwiki.tools import TOOLS

    return TOOLS


def load(**kwargs):
    return load_task_dataset(Path(__file__).with_name("test.jsonl"))


def doc_to_text(doc) -> str:
    row = payload(doc)
    if prompt_style() == "harmony":
        return render_prompt(INSTRUCTIONS, row["ask"], tools=_tools())
    listing = json.dumps([t.get("function", t) for t in _tools()], indent=1)
    return render_prompt(INSTRUCTIONS + "\n\n" + BUNDLED.format(tools=listing), row["ask"])


def doc_to_target(doc) -> str:
    return ""


def process_results(doc, results):
    s = score_tooluse(results[0], payload(doc)["expected"])
    return {
        "tooluse": s.tooluse,
        "call_decision": s.call_decision,
        "tool_accuracy": s.tool_accuracy,
        "args_valid": s.args_valid,
    }
