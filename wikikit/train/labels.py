"""`wikikit train RECIPE --check-labels`: are the tokens Axolotl trains exactly the model's own?

A sample of the data stage's rows (a few per category) goes through Axolotl's own preprocessing
(`axolotl preprocess` with the recipe's generated config, only the paths changed); each prepared
row is then compared with what the row's harmony `text` (the data stage's rendering, which
follows openai-harmony and the recipe's runtime) says:

- its token ids must be the `text`'s: the template Axolotl renders with agrees with the data
  (the rows go to Axolotl whole, so each is rendered with its own `current_date`, the day its
  text's system block says: wikikit/recipe/dates.py, wikikit/train/harmony_turns.py);
- its trained tokens must be exactly the assistant's: read from the harmony messages of the text,
  every assistant message after the last user message is trained from the token after the
  runtime's generation prompt `<|start|>assistant` (so `<|channel|>...` and ` to=functions.X`
  included) through its end token (`<|end|>` after thinking or a preamble, `<|call|>` after a
  tool call, `<|return|>` after the final answer), and nothing else: not the system, developer,
  user or tool messages, not an earlier turn (the runtime re-renders history in another form).

The report gives, per category, how many rows were checked and how many match; the first
mismatch is printed decoded with the trained part between ⟦ and ⟧.
"""

from __future__ import annotations

import shutil
from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wikikit import console
from wikikit.atomic import write_jsonl, write_text
from wikikit.bounded import read_jsonl
from wikikit.errors import InputError, WikikitError

END_TOKENS = ("<|end|>", "<|call|>", "<|return|>")
START, MESSAGE = "<|start|>", "<|message|>"
GENERATION_PROMPT = "<|start|>assistant"
OPEN, CLOSE = "⟦", "⟧"
DEFAULT_N = 3


@dataclass
class Span:
    """One harmony message in a text: [start, end) in characters, its author, whether trained."""

    start: int
    end: int
    author: str


def harmony_messages(text: str) -> list[Span]:
    """The messages of a harmony text, in order (raises on text that is not harmony)."""
    spans: list[Span] = []
    pos = 0
    while pos < len(text):
        if not text.startswith(START, pos):
            raise ValueError(f"not harmony at character {pos}: {text[pos : pos + 40]!r}")
        body = text.find(MESSAGE, pos)
        if body < 0:
            raise ValueError(f"a message without {MESSAGE} at character {pos}")
        header = text[pos + len(START) : body]
        author = header.split("<|", 1)[0].split(" ", 1)[0]
        ends = [(text.find(t, body), t) for t in END_TOKENS]
        found = [(i, t) for i, t in ends if i >= 0]
        if not found:
            raise ValueError(f"a message without an end token at character {pos}")
        i, tok = min(found)
        spans.append(Span(pos, i + len(tok), author))
        pos = i + len(tok)
    return spans


def trained_ranges(text: str) -> list[tuple[int, int]]:
    """Character ranges the model writes: see the module docstring."""
    spans = harmony_messages(text)
    users = [k for k, s in enumerate(spans) if s.author == "user"]
    first = users[-1] + 1 if users else 0
    out: list[tuple[int, int]] = []
    for k in range(first, len(spans)):
        s = spans[k]
        if s.author != "assistant":
            continue
        continues = k > first and spans[k - 1].author == "assistant"
        if continues:  # the model writes the next message's header itself
            out[-1] = (out[-1][0], s.end)
        else:
            out.append((s.start + len(GENERATION_PROMPT), s.end))
    return out


def expected_labels(text: str, tokenizer: Any) -> tuple[list[int], list[bool]]:
    """The text's token ids and, per token, whether it must be trained."""
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ranges = trained_ranges(text)
    starts = [a for a, _ in ranges]
    mask = []
    for a, b in enc["offset_mapping"]:
        k = bisect_left(starts, a + 1) - 1  # the range starting at or before this token
        inside = k >= 0 and ranges[k][0] <= a and b <= ranges[k][1]
        mask.append(inside)
    return list(enc["input_ids"]), mask


def marked(ids: list[int], mask: list[bool], tokenizer: Any, lo: int = 0, hi: int | None = None):
    """Decoded tokens ids[lo:hi] with trained runs between ⟦ and ⟧."""
    hi = len(ids) if hi is None else hi
    out, run, cur = [], [], None
    for t, m in zip(ids[lo:hi], mask[lo:hi], strict=True):
        if m != cur and run:
            text = tokenizer.decode(run)
            out.append(f"{OPEN}{text}{CLOSE}" if cur else text)
            run = []
        cur = m
        run.append(t)
    if run:
        text = tokenizer.decode(run)
        out.append(f"{OPEN}{text}{CLOSE}" if cur else text)
    return "".join(out)


@dataclass
class RowCheck:
    id: str
    category: str
    ok: bool
    problem: str = ""
    detail: list[str] = field(default_factory=list)
    trained_tokens: list[int] = field(default_factory=list)
    shapes: tuple[str, ...] = ()  # "thinking", "tool calls", "turns" the row has


def shapes_of(row: dict) -> tuple[str, ...]:
    msgs = row.get("messages") or []
    out = []
    if any(m.get("thinking") for m in msgs):
        out.append("thinking")
    if any(m.get("tool_calls") for m in msgs):
        out.append("tool calls")
    if sum(m.get("role") == "user" for m in msgs) > 1:
        out.append("turns")
    return tuple(out)


def check_row(row: dict, prepared: dict[tuple, dict], tokenizer: Any, window: int = 48) -> RowCheck:
    """Compare one data row with the prepared row of the same token ids."""
    result = _check_row(row, prepared, tokenizer, window)
    result.shapes = shapes_of(row)
    return result


def _check_row(row: dict, prepared: dict[tuple, dict], tokenizer: Any, window: int) -> RowCheck:
    rid, cat = str(row.get("id")), str(row.get("category"))
    try:
        ids, want = expected_labels(row["text"], tokenizer)
    except ValueError as e:
        return RowCheck(rid, cat, False, f"its text is not harmony ({e})")
    got_row = prepared.get(tuple(ids))
    if got_row is None:
        return _rendered_differently(rid, cat, ids, prepared, tokenizer, window)
    got = [lab != -100 for lab in got_row["labels"]]
    trained = [t for t, m in zip(ids, got, strict=True) if m]
    if got == want:
        return RowCheck(rid, cat, True, trained_tokens=trained)
    i = next(k for k, (a, b) in enumerate(zip(got, want, strict=True)) if a != b)
    lo, hi = max(0, i - window), min(len(ids), i + window)
    what = "trained but is not the model's" if got[i] else "the model's but not trained"
    return RowCheck(
        rid,
        cat,
        False,
        f"token {i} ({tokenizer.decode([ids[i]])!r}) is {what}",
        [
            f"  Axolotl trains: {marked(ids, got, tokenizer, lo, hi)!r}",
            f"  the model says: {marked(ids, want, tokenizer, lo, hi)!r}",
        ],
        trained,
    )


def _rendered_differently(rid, cat, ids, prepared, tokenizer, window) -> RowCheck:
    if not prepared:
        return RowCheck(rid, cat, False, "Axolotl prepared no row for it")

    def common(other: tuple) -> int:
        n = 0
        for a, b in zip(ids, other, strict=False):
            if a != b:
                break
            n += 1
        return n

    best = max(prepared, key=common)
    i = common(best)
    lo = max(0, i - window)
    return RowCheck(
        rid,
        cat,
        False,
        f"Axolotl's tokens differ from the data's text from token {i} on "
        "(the template renders it differently, or the row was dropped)",
        [
            f"  data text:  {tokenizer.decode(ids[lo : i + window])!r}",
            f"  Axolotl's:  {tokenizer.decode(list(best[lo : i + window]))!r}",
        ],
    )


def sample_rows(data_dir: Path, n: int) -> list[dict]:
    """Up to n rows per category from train.jsonl (then validation.jsonl), spread over the file."""
    by_cat: dict[str, list[dict]] = defaultdict(list)
    for name in ("train.jsonl", "validation.jsonl"):
        path = data_dir / name
        if not path.is_file():
            continue
        for row in read_jsonl(path):
            by_cat[str(row.get("category"))].append(row)
    out = []
    for cat in sorted(by_cat):
        rows = by_cat[cat]
        step = max(1, len(rows) // n)
        out.extend(rows[::step][:n])
    return out


@dataclass
class LabelReport:
    checks: list[RowCheck]

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def by_category(self) -> dict[str, list[RowCheck]]:
        out: dict[str, list[RowCheck]] = defaultdict(list)
        for c in self.checks:
            out[c.category].append(c)
        return dict(sorted(out.items()))

    def summary(self) -> dict[str, dict[str, int]]:
        """Per category: rows checked and rows that match (metrics.json's `label_check`)."""
        return {
            cat: {"checked": len(cs), "ok": sum(c.ok for c in cs)}
            for cat, cs in self.by_category().items()
        }

    def lines(self) -> list[str]:
        lines = []
        for cat, checks in self.by_category().items():
            bad = [c for c in checks if not c.ok]
            verdict = "ok" if not bad else f"{len(bad)} MISMATCH"
            kinds = [
                f"{n} with {s}"
                for s in ("thinking", "tool calls", "turns")
                if (n := sum(s in c.shapes for c in checks))
            ]
            shapes = f" ({', '.join(kinds)})" if kinds else ""
            lines.append(f"labels: {cat}: {len(checks)} checked, {verdict}{shapes}")
        first = next((c for c in self.checks if not c.ok), None)
        if first is not None:
            lines.append(
                f"labels: first mismatch: {first.category} row {first.id}: {first.problem}"
            )
            lines.extend(first.detail)
        return lines


def load_prepared(prepared_dir: Path) -> dict[tuple, dict]:
    """Axolotl's tokenized rows, keyed by their token ids."""
    from datasets import load_from_disk

    rows: dict[tuple, dict] = {}
    for info in sorted(prepared_dir.rglob("dataset_info.json")):
        for r in load_from_disk(str(info.parent)):
            rows[tuple(r["input_ids"])] = {"labels": r["labels"]}
    return rows


def check_labels(
    recipe: Any,
    data_dir: Path,
    work_dir: Path,
    base_model: str,
    *,
    n: int = DEFAULT_N,
    axolotl_bin: Path | None = None,
) -> LabelReport:
    """Run Axolotl's preprocessing on a sample of the data and check every prepared row."""
    from wikikit.train.axolotl_config import axolotl_config, check_config, config_yaml, recipe_data
    from wikikit.train.axolotl_run import find_axolotl, run_axolotl, subprocess_env

    data_dir = Path(data_dir)
    model = recipe_data(recipe).get("model") or {}
    fmt = model.get("format", "chatml" if model.get("family") == "chatml" else "harmony")
    if fmt != "harmony":
        raise InputError(
            f"model.format: {fmt}: --check-labels reads the data's harmony text (format: harmony)"
        )
    if not (data_dir / "train.jsonl").is_file():
        raise InputError(
            f"train --check-labels: no train.jsonl in {data_dir}; run the data stage first "
            "(wikikit run RECIPE --only data)"
        )
    if n < 1:
        raise InputError(f"train --check-labels: --n must be at least 1 (got {n})")
    rows = sample_rows(data_dir, n)
    if not rows:
        raise InputError(f"train --check-labels: {data_dir / 'train.jsonl'} has no rows")
    work = Path(work_dir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    write_jsonl(work / "train.jsonl", rows)
    cfg = axolotl_config(recipe, work, work, base_model, cache_dir=work)
    cfg.pop("test_datasets", None)
    cfg["dataset_prepared_path"] = str(work / "prepared")
    cfg["shuffle_merged_datasets"] = False
    check_config(cfg, recipe)
    write_text(work / "axolotl.yaml", config_yaml(cfg))
    binary = axolotl_bin or find_axolotl(recipe)
    env = subprocess_env(binary, Path(base_model).is_dir())
    console.info(f"labels: Axolotl's preprocessing on {len(rows)} rows")
    run_axolotl(
        [str(binary), "preprocess", str(work / "axolotl.yaml")], work / "preprocess.log", env
    )

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base_model)
    prepared = load_prepared(work / "prepared")
    if not prepared:
        raise WikikitError(
            f"train --check-labels: Axolotl prepared nothing; see {work / 'preprocess.log'}"
        )
    return LabelReport([check_row(r, prepared, tokenizer) for r in rows])
