"""Rebuild demo/teacher-cache.sqlite: the teacher answers the demo's synthetic source replays.

The demo recipe's synthetic source runs with `teacher: {offline: true, cache: ...}`: every
prompt must already be in the cache, keyed by (provider, model, system, messages, sampling).
This script runs that same source once, with `offline` off, against a local fake teacher on
127.0.0.1 (tests/teacher_fakes.py) that answers in each generator's format with documentation
written from the real demo/shop code: each top-level class or function of the files a prompt
shows gets a section with an exact `path:start-end` reference, a snippet of those lines and a
Mermaid diagram of the file's imports, so the quality filters (refs verified against
demo/shop) keep the answers. No real model, no API key, no network beyond 127.0.0.1.

Run it from the repository root whenever the prompts change (the synthetic generators, the
demo recipe's `distill` source, or demo/shop, which is frozen for this reason):

    .venv/bin/python demo/build_teacher_cache.py
"""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "demo.yaml"
SHOP = ROOT / "demo" / "shop"
SOURCE = "distill"
MAX_SNIPPET_LINES = 20
TOP_LEVEL = re.compile(r"^(class|def) (\w+)")
IMPORT = re.compile(r"^from (shop\.\w+) import (.+)$")
FILE_MENTION = re.compile(r"(?:File: |Document `|`)(shop/\w+\.py)\b")

sys.path.insert(0, str(ROOT / "tests"))  # the fake teacher server and scripted responder


def definitions(lines: list[str]) -> list[tuple[str, str, int, int]]:
    """(kind, name, start, end) of each top-level class/function, trailing blanks excluded."""
    starts = [(i, m) for i, line in enumerate(lines) if (m := TOP_LEVEL.match(line))]
    out = []
    for n, (i, m) in enumerate(starts):
        end = starts[n + 1][0] if n + 1 < len(starts) else len(lines)
        while end > i + 1 and not lines[end - 1].strip():
            end -= 1
        while end > i + 1 and lines[end - 1].startswith(("@", "#")):
            end -= 1
        out.append((m.group(1), m.group(2), i + 1, end))
    return out


def docstring_of(lines: list[str], start: int) -> str:
    """The first docstring line after line `start` (1-based), if the body opens with one."""
    for line in lines[start : start + 3]:
        s = line.strip()
        if s.startswith('"""'):
            return s.strip('"').strip()
    return ""


def file_doc(path: str, level: int = 2, pick: int = 0) -> str:
    """A SemanticWiki-style section for one demo/shop file, written from its real lines.

    `pick` rotates which definitions are covered, so answers to different prompts about the
    same file differ (the data stage would drop them as duplicates otherwise)."""
    lines = (SHOP / path).read_text(encoding="utf-8").splitlines()
    module = path[:-3].replace("/", ".")
    summary = docstring_of(["", *lines], 0) or f"The `{module}` module."
    h = "#" * level
    parts = [f"{h} `{module}`\n\n{summary} It lives in `{path}` ({len(lines)} lines)."]
    defs = definitions(lines)
    start_at = pick % len(defs) if defs else 0
    chosen = (defs[start_at:] + defs[:start_at])[: 1 + pick % 3]
    for kind, name, start, end in chosen:
        what = docstring_of(lines, start) or (
            f"The {'class' if kind == 'class' else 'function'} `{name}`, "
            f"{end - start + 1} lines, defined in `{module}`."
        )
        snippet = "\n".join(lines[start - 1 : min(end, start - 1 + MAX_SNIPPET_LINES)])
        parts.append(
            f"{h}# `{name}`\n\n{what}\n\n"
            f"**Source:** [`{path}:{start}-{end}`]({path}#L{start}-L{end})\n\n"
            f"```python\n{snippet}\n```"
        )
    # A diagram of what the module depends on, or else of what it defines.
    me = module.split(".")[-1]
    imports = [(m.group(1), m.group(2)) for line in lines if (m := IMPORT.match(line))]
    edges = [
        f'    {me}["{module}"] --> {dep.split(".")[-1]}["{dep}: {names.strip()}"]'
        for dep, names in imports
    ] or [
        f'    {me}["{module}"] --> {name}["{kind} {name}"]'
        for kind, name, _, _ in definitions(lines)
    ]
    if edges:
        title = "Dependencies" if imports else "Structure"
        parts.append(f"{h}# {title}\n\n```mermaid\ngraph TD\n" + "\n".join(edges) + "\n```")
    return "\n\n".join(parts)


def paths_in(text: str) -> list[str]:
    found = [p for p in dict.fromkeys(FILE_MENTION.findall(text)) if (SHOP / p).is_file()]
    return found or ["shop/orders.py"]


def shop_responder(api: str, body: dict[str, Any]) -> str:
    """Documentation prompts get docs of the files they show; others the scripted formats."""
    import synthetic_fakes
    from teacher_fakes import last_user_text

    user = last_user_text(body)
    system = synthetic_fakes._system(body)
    pick = int(hashlib.sha256(user.encode()).hexdigest(), 16) % 97
    scripted = (
        "You work through tools" in system
        or any(tag in user for tag in ("<question>", "<feature>", "<instruction>", '"score"'))
        or "Do not cite paths" in user
    )
    steps = sum(1 for m in body.get("messages") or [] if m.get("role") == "assistant")
    if "You work through tools" in system and steps >= 3:
        path = paths_in(user)[0]
        kind, name, start, end = definitions((SHOP / path).read_text().splitlines())[pick % 2]
        return (
            f"The page components/cart.md is written and documents `{path}`, starting with "
            f"`{name}` ({path}:{start}-{end}). The completeness check reports one missing "
            "page, pricing.md, which the next run of the agent should write so that every "
            "link in the wiki resolves."
        )
    if scripted:
        # The scripted answers embed synthetic_fakes._doc(path): make that the real-code doc.
        synthetic_fakes._doc = lambda path: file_doc(
            path if (SHOP / path).is_file() else "shop/orders.py", 2, pick
        )
        return synthetic_fakes.wiki_responder(api, body)
    paths = paths_in(user)
    ask = next(
        (
            line.strip()
            for line in user.splitlines()
            if line.strip()
            and " | " not in line
            and not line.startswith(("Repository:", "File:", "Layout", "```", "- "))
        ),
        "",
    )[:200]
    intro = (
        f"Asked: {ask}\n\nThis page covers {', '.join(f'`{p}`' for p in paths[:3])} of the "
        "shop, a small store whose checkout reserves stock, charges a payment gateway and "
        "saves orders."
    )
    return "\n\n".join([intro, *(file_doc(p, 2, pick + i) for i, p in enumerate(paths[:3]))])


def main() -> int:
    import os

    from teacher_fakes import FakeTeacherServer

    import wikikit  # noqa: F401 - sets the offline tokenizer paths first
    from wikikit.data.sources import SourceContext, synthetic
    from wikikit.recipe.load import load_recipe

    recipe = load_recipe(RECIPE)
    config = recipe.data["data"]["sources"][SOURCE]
    teacher = config["teacher"]
    cache = recipe.resolve_path(teacher["cache"], ("data", "sources", SOURCE, "teacher", "cache"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{cache}{suffix}").unlink(missing_ok=True)
    os.environ.setdefault("ANTHROPIC_API_KEY", "sk-ant-demo-fake")  # the fake server ignores it
    import tempfile

    with FakeTeacherServer(shop_responder) as server, tempfile.TemporaryDirectory() as tmp:
        live = {
            **config,
            "teacher": {
                **teacher,
                "offline": False,
                "base_url": server.base_url(teacher["provider"]),
            },
        }
        ctx = SourceContext(
            recipe=recipe,
            cache_dir=Path(tmp),
            seed=int(recipe.data.get("seed", 0)),
            key_path=("data", "sources", SOURCE),
        )
        examples = list(synthetic.generate(SOURCE, live, ctx))
        failures = ctx.artifacts[f"synthetic/{SOURCE}/failures.json"]
        requests = len(server.log)
    import sqlite3

    conn = sqlite3.connect(cache)
    conn.execute("PRAGMA journal_mode=DELETE")  # one self-contained file to ship
    conn.execute("VACUUM")
    rows = conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    conn.close()
    print(
        f"{cache.relative_to(ROOT)}: {rows} responses from {requests} requests; "
        f"{len(examples)} examples, {len(failures)} failed"
    )
    for f in failures[:5]:
        print(f"  failed: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
