"""The generators: each turns one planned item into one Example through the teacher.

A generator is a `Spec`: its task phrasings (one per variant), whether its subject is a folder
or a file, how many teacher requests an item takes (for the dry-run estimate), the first
request (for the estimate and as step one) and `produce`, which raises ItemFailed or a
TeacherError when the item cannot become an example.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from wikikit.bounded import json_object_in
from wikikit.example import Example, Message
from wikikit.synthetic.common import (
    Env,
    ItemFailed,
    ask,
    context,
    make_example,
    system_message,
    tag,
    where,
)
from wikikit.synthetic.plan import Item
from wikikit.synthetic.prompts import WIKI_SYSTEM, join
from wikikit.teachers import TeacherRequest


@dataclass(frozen=True)
class Spec:
    category: str
    tasks: tuple[str, ...]  # one per variant; {where} / {path} filled from the item
    group: bool
    requests: float  # expected teacher requests per item
    produce: Callable[[Item, Env], Awaitable[Example]]
    first_turn: Callable[[Item], tuple[str | None, str]]  # (system, user) of request one
    conversation: bool = False  # later requests continue the conversation (for the estimate)


def task(item: Item) -> str:
    spec = GENERATORS[item.category]
    return spec.tasks[item.variant % len(spec.tasks)].format(
        where=where(item), path=item.subject[0]
    )


# -- single-answer documentation ------------------------------------------------------------


def doc_turn(item: Item) -> tuple[str | None, str]:
    return WIKI_SYSTEM, join(context(item), task(item))


async def produce_doc(item: Item, env: Env) -> Example:
    system, user = doc_turn(item)
    answer = (await ask(env, [("user", user)], system, context(item))).text.strip()
    if item.category == "mermaid" and "```mermaid" not in answer:
        raise ItemFailed("no_mermaid", "answer has no ```mermaid block")
    messages = [system_message(), Message("user", user), Message("assistant", answer)]
    return make_example(item, env, messages)


# -- traceability rewriting: plain prose first, then the same prose with sources ----------

PLAIN_TASK = (
    "Describe what `{path}` does in two or three paragraphs of plain prose for the wiki. "
    "Do not cite paths, line numbers or code."
)
REWRITE_TASK = (
    "Rewrite the documentation below so that every claim is traceable: after each concept add "
    "a source reference in the required form with the matching code snippet. Keep the meaning; "
    "fix anything the code contradicts.\n\nDocumentation:\n{plain}"
)


def plain_turn(item: Item) -> tuple[str | None, str]:
    return WIKI_SYSTEM, join(context(item), PLAIN_TASK.format(path=item.subject[0]))


async def produce_traceability(item: Item, env: Env) -> Example:
    system, first = plain_turn(item)
    shared = context(item)
    plain = (await ask(env, [("user", first)], system, shared)).text.strip()
    user = join(shared, REWRITE_TASK.format(plain=plain))
    answer = (await ask(env, [("user", user)], system, shared)).text.strip()
    messages = [system_message(), Message("user", user), Message("assistant", answer)]
    example = make_example(item, env, messages)
    if not example.refs:
        raise ItemFailed("no_refs", "the rewrite carries no file:line reference")
    return example


# -- code Q&A and design proposals: reasoning becomes the analysis channel -----------------

QA_FORMAT = (
    "{task}. Then think it through step by step and answer it from the code, citing sources. "
    "Reply exactly in this form:\n<question>the question</question>\n"
    "<thinking>your reasoning</thinking>\n<answer>the answer for the wiki</answer>"
)
DESIGN_FORMAT = (
    "{task}. Write an architecture design proposal for it covering API changes, domain model, "
    "storage and workflow, grounded in the existing code with source references. Reply exactly "
    "in this form:\n<feature>one-sentence feature request</feature>\n"
    "<thinking>your reasoning about trade-offs</thinking>\n<proposal>the proposal</proposal>"
)


def tagged_turn(item: Item) -> tuple[str | None, str]:
    fmt = QA_FORMAT if item.category == "qa" else DESIGN_FORMAT
    return WIKI_SYSTEM, join(context(item), fmt.format(task=task(item)))


async def produce_reasoned(item: Item, env: Env) -> Example:
    system, user = tagged_turn(item)
    response = await ask(env, [("user", user)], system, context(item))
    text = response.text
    ask_tag, answer_tag = (
        ("question", "answer") if item.category == "qa" else ("feature", "proposal")
    )
    question, answer = tag(text, ask_tag), tag(text, answer_tag)
    # The reasoning the example keeps (analysis channel): the tagged one, else the teacher's
    # own thinking when the API returned it (adaptive thinking on current Claude models).
    thinking = tag(text, "thinking") or (response.thinking or "").strip() or None
    if not (question and thinking and answer):
        missing = [
            n
            for n, v in ((ask_tag, question), ("thinking", thinking), (answer_tag, answer))
            if not v
        ]
        raise ItemFailed("unparsed", f"missing <{'>, <'.join(missing)}>")
    if item.category == "design":
        covered = [w for w in ("api", "domain", "storage", "workflow") if w in answer.lower()]
        if len(covered) < 3:
            raise ItemFailed("incomplete_proposal", f"covers only {covered}")
        prompt = f"Propose an architecture design for this feature: {question}"
    else:
        prompt = question
    student_user = join(context(item), prompt)
    messages = [
        system_message(),
        Message("user", student_user),
        Message("assistant", answer, thinking=thinking),
    ]
    return make_example(item, env, messages)


# -- multi-turn refinement -----------------------------------------------------------------

FOLLOW_UPS = (
    "Add error handling detail: how failures are detected, reported and recovered from, with "
    "source references. Give the whole revised page.",
    "Add a Mermaid sequence diagram of the main interaction. Give the whole revised page.",
)


async def produce_multi_turn(item: Item, env: Env) -> Example:
    system, user = doc_turn(item)
    turns: list[tuple[str, str]] = [("user", user)]
    for follow_up in (None, *FOLLOW_UPS):
        if follow_up:
            turns.append(("user", follow_up))
        answer = (await ask(env, turns, system, context(item))).text.strip()
        turns.append(("assistant", answer))
    if "```mermaid" not in turns[-1][1]:
        raise ItemFailed("no_mermaid", "final revision has no sequence diagram")
    messages = [system_message()] + [Message(role, text) for role, text in turns]
    return make_example(item, env, messages)


# -- self-instruct, with the teacher as judge ------------------------------------------------

SEED_INSTRUCTIONS = (
    "Write the component documentation page for this module.",
    "Explain how errors propagate through this code, with source references.",
    "Draw a Mermaid class diagram of the types defined here and explain each.",
    "Document the public API of this file for library users.",
    "Describe the data flow from input to output in this code with a sequence diagram.",
    "Explain which business problem this module solves and who depends on it.",
    "List the configuration options this code reads and what each changes.",
    "Write a troubleshooting section for the failure modes visible in this code.",
)
INVENT_TASK = (
    "Here are examples of documentation instructions:\n{seeds}\n\nWrite ONE new instruction of a "
    "different kind that a developer could ask about the code above and that can be answered "
    "from it alone. Reply with the instruction only, inside <instruction></instruction>."
)
JUDGE_SYSTEM = "You are a strict reviewer of technical documentation. You reply with JSON only."
JUDGE_TASK = (
    "Instruction:\n{instruction}\n\nAnswer:\n{answer}\n\nRate the answer from 1 to 10 for "
    "correctness against the code, traceable source references and usefulness. Reply as "
    '{{"score": <1-10>, "reason": "<one sentence>"}}.'
)


def invent_turn(item: Item) -> tuple[str | None, str]:
    seeds = SEED_INSTRUCTIONS[item.variant % 2 :: 2]  # variants see different seed subsets
    return WIKI_SYSTEM, join(
        context(item), INVENT_TASK.format(seeds="\n".join(f"- {s}" for s in seeds))
    )


def judge_score(text: str) -> tuple[int | None, str]:
    try:
        obj = json_object_in(text, what="judge reply")  # bounded, and linear on a hostile reply
        return int(obj["score"]), str(obj.get("reason", ""))[:300]
    except (ValueError, KeyError, TypeError):  # OutOfBounds and JSONDecodeError included
        pass
    m = re.search(r"score\D{0,5}(\d+)", text, re.I)
    return (int(m.group(1)), "") if m else (None, "")


async def produce_self_instruct(item: Item, env: Env) -> Example:
    system, first = invent_turn(item)
    shared = context(item)
    instruction = tag((await ask(env, [("user", first)], system, shared)).text, "instruction")
    if not instruction:
        raise ItemFailed("unparsed", "no <instruction>")
    user = join(shared, instruction)
    answer = (await ask(env, [("user", user)], system, shared)).text.strip()
    verdict = await ask(
        env,
        [("user", join(shared, JUDGE_TASK.format(instruction=instruction, answer=answer)))],
        JUDGE_SYSTEM,
        shared,
    )
    score, reason = judge_score(verdict.text)
    if score is None:
        raise ItemFailed("judge_unparsed", verdict.text[:200])
    if score < env.judge_min_score:
        raise ItemFailed("judge_rejected", f"score {score} < {env.judge_min_score}: {reason}")
    messages = [system_message(), Message("user", user), Message("assistant", answer)]
    return make_example(item, env, messages, instruction=instruction, judge_score=score)


# -- registry ------------------------------------------------------------------------------


def _tool_use():
    from wikikit.synthetic.tooluse import first_turn, produce_tool_use

    return produce_tool_use, first_turn


_tool_produce, _tool_first = _tool_use()

GENERATORS: dict[str, Spec] = {
    s.category: s
    for s in (
        Spec(
            "architecture",
            (
                "Write the architecture overview page for {where}: its layers and main components, "
                "how they depend on each other, and a Mermaid architecture diagram.",
                "Explain the high-level design of {where} for a new engineer: the main modules, "
                "their responsibilities and key design decisions, with a Mermaid flowchart.",
            ),
            True,
            1,
            produce_doc,
            doc_turn,
        ),
        Spec(
            "component",
            (
                "Write the component documentation page for `{path}`: its purpose, public interface, "
                "internal structure, dependencies and how it is used.",
                "Document `{path}` as a wiki page: the problem it solves, its main classes and "
                "functions with their responsibilities, and a Mermaid class diagram.",
                "Write a reference page for `{path}` covering each public function or class, its "
                "parameters, behaviour and error cases.",
            ),
            False,
            1,
            produce_doc,
            doc_turn,
        ),
        Spec(
            "data_flow",
            (
                "Write a data-flow page for {where}: where data enters, how it is transformed step "
                "by step, where it is stored or emitted, with a Mermaid flowchart.",
                "Trace the main request or data path through {where} and document it as a wiki page "
                "with a Mermaid sequence diagram.",
            ),
            True,
            1,
            produce_doc,
            doc_turn,
        ),
        Spec(
            "getting_started",
            (
                "Write a getting-started guide for {where}: what it is for, how to set it up, the "
                "first commands or API calls to try, and where to look next in the code.",
                "Write a quick-start page for a developer who wants to use {where}: prerequisites, "
                "main entry points, a minimal example based on the code, and common pitfalls.",
            ),
            True,
            1,
            produce_doc,
            doc_turn,
        ),
        Spec(
            "business_domain",
            (
                "Write a business-domain mapping page for {where}: the domain concepts the code "
                "models, which components implement each, the workflows they support and their "
                "user impact.",
                "Explain {where} in business terms: the user problems it solves, the domain entities "
                "and rules it encodes and how they map to modules, with a Mermaid diagram.",
            ),
            True,
            1,
            produce_doc,
            doc_turn,
        ),
        Spec(
            "mermaid",
            (
                "Draw a Mermaid class diagram of `{path}`, then explain each element with source "
                "references.",
                "Draw a Mermaid sequence diagram of the main interaction in `{path}`, then walk "
                "through it step by step with source references.",
                "Draw a Mermaid flowchart of the control flow of the main function in `{path}`, then "
                "explain its branches with source references.",
            ),
            False,
            1,
            produce_doc,
            doc_turn,
        ),
        Spec("traceability", (PLAIN_TASK,), False, 2, produce_traceability, plain_turn),
        Spec(
            "qa",
            (
                "Ask a question a new contributor would have about how `{path}` works",
                "Ask a question about an edge case or failure mode in `{path}`",
            ),
            False,
            1,
            produce_reasoned,
            tagged_turn,
        ),
        Spec(
            "design",
            (
                "Propose a plausible new feature that extends `{path}`",
                "Propose a feature that changes how `{path}` stores or exchanges data",
            ),
            False,
            1,
            produce_reasoned,
            tagged_turn,
        ),
        Spec(
            "tool_use",
            ("Document `{path}`",),
            False,
            6,
            _tool_produce,
            _tool_first,
            conversation=True,
        ),
        Spec(
            "multi_turn",
            (
                "Write the component documentation page for `{path}`: its purpose, public "
                "interface, internal structure and how it is used.",
            ),
            False,
            3,
            produce_multi_turn,
            doc_turn,
            conversation=True,
        ),
        Spec(
            "self_instruct",
            ("variant a", "variant b"),
            False,
            3,
            produce_self_instruct,
            invent_turn,
        ),
    )
}

GROUP_CATEGORIES = frozenset(c for c, s in GENERATORS.items() if s.group)


def first_request(item: Item) -> TeacherRequest:
    """Request one of `item`, laid out as the generator sends it (code context shared)."""
    system, user = GENERATORS[item.category].first_turn(item)
    shared = context(item)
    return TeacherRequest.of(
        [("user", user)], system=system, shared=shared if user.startswith(shared) else None
    )


def shared_context_key(item: Item) -> tuple:
    """Items with the same key open their prompts with the same code context."""
    # A folder's context rotates the files it shows by variant (group_context).
    return (item.repo.id, item.subject, item.variant if item.group else None)
