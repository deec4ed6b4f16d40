"""`kind: codewikibench`: real wiki sections from the CodeWikiBench dataset, loaded with `datasets`.

A row holds `repo_name`, `commit_id` and three JSON strings: `docs_tree` (the heading outline),
`structured_docs` (the same tree with text: a root whose `subpages` are pages, each with
`title`, `content` {heading: text | list | {subheading: ...}}, `metadata`, nested `subpages`)
and `rubrics` (the judge's requirement tree). Each architecture / component / data-flow section
becomes one example: the user asks for that section of the repo's wiki, giving the relevant
code when the recipe maps the repo to a checkout (`repos:`) and the page outline otherwise; the
assistant answers with the section. Rubrics never become training data: they are kept as
`rubrics/<repo_name>.json` for the eval stage, including those of held-out repos
(`data.holdout`), which produce no examples at all; and every row's `commit_id` in
`codewikibench/rows.json` ({repo_name: {commit_id}}), where `eval.heldout.benchmark` finds the
benchmark's repositories and the commits to check them out at.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wikikit import console
from wikikit.bounded import MAX_JSON_DEPTH, OutOfBounds, json_loads, too_deep
from wikikit.code.repo import Repo, language_of
from wikikit.data.sources import SourceContext
from wikikit.data.sources._repos import open_source_repo
from wikikit.data.sources.wiki_sections import (
    DEFAULT_CATEGORIES,
    categorize,
    language_of_paths,
    language_of_refs,
    outline_lines,
    section_request,
)
from wikikit.deepwiki.markdown import restore_mermaid_fences
from wikikit.deepwiki.page import refs_in
from wikikit.errors import InputError
from wikikit.example import Example, Message, Ref, example_id
from wikikit.tokens import count_tokens

DEFAULT_DATASET = "anhnh2002/codewikibench"
ROWS_ARTIFACT = "codewikibench/rows.json"  # read by wikikit.eval.heldout
JSON_FIELDS = ("docs_tree", "structured_docs", "rubrics")
DATA_SUFFIXES = {".parquet": "parquet", ".json": "json", ".jsonl": "json", ".csv": "csv"}
DEFAULT_CONTEXT_TOKENS = 6000
# The real OpenHands rows (../shared/fixtures/codewikibench) nest 11 levels at most and their
# largest field is 574 KiB; a field over this (or over wikikit.bounded's depth) skips its row.
MAX_FIELD_CHARS = 64 << 20
MAX_REPO_FILE_BYTES = 1_000_000  # open_repo's default: larger files are skipped and counted
CODE_PATH = re.compile(
    r"(?<![\w/])((?:[\w.-]+/)*[\w.-]+\.(?:py|ts|tsx|js|jsx|go|java|rs|rb|c|cc|cpp|h|hpp|cs|kt|swift|php|scala))\b"
)
DOTTED_MODULE = re.compile(r"`((?:[A-Za-z_]\w*\.){1,8}[A-Za-z_]\w*)`")


def generate(name: str, config: dict[str, Any], ctx: SourceContext) -> Iterator[Example]:
    where = ".".join(map(str, ctx.key_path)) or f"data.sources.{name}"
    stats = ctx.stats[name]
    wanted = set(config.get("categories") or DEFAULT_CATEGORIES)
    limit = config.get("max_examples")
    if ctx.dry_run:
        console.info(
            f"{name}: would read {config.get('path') or config.get('dataset', DEFAULT_DATASET)}"
        )
        return
    n = 0
    for i, row in enumerate(load_rows(config, ctx, where)):
        repo_name = str(row.get("repo_name") or "")
        if not repo_name:
            raise InputError(f"{where}: row {i} has no repo_name")
        try:
            docs_tree, docs, rubrics = (
                decode_json(row.get(f), f, repo_name, where) for f in JSON_FIELDS
            )
        except BadRow as exc:  # one broken row costs that row, not the run
            stats["rows_malformed"] += 1
            console.warn(str(exc))
            continue
        if rubrics is not None:
            ctx.artifacts[f"rubrics/{safe_name(repo_name)}.json"] = rubrics
        ctx.artifacts.setdefault(ROWS_ARTIFACT, {})[repo_name] = {
            "commit_id": str(row.get("commit_id") or "") or None
        }
        if ctx.holdout.matches(repo_name):
            stats["holdout_repos"] += 1
            continue
        commit = str(row.get("commit_id") or "") or None
        checkout = open_checkout(config, ctx, where, repo_name)
        for example in row_examples(row, repo_name, commit, docs, checkout, wanted, config, stats):
            yield example
            n += 1
            if limit and n >= limit:
                return


def load_rows(config: dict[str, Any], ctx: SourceContext, where: str) -> Iterator[dict[str, Any]]:
    """Rows from the Hub (`dataset`, `revision`) or a local copy (`path`), through `datasets`."""
    import datasets

    split = config.get("split", "train")
    cache = str(Path(ctx.cache_dir) / "hf-datasets")
    if config.get("path"):
        path = resolve(ctx, config["path"], (*ctx.key_path, "path"))
        if not path.exists():
            raise InputError(f"{where}.path: not found: {config['path']}")
        if path.is_dir() and (
            (path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists()
        ):
            ds = datasets.load_from_disk(str(path))
            if isinstance(ds, datasets.DatasetDict):
                if split not in ds:
                    raise InputError(f"{where}.split: {split!r} not in {sorted(ds)}")
                ds = ds[split]
        else:
            files = (
                sorted(p for p in path.rglob("*") if p.suffix in DATA_SUFFIXES)
                if path.is_dir()
                else [path]
            )
            kinds = {DATA_SUFFIXES.get(p.suffix) for p in files}
            if not files or None in kinds or len(kinds) != 1:
                raise InputError(
                    f"{where}.path: expected a save_to_disk folder or parquet/json/csv files: {config['path']}"
                )
            ds = datasets.load_dataset(
                kinds.pop(),
                data_files={split: [str(p) for p in files]},
                split=split,
                cache_dir=cache,
            )
    else:
        token = ctx.recipe.secret((*ctx.key_path, "token")) if config.get("token") else None
        ds = datasets.load_dataset(
            config.get("dataset", DEFAULT_DATASET),
            revision=config.get("revision"),
            split=split,
            token=token,
            cache_dir=cache,
        )
    missing = {"repo_name", *JSON_FIELDS} - set(ds.column_names)
    if missing:
        raise InputError(
            f"{where}: dataset lacks columns {sorted(missing)} (has {ds.column_names})"
        )
    yield from ds


def resolve(ctx: SourceContext, value: str, key_path: tuple) -> Path:
    recipe = ctx.recipe
    if recipe is not None and hasattr(recipe, "resolve_path"):
        return recipe.resolve_path(value, key_path)
    return Path(value).expanduser()


class BadRow(ValueError):
    """A row whose JSON field is malformed or over wikikit.bounded's limits; it is skipped."""


def decode_json(value: Any, field: str, repo_name: str, where: str) -> Any:
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        if too_deep(value):
            raise BadRow(f"{where}: {repo_name}: {field} is nested deeper than {MAX_JSON_DEPTH}")
        return value
    try:
        return json_loads(str(value), max_chars=MAX_FIELD_CHARS, what=field)
    except OutOfBounds as e:
        raise BadRow(f"{where}: {repo_name}: {e}; row skipped") from None
    except json.JSONDecodeError as e:
        raise BadRow(
            f"{where}: {repo_name}: {field} is not JSON ({e.msg} at {e.pos}); row skipped"
        ) from None


def safe_name(repo_name: str) -> str:
    return re.sub(r"[^\w.-]+", "__", repo_name)


def open_checkout(
    config: dict[str, Any], ctx: SourceContext, where: str, repo_name: str
) -> Repo | None:
    spec = (config.get("repos") or {}).get(repo_name)
    if spec is None:
        return None
    return open_source_repo(spec, repo_name, ctx, MAX_REPO_FILE_BYTES)


# -- structured_docs ------------------------------------------------------------------------


def iter_pages(
    node: dict[str, Any], trail: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], dict]]:
    """Every page below the root, with the titles of its parent pages."""
    for page in node.get("subpages") or []:
        here = (*trail, str(page.get("title") or ""))
        yield here, page
        yield from iter_pages(page, here)


def page_sections(page: dict[str, Any]) -> tuple[str, list[tuple[str, Any]]]:
    """(page heading, [(section heading, value)]): a lone top key is the page's own H1."""
    content = page.get("content") or {}
    title = str(page.get("title") or "")
    if isinstance(content, dict) and len(content) == 1:
        ((only, value),) = content.items()
        if isinstance(value, dict):
            return str(only), list(value.items())
    if isinstance(content, dict):
        return title, list(content.items())
    return title, [(title, content)]


def render(value: Any, level: int) -> str:
    """A section's value as markdown: strings as they are, lists as bullets, dicts as subsections."""
    if isinstance(value, dict):
        return "\n\n".join(
            f"{'#' * min(level, 6)} {k}\n\n{render(v, level + 1)}".strip() for k, v in value.items()
        )
    if isinstance(value, list):
        return render_list(value, 0)
    return str(value or "").strip()


def render_list(items: list, depth: int) -> str:
    lines = []
    for item in items:
        if isinstance(item, list):
            lines.append(render_list(item, depth + 1))
        elif isinstance(item, dict):
            lines.append(render(item, 4))
        else:
            text = str(item).strip()
            if "\n" in text or text.startswith("```"):
                lines.append(text)  # a paragraph or code block, not a bullet
            else:
                lines.append("  " * depth + "- " + text)
    return "\n".join(line for line in lines if line)


def outline(value: Any, level: int) -> list[tuple[int, str]]:
    if not isinstance(value, dict):
        return []
    out = []
    for k, v in value.items():
        out.append((level, str(k)))
        out.extend(outline(v, level + 1))
    return out


def row_examples(
    row, repo_name, commit, docs, checkout, wanted, config, stats
) -> Iterator[Example]:
    if not isinstance(docs, dict):
        stats["rows_without_docs"] += 1
        return
    repo_id = (
        checkout.id
        if checkout is not None and not commit
        else (f"{repo_name}@{commit}" if commit else repo_name)
    )
    row_language = row.get("language") or row.get("programming_language")
    budget = int(config.get("max_context_tokens", DEFAULT_CONTEXT_TOKENS))
    for trail, page in iter_pages(docs):
        page_heading, sections = page_sections(page)
        page_outline = [(1, page_heading)] + [
            item for h, v in sections for item in [(2, str(h))] + outline(v, 3)
        ]
        for heading, value in sections:
            heading = str(heading)
            category = categorize(heading, page_heading)
            if category not in wanted:
                stats["sections_other_category"] += 1
                continue
            body = restore_mermaid_fences(render(value, 3))
            if not body.strip():
                stats["sections_empty"] += 1
                continue
            text = f"## {heading}\n\n{body}"
            refs = refs_in(text)
            if checkout is not None:
                context = code_context(checkout, refs, text, budget)
                if not context:
                    stats["sections_without_code"] += 1
                    context = "Page outline:\n" + outline_lines(page_outline)
            else:
                context = "Page outline:\n" + outline_lines(page_outline)
            language = row_language or language_of_refs(refs)
            if language == "unknown" and checkout is not None:
                language = language_of_paths(checkout.iter_files())
            stats["sections"] += 1
            yield Example(
                id=example_id("codewikibench", repo_name, commit, trail, heading),
                messages=[
                    Message("user", section_request(repo_name, page_heading, heading, context)),
                    Message("assistant", text),
                ],
                source="codewikibench",
                category=category,
                language=str(language),
                repo=repo_id,
                refs=refs,
                meta={
                    "page": " / ".join(trail),
                    "heading": heading,
                    "has_code": checkout is not None,
                },
            )


def code_context(repo: Repo, refs: list[Ref], text: str, budget_tokens: int) -> str:
    """The code a section talks about, numbered by line: referenced ranges, else mentioned files."""
    pieces: list[str] = []
    used = 0

    def add(path: str, start: int, end: int) -> bool:
        nonlocal used
        lines = repo.lines(path)
        start, end = max(1, start), min(len(lines), end)
        if start > end:
            return True
        snippet = "\n".join(f"{n:>5} | {lines[n - 1]}" for n in range(start, end + 1))
        piece = f"{path}:{start}-{end}\n```{language_of(path) or ''}\n{snippet}\n```"
        cost = count_tokens(piece)
        if used + cost > budget_tokens:
            return False
        pieces.append(piece)
        used += cost
        return True

    for ref in refs:
        if repo.exists(ref.path) and not add(ref.path, ref.start - 3, ref.end + 3):
            break
    if not pieces:
        for path in mentioned_files(repo, text):
            if not add(path, 1, 200):
                break
    return "Relevant code:\n\n" + "\n\n".join(pieces) if pieces else ""


def mentioned_files(repo: Repo, text: str) -> list[str]:
    """Files a section names: paths (`a/b.py`, `b.py`) and dotted modules (`pkg.mod.Class`)."""
    files = list(repo.iter_files())
    by_name: dict[str, list[str]] = {}
    for f in files:
        by_name.setdefault(f.rsplit("/", 1)[-1], []).append(f)
    found: list[str] = []
    for m in CODE_PATH.finditer(text):
        p = m.group(1)
        hits = (
            [p]
            if repo.exists(p)
            else [f for f in by_name.get(p.rsplit("/", 1)[-1], []) if f.endswith(p)]
        )
        found.extend(hits[:1])
    for m in DOTTED_MODULE.finditer(text):
        parts = m.group(1).split(".")
        for cut in range(len(parts), 0, -1):
            for suffix in (".py", ".ts", ".js", ".go", ".java", ".rs"):
                cand = "/".join(parts[:cut]) + suffix
                if repo.exists(cand):
                    found.append(cand)
                    break
            else:
                continue
            break
    return list(dict.fromkeys(found))
