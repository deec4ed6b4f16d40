"""Who answers SemanticWiki's calls when wikikit is its model.

- `TeacherAnswerer`: a wikikit teacher (wikikit.teachers: cache, budget, retries) answers the
  exact system and user prompt the client sent. It answers from the teacher's response cache
  and *defers* what the cache lacks; `TeacherBatch.settle()` then asks the teacher for every
  deferred prompt of every repository at once (`Teacher.complete_many`: concurrent, budgeted,
  retried) and the caller runs the clients again, which now find those answers in the cache.
  A pass can thus always be re-run with answers taken from a store, and with `batch: true` the
  live teacher's `complete_many` answers a pass's prompts as one Message Batch.
- `ReplayAnswerer`: a reference wiki answers (wikikit.semanticwiki.convert): the plan call gets
  the wiki's page list, each page call that page in local-mode conventions; calls the wiki has
  no answer for (the index, pages the client adds itself) are declined with an empty answer.
- `ModelAnswerer`: a served model (any OpenAI-compatible server, such as
  `python -m llama_cpp.server` on loopback) answers with the deployment's sampling
  (wikikit.semanticwiki.deployment: the client's per-call options, node-llama-cpp's defaults
  for the rest) as far as the server takes it, and for vLLM the prompt text node-llama-cpp
  renders, sent to `/v1/completions`.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import Counter
from typing import Any

from wikikit.deepwiki.wiki import Wiki
from wikikit.semanticwiki import convert
from wikikit.semanticwiki.deployment import Served, deployed_prompt, sampling
from wikikit.semanticwiki.endpoint import Answer, ChatRequest
from wikikit.semanticwiki.protocol import CALLS, parse_page_prompt, parse_plan_prompt
from wikikit.teachers import OfflineMiss, Teacher, TeacherError, TeacherRequest, TeacherResponse


def prompt_key(request: ChatRequest) -> str:
    """What identifies a prompt across passes: its system and user text."""
    blob = json.dumps([request.system, request.user], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


class TeacherBatch:
    """One teacher shared by every client run of a source: cache lookups, deferred prompts,
    and `settle()`, which answers all deferred prompts in one `complete_many`."""

    def __init__(self, lookup: Teacher, live: Teacher | None):
        """`lookup` is an offline teacher on the cache; `live` the same teacher, sending (None
        when the recipe is offline: deferred prompts then stay unanswered)."""
        self.lookup = lookup
        self.live = live
        self.pending: dict[str, TeacherRequest] = {}
        self.failed: dict[str, str] = {}  # prompt key -> why the teacher gave no answer
        self.failures: Counter = Counter()
        self.lock = threading.Lock()  # a teacher's loop state is not thread-safe

    def lookup_answer(self, request: ChatRequest) -> TeacherResponse | None:
        req = TeacherRequest.of([("user", request.user)], system=request.system)
        with self.lock:
            result = self.lookup.complete_many([req])[0]
        if isinstance(result, TeacherResponse):
            return result
        if not isinstance(result, OfflineMiss):
            raise result
        key = prompt_key(request)
        if key in self.failed:
            raise TeacherError(self.failed[key])
        return None

    def defer(self, request: ChatRequest) -> None:
        req = TeacherRequest.of([("user", request.user)], system=request.system)
        with self.lock:
            self.pending.setdefault(prompt_key(request), req)

    def settle(self) -> int:
        """Ask the live teacher for every deferred prompt; how many got an answer."""
        with self.lock:
            batch, self.pending = self.pending, {}
        if not batch or self.live is None:
            self.failures["offline_miss"] += len(batch)
            return 0
        results = self.live.complete_many(list(batch.values()))
        answered = 0
        for key, result in zip(batch, results, strict=True):
            if isinstance(result, TeacherResponse):
                answered += 1
            else:
                self.failed[key] = f"{result.reason}: {result.detail}"[:300]
                self.failures[result.reason] += 1
        return answered

    def stats(self) -> dict[str, Any]:
        usage = Counter(self.lookup.usage.as_stats())
        if self.live is not None:
            usage.update(self.live.usage.as_stats())
        usage.pop("offline_misses", None)  # a lookup that misses is a deferral, not a failure
        usage.pop("teacher_failed_offline_miss", None)
        usage.update({f"teacher_failed_{k}": v for k, v in self.failures.items()})
        return dict(usage)

    def close(self) -> None:
        for teacher in (self.lookup, self.live):
            if teacher is not None and teacher.cache is not None:
                teacher.cache.close()


class TeacherAnswerer:
    """One client run's view of a TeacherBatch.

    The client asks in phases (plan, then pages, then the index, local mode's order), and a
    later phase's prompt depends on the earlier answers. So once a prompt of some phase is
    deferred, prompts of later phases in the same run are *held* (answered empty, not
    deferred): asking the teacher for them would pay for prompts the next run never sends.
    """

    name = "teacher"

    def __init__(self, batch: TeacherBatch):
        self.batch = batch
        self.deferred_phase: int | None = None

    def begin_pass(self) -> None:
        self.deferred_phase = None

    def answer(self, request: ChatRequest) -> Answer | None:
        phase = CALLS.index(request.call) if request.call in CALLS else len(CALLS)
        if self.deferred_phase is not None and phase > self.deferred_phase:
            return Answer("", meta={"held": True})
        result = self.batch.lookup_answer(request)
        if result is None:
            self.batch.defer(request)
            if self.deferred_phase is None:
                self.deferred_phase = phase
            return None
        return Answer(
            result.text,
            result.thinking,
            meta={"stop_reason": result.stop_reason},
            prompt_tokens=result.input_tokens,
            output_tokens=result.output_tokens,
        )


class ReplayAnswerer:
    name = "replay"

    def __init__(self, wiki: Wiki):
        self.wiki = wiki
        self.planned: list[convert.PlannedPage] = []
        self.listed: list[str] = []

    def begin_pass(self) -> None:
        self.planned, self.listed = [], []

    def _plan(self, listed: list[str]) -> list[convert.PlannedPage]:
        self.listed = listed
        self.planned = convert.plan(self.wiki.pages, listed)
        return self.planned

    def answer(self, request: ChatRequest) -> Answer | None:
        call = request.call
        if call == "plan":
            listed = parse_plan_prompt(request.user).files
            planned = self._plan(listed)
            return Answer(
                convert.plan_answer(planned, listed),
                meta={"pages": len(planned), "wiki": self.wiki.repo, "commit": self.wiki.commit},
            )
        if call == "page":
            prompt = parse_page_prompt(request.user)
            if not self.planned:
                self._plan([])
            page = next((p for p in self.planned if p.title == prompt.title), None)
            if page is None:
                return Answer("", meta={"declined": "no reference page with this title"})
            text = convert.page_answer(page, self.planned, prompt.related)
            return Answer(
                text, meta={"page": page.page.url or page.page.slug, "filename": page.filename}
            )
        return Answer("", meta={"declined": f"a reference wiki has no {call or 'such'} answer"})


_HARMONY_FINAL = re.compile(
    r"<\|channel\|>final<\|message\|>(?P<final>.*?)(?:<\|return\|>|<\|end\|>|$)", re.S
)
_HARMONY_ANALYSIS = re.compile(
    r"<\|channel\|>analysis<\|message\|>(?P<analysis>.*?)(?:<\|end\|>|$)", re.S
)


def split_harmony(text: str) -> tuple[str, str | None]:
    """(final, analysis) of a raw harmony completion; plain text is all final."""
    final = _HARMONY_FINAL.search(text)
    if final is None:
        return text, None
    analysis = _HARMONY_ANALYSIS.search(text[: final.start()])
    return final["final"].strip(), (analysis["analysis"].strip() if analysis else None)


def openai_base(url: str) -> str:
    """An OpenAI-compatible base URL (`.../v1`) from what a user gives: that base, its
    `/chat/completions` URL, or a bare server such as an Ollama host (whose OpenAI-compatible
    API is under /v1, docs.ollama.com/api/openai-compatibility)."""
    url = url.rstrip("/")
    if url.endswith("/chat/completions"):
        url = url[: -len("/chat/completions")]
    return url if re.search(r"/v\d+$", url) else url + "/v1"


class ModelAnswerer:
    """`model` None: the first model the server lists (`GET /v1/models`), as llama.cpp's server
    and a one-model vLLM serve it. `seed` goes with every request (the OpenAI API's `seed`,
    which vLLM and llama.cpp's server honour), so a run's draws repeat. `served` says what the
    server is (wikikit.semanticwiki.deployment.Served): which sampling fields it is sent, and
    whether wikikit renders the prompt (vLLM: `/v1/completions` with node-llama-cpp's text and
    `skip_special_tokens: false`, vLLM's own field, so the answer keeps harmony's channels)."""

    name = "model"

    def __init__(
        self,
        base_url: str,
        model: str | None,
        *,
        api_key: str | None = None,
        timeout_s: float = 600.0,
        seed: int | None = None,
        served: Served | None = None,
    ):
        import httpx

        self.base = openai_base(base_url)
        self.url = self.base + "/chat/completions"
        self.model = model
        self.seed = seed
        self.served = served or Served("url")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout_s, headers=headers)
        self._lock = threading.Lock()

    def served_model(self) -> str:
        with self._lock:
            if self.model is None:
                response = self._client.get(self.base + "/models")
                response.raise_for_status()
                listed = [m.get("id") for m in response.json().get("data") or [] if m.get("id")]
                if not listed:
                    raise RuntimeError(f"{self.base}/models lists no model")
                self.model = str(listed[0])
            return self.model

    def answer(self, request: ChatRequest) -> Answer | None:
        wanted = sampling(request.options)
        body: dict[str, Any] = {"model": self.served_model(), "stream": False}
        body.update({k: wanted[k] for k in self.served.fields()})
        if self.seed is not None:
            body["seed"] = int(self.seed)
        if self.served.harmony_prompt:
            # node-llama-cpp's session: the system prompt and the last user message only
            body["prompt"] = deployed_prompt(request.system, request.user)
            body["skip_special_tokens"] = False
            url = self.base + "/completions"
        else:
            body["messages"] = [
                {"role": m.get("role"), "content": m.get("content") or ""}
                for m in request.messages
                if m.get("role") in ("system", "user", "assistant")
            ]
            url = self.url
        response = self._client.post(url, json=body)
        response.raise_for_status()
        data = response.json()
        choice = (data.get("choices") or [{}])[0]
        message = choice.get("message") or {}
        raw = choice.get("text") if "prompt" in body else message.get("content")
        content, analysis = split_harmony(raw or "")
        thinking = message.get("reasoning_content") or message.get("reasoning") or analysis
        usage = data.get("usage") or {}
        return Answer(
            content,
            thinking or None,
            meta={"finish_reason": choice.get("finish_reason")},
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            output_tokens=int(usage.get("completion_tokens") or 0),
        )

    def close(self) -> None:
        self._client.close()
