"""CodeWikiBench scoring: rubric trees, per-leaf judging, and combining several judges.

A rubric tree is CodeWikiBench's JSON: a list of nodes `{"requirements", "weight" (1-3),
"sub_tasks": [...]}`; a leaf carries `score` (0/1) once judged. A parent's score is the weighted
mean of its children, the repository's score is the weighted mean of the top level. Several
judges' trees are combined leaf by leaf (average, majority vote, max, min); a leaf's std is the
sample std of the judges' scores and a parent's std is sqrt(sum w^2 sigma^2) / sum w, which is
how the reference `combine_evaluations` arrives at its overall_std.

Unlike the reference, a leaf whose judge failed has `score: None`: it is excluded (from that
leaf's combination, and from its parent's mean when no judge scored it), never counted as a pass.
The judge itself (one conversation per leaf) is wikikit.eval.codewikibench.judge.
"""

from __future__ import annotations

import copy
import math
import statistics
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wikikit.bounded import json_loads, json_object_in
from wikikit.errors import InputError

METHODS = ("average", "majority_vote", "max", "min")
MAX_RUBRIC_CHARS = 64 << 20  # CodeWikiBench's largest rubric files are well under 1 MiB

Node = dict[str, Any]


def load_rubrics(path: str | Path) -> list[Node]:
    """Read a rubric tree or an evaluation file (a list, or `{"rubrics": [...]}`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
        data = json_loads(text, max_chars=MAX_RUBRIC_CHARS, what="the rubric file")
    except (OSError, UnicodeDecodeError, ValueError) as e:  # JSONDecodeError, OutOfBounds
        raise InputError(f"{path}: cannot read rubric JSON: {e}") from None
    nodes = data.get("rubrics") if isinstance(data, dict) else data
    if not isinstance(nodes, list):
        raise InputError(f"{path}: expected a list of rubric nodes or {{'rubrics': [...]}}")
    return nodes


def is_leaf(node: Node) -> bool:
    return not node.get("sub_tasks")


def iter_leaves(
    nodes: Sequence[Node], trail: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], Node]]:
    """Every leaf with the requirement texts of its ancestors (outermost first)."""
    for node in nodes:
        here = (*trail, node["requirements"])
        if is_leaf(node):
            yield here, node
        else:
            yield from iter_leaves(node["sub_tasks"], here)


@dataclass
class Scored:
    """A subtree's score and std; `score is None` when nothing under it could be judged."""

    score: float | None
    std: float


def _weighted(children: list[tuple[float, Scored]]) -> Scored:
    kept = [(w, s) for w, s in children if s.score is not None]
    total = sum(w for w, _ in kept)
    if not kept or total <= 0:
        return Scored(None, 0.0)
    mean = sum(w * s.score for w, s in kept) / total  # type: ignore[operator]
    std = math.sqrt(sum((w * s.std) ** 2 for w, s in kept)) / total
    return Scored(mean, std)


def _weight(node: Node) -> float:
    w = node.get("weight", 1)
    if not isinstance(w, int | float) or isinstance(w, bool) or w <= 0:
        raise InputError(
            f"rubric node {node.get('requirements')!r}: weight must be a positive number"
        )
    return float(w)


def score_nodes(nodes: Sequence[Node]) -> Scored:
    """Score one judged tree (leaf `score` 0/1 or None, optional leaf `std`), annotating parents.

    Each non-leaf node gets `score` and `std` written into it, as in CodeWikiBench's output.
    """
    children = []
    for node in nodes:
        if is_leaf(node):
            raw = node.get("score")
            s = Scored(None if raw is None else float(raw), float(node.get("std") or 0.0))
        else:
            s = score_nodes(node["sub_tasks"])
            node["score"], node["std"] = s.score, s.std
        children.append((_weight(node), s))
    return _weighted(children)


def combine_scores(scores: Sequence[float | None], method: str = "average") -> Scored:
    """One leaf's judges combined; None (a failed judge) is left out."""
    if method not in METHODS:
        raise InputError(
            f"eval.judge combination: unknown method {method!r} (one of {', '.join(METHODS)})"
        )
    kept = [float(s) for s in scores if s is not None]
    if not kept:
        return Scored(None, 0.0)
    std = statistics.stdev(kept) if len(kept) > 1 else 0.0
    if method == "average":
        value = sum(kept) / len(kept)
    elif method == "max":
        value = max(kept)
    elif method == "min":
        value = min(kept)
    else:  # majority of 0/1 verdicts; a tie is undecided, so it scores half
        ones = sum(1 for s in kept if s >= 0.5)
        value = 1.0 if ones * 2 > len(kept) else 0.0 if ones * 2 < len(kept) else 0.5
    return Scored(value, std)


@dataclass
class Combined:
    rubrics: list[Node]
    overall_score: float | None
    overall_std: float
    method: str
    num_judges: int
    excluded_leaves: int = 0

    def metadata(self) -> dict[str, Any]:
        s, sd = self.overall_score, self.overall_std
        return {
            "combination_method": self.method,
            "num_evaluations_combined": self.num_judges,
            "overall_score": s,
            "overall_std": sd,
            "overall_score_range": None if s is None else [s - sd, s + sd],
            "excluded_leaves": self.excluded_leaves,
        }


def combine_judges(trees: Sequence[Sequence[Node]], method: str = "average") -> Combined:
    """Combine several judges' evaluations of the same rubric tree into one scored tree."""
    if not trees:
        raise InputError("no judge evaluations to combine")
    combined = copy.deepcopy(list(trees[0]))
    excluded = 0
    leaf_lists = [list(iter_leaves(t)) for t in trees]
    base = list(iter_leaves(combined))
    for i, (trail, leaf) in enumerate(base):
        individual = []
        for j, leaves in enumerate(leaf_lists):
            if i >= len(leaves) or leaves[i][0] != trail:
                raise InputError(
                    f"judge {j}: rubric tree differs from judge 0 at {' > '.join(trail)!r}"
                )
            individual.append(leaves[i][1].get("score"))
        s = combine_scores(individual, method)
        excluded += s.score is None
        leaf["score"], leaf["std"] = s.score, s.std
        ev = leaf.setdefault("evaluation", {})
        ev.update(score=s.score, std=s.std, individual_scores=individual, combination_method=method)
        ev["num_llms"] = sum(x is not None for x in individual)
    overall = score_nodes(combined)
    return Combined(combined, overall.score, overall.std, method, len(trees), excluded)


def combine_files(paths: Sequence[str | Path], method: str = "average") -> Combined:
    return combine_judges([load_rubrics(p) for p in paths], method)


# ---- a judge's verdict on one leaf -----------------------------------------------------------


@dataclass
class Verdict:
    score: int
    reasoning: str
    evidence: str


def parse_verdict(text: str) -> Verdict:
    """The judge's JSON verdict; anything else is an error (so it is retried, never a pass).

    A reply over wikikit.bounded's size or depth limits is such an error too (OutOfBounds).
    """
    obj = json_object_in(text or "", what="judge reply")
    if not isinstance(obj, dict):
        raise ValueError("judge reply has no JSON object")
    score = obj.get("score")
    if score not in (0, 1) or isinstance(score, bool):
        raise ValueError(f"judge score must be 0 or 1, got {score!r}")
    return Verdict(int(score), str(obj.get("reasoning", "")), str(obj.get("evidence", "")))
