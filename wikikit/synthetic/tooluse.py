"""Tool-use trajectories with SemanticWiki's tools, executed for real.

The teacher plans in SemanticWiki's bundled-mode format (one `{"tool": ..., "args": {...}}`
object per line); wikikit validates each call against the tool's schema and runs it with
wikikit.semanticwiki.tools against the repository and a fresh scratch wiki, so each result is
the text SemanticWiki's own tool returns (read_file: the raw file, not numbered lines). The
example keeps only calls that validated and ran, each followed by its real result (cut at
MAX_RESULT_CHARS so an example stays trainable); a rejected call is reported back to the
teacher but left out of the example.
"""

from __future__ import annotations

import json
import re
import shutil
from typing import Any

from wikikit.example import Example, Message, ToolCall
from wikikit.semanticwiki.tools import TOOLS, ToolExecutor, validate_call
from wikikit.synthetic.common import Env, ItemFailed, ask, make_example
from wikikit.synthetic.plan import Item
from wikikit.synthetic.prompts import WIKI_SYSTEM

MAX_RESULT_CHARS = 12_000
MAX_REJECTED_TURNS = 2


def _tool_lines() -> str:
    rows = []
    for t in TOOLS:
        f = t["function"]
        params = f["parameters"]
        args = ", ".join(
            f"{k}{'*' if k in params['required'] else ''}: {v['type']}"
            for k, v in params["properties"].items()
        )
        rows.append(f"- {f['name']}({args}): {f['description']}")
    return "\n".join(rows)


AGENT_SYSTEM = (
    WIKI_SYSTEM
    + "\n\nYou work through tools (* = required argument):\n"
    + _tool_lines()
    + "\n\nTo call tools, write one JSON object per line, exactly "
    '{"tool": "tool_name", "args": {...}}, not inside a code block. Tool results come back in '
    "the next message. Process: discover (directory_tree, read key files), analyze, write the "
    "page with write_wiki_page (source references and a Mermaid diagram), then "
    "verify_wiki_completeness. When the wiki is complete, reply with a short summary and no "
    "tool call."
)


def page_path(item: Item) -> str:
    stem = re.sub(r"[^A-Za-z0-9]+", "-", item.subject[0].rsplit(".", 1)[0]).strip("-").lower()
    return f"components/{stem}.md"


def first_turn(item: Item) -> tuple[str | None, str]:
    user = (
        f"Repository: {item.repo.name}. Document `{item.subject[0]}` as the wiki page "
        f"`{page_path(item)}`, using the tools to read the code."
    )
    return AGENT_SYSTEM, user


def parse_calls(text: str) -> tuple[list[tuple[str, Any]], str]:
    """Bundled-mode calls (one JSON object per line, or fenced) and the remaining prose."""
    calls: list[tuple[str, Any]] = []
    prose: list[str] = []
    text = re.sub(r"```(?:json)?\s*\n(.*?)\n```", lambda m: m.group(1), text, flags=re.S)
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("{") and '"tool"' in s:
            try:
                obj = json.loads(s)
            except json.JSONDecodeError:
                obj = None
            if isinstance(obj, dict) and isinstance(obj.get("tool"), str):
                calls.append((obj["tool"], obj.get("args", {})))
                continue
        prose.append(line)
    return calls, "\n".join(prose).strip()


async def produce_tool_use(item: Item, env: Env) -> Example:
    wiki = env.wiki_root / item.id
    shutil.rmtree(wiki, ignore_errors=True)  # same start every run: results replay exactly
    executor = ToolExecutor(item.repo, wiki)
    system, user = first_turn(item)
    teacher_turns: list[tuple[str, str]] = [("user", user)]
    messages = [Message("system", system), Message("user", user)]
    executed = rejected_turns = 0
    for _ in range(env.max_tool_steps):
        text = (await ask(env, teacher_turns, system)).text
        calls, prose = parse_calls(text)
        if not calls:
            if executed == 0:
                raise ItemFailed("no_tool_calls", "the teacher answered without using a tool")
            messages.append(Message("assistant", prose))
            shutil.rmtree(wiki, ignore_errors=True)
            return make_example(
                item, env, messages, tools=TOOLS, tool_calls=executed, pages=executor.pages()
            )
        kept: list[ToolCall] = []
        results: list[tuple[str, str]] = []
        feedback: list[str] = []
        for name, args in calls:
            reason = validate_call(name, args)
            if reason:
                feedback.append(f"[{name}] call rejected: {reason}")
                continue
            result = executor.execute(name, args)[:MAX_RESULT_CHARS]
            kept.append(ToolCall(name, args))
            results.append((name, result))
            feedback.append(f"[{name}] result:\n{result}")
        teacher_turns += [("assistant", text), ("user", "\n\n".join(feedback))]
        if not kept:
            rejected_turns += 1
            if rejected_turns > MAX_REJECTED_TURNS:
                raise ItemFailed("invalid_tool_calls", feedback[0][:200])
            continue
        executed += len(kept)
        messages.append(Message("assistant", prose, tool_calls=kept))
        messages += [Message("tool", result, name=name) for name, result in results]
    raise ItemFailed("no_final_answer", f"still calling tools after {env.max_tool_steps} steps")
