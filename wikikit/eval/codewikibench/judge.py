"""One judge over one rubric tree, the way CodeWikiBench judges: one conversation per leaf.

What CodeWikiBench does (FSoft-AI4Code/CodeWikiBench at commit 5e728fb, src/judge/judge.py,
src/tools/docs_navigator.py, src/utils.py), and what this module keeps:
- each rubric leaf is judged alone: the prompt gives the leaf's criterion and the documentation's
  `docs_tree` outline (titles only, texts hidden as `<detail_content>`) and asks the judge to
  read the sections it needs with the `docs_navigator` tool before deciding (here the outline
  comes first and the criterion after it, so all leaves share one cacheable prefix);
- the tool takes `paths`, a list of key paths into the documentation (e.g. `["subpages", 2,
  "content", "Getting Started"]`), and answers each with the content found there, as JSON, cut
  at a token limit (upstream: 36,000 tokens);
- the verdict is a JSON object `{"criteria", "score": 0 or 1, "reasoning", "evidence"}`;
- the judge model runs at temperature 0 (upstream's OpenAIChatModelSettings);
- scores combine bottom-up by weight (wikikit.eval.rubrics).
What differs, on purpose:
- the tool is offered in the conversation itself (the judge replies with
  `{"tool": "docs_navigator", "paths": [...]}` and gets the content as the next user turn)
  instead of as provider-native function calling (upstream: pydantic-ai), so every wikikit
  teacher provider can judge, through the same cache, budget and retry loop;
- when the whole wiki fits the judge's context (`mode: auto` with `context_tokens`, or
  `mode: whole`), the leaf's prompt carries every page instead of the outline and the tool;
- a leaf whose judge fails (the request fails after the teacher's retries, the reply holds no
  usable verdict, or the judge keeps calling the tool) is asked again from the start, up to
  `attempts` times, then reported and excluded from the means. Upstream scores such a leaf 1
  (`[EVALUATION ERROR]`) or guesses from keywords (`[AUTOMATIC PARSING FALLBACK]`).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from wikikit.bounded import json_object_in
from wikikit.errors import InputError
from wikikit.eval.codewikibench.docs import Docs, read_sections
from wikikit.eval.rubrics import Node, iter_leaves, parse_verdict, score_nodes

MODES = ("tool", "whole", "auto")
TOOL = "docs_navigator"
UPSTREAM_ERROR_RULE = (
    "CodeWikiBench's own judge (src/judge/judge.py) scores a leaf whose evaluation failed as 1 "
    "([EVALUATION ERROR]) or by a keyword guess ([AUTOMATIC PARSING FALLBACK]); here such a leaf "
    "is retried, then reported and excluded from the means."
)

SYSTEM = (
    "You evaluate software documentation. For one criterion from an evaluation rubric, decide "
    "whether the documentation covers it, with a binary score:\n"
    "- 1 (documented): the documentation explains, describes or mentions the criterion, "
    "directly or implicitly;\n"
    "- 0 (not documented): the documentation does not mention it.\n\n"
    "Find the parts of the documentation that concern the criterion, read them, decide, and "
    "give brief reasons. Your verdict is one JSON object and nothing else:\n"
    '{"criteria": "the criterion", "score": 0 or 1, "reasoning": "why this score", '
    '"evidence": "the sections or text that support it"}'
)
TOOL_SYSTEM = (
    "\n\nThe documentation tree you are given shows titles only; every section's text is "
    f"hidden behind <detail_content>. Read sections with the {TOOL} tool: reply with only "
    f'{{"tool": "{TOOL}", "paths": [["subpages", 0, "content", "Section title"], ...]}} '
    "where each path lists the keys and list indices that lead to a node of the tree. The "
    "tool's answer, the content at each path, comes as the next message. Read what you need, "
    "then reply with your verdict."
)


@dataclass
class JudgeSettings:
    mode: str = "tool"
    context_tokens: int | None = None  # auto: the whole wiki when it fits in this many tokens
    max_tool_calls: int = 8  # per attempt
    attempts: int = 3  # conversations per leaf before it is reported as failed
    tool_tokens: int = 16_000  # one tool answer at most (upstream: 36,000)

    @classmethod
    def from_config(
        cls, config: dict[str, Any] | None, where: str = "eval.judging"
    ) -> JudgeSettings:
        config = dict(config or {})
        s = cls(**{k: config.pop(k) for k in list(config) if k in cls.__dataclass_fields__})
        if config:
            raise InputError(f"{where}: unknown key(s) {', '.join(sorted(config))}")
        if s.mode not in MODES:
            raise InputError(f"{where}.mode: one of {', '.join(MODES)}, got {s.mode!r}")
        if s.mode == "auto" and not s.context_tokens:
            raise InputError(f"{where}.context_tokens: required with mode auto")
        return s

    def mode_for(self, docs: Docs) -> str:
        if self.mode != "auto":
            return self.mode
        return "whole" if docs.whole_tokens() + 2_000 <= (self.context_tokens or 0) else "tool"


Turn = tuple[str, str]  # (role, text)
# converse([(system, turns, shared), ...]) -> the next assistant reply, or the error that ended
# it, for each; `shared` is the start of the first turn that every leaf's prompt has in common
Converse = Callable[[list[tuple[str, list[Turn], str]]], list["str | BaseException"]]


def teacher_converse(teacher: Any) -> Converse:
    """A wikikit teacher (cached, budgeted, retried, concurrent) as a `Converse`; the shared
    documentation goes out as the teacher's cacheable block."""
    from wikikit.teachers import TeacherRequest

    def converse(batch: list[tuple[str, list[Turn], str]]) -> list[str | BaseException]:
        requests = [
            TeacherRequest.of(list(turns), system=system, shared=shared)
            for system, turns, shared in batch
        ]
        return [
            r if isinstance(r, BaseException) else r.text for r in teacher.complete_many(requests)
        ]

    return converse


def documentation_block(docs: Docs, mode: str) -> str:
    """What every leaf's prompt starts with: the outline (tool mode) or every page (whole)."""
    if mode == "whole":
        return f"Documentation:\n\n{docs.whole_text()}\n\n"
    tree = json.dumps(docs.tree, indent=2, ensure_ascii=False)
    return f"Documentation tree:\n```json\n{tree}\n```\n\n"


def first_prompt(criterion: str, docs: Docs, mode: str, attempt: int) -> str:
    """A leaf's first user turn: the documentation first (one prefix that every leaf of a judge
    shares, so providers' prompt caches serve it), then the criterion and what to do."""
    retry = (
        f"(Attempt {attempt}: the previous attempt ended without a usable verdict. Reply with "
        "valid JSON in exactly the format asked.)\n\n"
        if attempt > 1
        else ""
    )
    if mode == "whole":
        ask = "Decide whether the criterion is documented. Reply with the JSON verdict only."
    else:
        ask = (
            f"First find and read the sections that concern this criterion with the {TOOL} "
            "tool, then decide whether it is documented. Reply with the JSON verdict."
        )
    return (
        f"{documentation_block(docs, mode)}{retry}Evaluate this criterion against the "
        f'documentation above:\n\nCriterion: "{criterion}"\n\n{ask}'
    )


def _object(text: str) -> Any:
    """The JSON object of a reply: from its first `{` to its last `}` (as upstream reads it),
    within wikikit.bounded's size and depth limits (OutOfBounds is a ValueError)."""
    obj = json_object_in(text, what="judge reply")
    if obj is None:
        raise ValueError("reply has no JSON object")
    return obj


def tool_paths(reply: str) -> list[list[Any]] | None:
    """The paths of a tool request, None when the reply is not one (ValueError if malformed)."""
    try:
        obj = _object(reply)
    except ValueError:
        return None
    if not isinstance(obj, dict) or obj.get("tool") != TOOL:
        return None
    paths = obj.get("paths")
    if not isinstance(paths, list) or not paths or not all(isinstance(p, list) for p in paths):
        raise ValueError(f"{TOOL} needs `paths`: a list of key paths (lists)")
    return paths[:20]


@dataclass
class _Leaf:
    trail: tuple[str, ...]
    node: Node
    attempt: int = 1
    turns: list[Turn] = field(default_factory=list)
    tool_calls: int = 0
    total_tool_calls: int = 0
    error: str | None = None
    done: bool = False


@dataclass
class JudgeRun:
    """One judge's evaluation of one rubric tree (leaves that failed keep `score: None`)."""

    rubrics: list[Node]
    score: float | None
    mode: str
    judged: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    retried: int = 0  # leaves that needed more than one attempt
    tool_calls: int = 0
    requests: int = 0  # judge turns sent (each a request to the judge model)


def judge_docs(
    rubrics: Sequence[Node], docs: Docs, converse: Converse, settings: JudgeSettings | None = None
) -> JudgeRun:
    """Judge every leaf of `rubrics` against `docs`; all leaves' turns go out batch by batch."""
    settings = settings or JudgeSettings()
    mode = settings.mode_for(docs)
    system = SYSTEM + (TOOL_SYSTEM if mode == "tool" else "")
    shared = documentation_block(docs, mode)
    tree = copy.deepcopy(list(rubrics))
    leaves = [_Leaf(trail, node) for trail, node in iter_leaves(tree)]
    for leaf in leaves:
        leaf.turns = [("user", first_prompt(leaf.trail[-1], docs, mode, 1))]
    run = JudgeRun(tree, None, mode)

    def fail(leaf: _Leaf, reason: str) -> None:
        leaf.error = reason
        if leaf.attempt >= settings.attempts:
            leaf.done = True
            return
        leaf.attempt += 1
        leaf.tool_calls = 0
        leaf.turns = [("user", first_prompt(leaf.trail[-1], docs, mode, leaf.attempt))]

    while True:
        active = [leaf for leaf in leaves if not leaf.done]
        if not active:
            break
        replies = converse([(system, list(leaf.turns), shared) for leaf in active])
        run.requests += len(active)
        for leaf, reply in zip(active, replies, strict=True):
            if isinstance(reply, BaseException):
                fail(leaf, f"{type(reply).__name__}: {reply}")
                continue
            try:
                paths = tool_paths(reply) if mode == "tool" else None
            except ValueError as e:
                fail(leaf, f"bad tool call: {e}")
                continue
            if paths is not None:
                if leaf.tool_calls >= settings.max_tool_calls:
                    fail(leaf, f"no verdict after {settings.max_tool_calls} tool calls")
                    continue
                leaf.tool_calls += 1
                leaf.total_tool_calls += 1
                result = read_sections(docs, paths, settings.tool_tokens)
                leaf.turns += [("assistant", reply), ("user", f"{TOOL} result:\n\n{result}")]
                continue
            try:
                verdict = parse_verdict(reply)
            except ValueError as e:  # json.JSONDecodeError is a ValueError
                fail(leaf, f"unusable verdict: {e}")
                continue
            leaf.node["score"] = verdict.score
            leaf.node["evaluation"] = {
                "score": verdict.score,
                "reasoning": verdict.reasoning,
                "evidence": verdict.evidence,
                "attempts": leaf.attempt,
                "tool_calls": leaf.total_tool_calls,
            }
            leaf.error = None
            leaf.done = True
    for leaf in leaves:
        run.tool_calls += leaf.total_tool_calls
        run.retried += leaf.attempt > 1
        if leaf.error is None:
            run.judged += 1
            continue
        leaf.node["score"] = None
        leaf.node["evaluation"] = {"score": None, "error": leaf.error, "attempts": leaf.attempt}
        run.errors.append(
            {"requirement": " > ".join(leaf.trail), "error": leaf.error, "attempts": leaf.attempt}
        )
    run.score = score_nodes(tree).score
    return run
