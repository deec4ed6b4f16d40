"""What the deployed model gets from SemanticWiki 1.2.1's bundled mode, and how close a served
model in the eval comes to it.

Deployment (`semanticwiki generate --full-local --model-path X.gguf`) runs the GGUF in
node-llama-cpp inside the client. Read in the vendored client 1.2.1
(/work/shared/vendor/semanticwiki/semanticwiki-1.2.1.tgz) and node-llama-cpp 3.15.0 (the
version its install resolves):
- context: `contextLength = this.options.contextSize || 32768` (dist/llm/local-llama-provider.js
  :62, the custom `--model-path` model);
- each call: a fresh LlamaChatSession with the system prompt, then `session.prompt(lastUser,
  {maxTokens: options.maxTokens || 4096, temperature: options.temperature ?? 0.7})`
  (local-llama-provider.js:279-288, :319-322): the call's own options (plan 8,192 tokens at
  0.3, pages 4,096 at 0.3, index 2,048 at 0.7: wikikit.semanticwiki.protocol.CALL_OPTIONS), and
  no topK, topP or minP;
- so node-llama-cpp's defaults fill those: `temperature = 0, minP = 0, topK = 40, topP = 0.95`
  (dist/evaluator/LlamaContext/LlamaContext.js:1014 and :1525, node-llama-cpp 3.15.0);
- the prompt: its HarmonyChatWrapper's rendering, with today's date and reasoning effort medium
  (wikikit.semanticwiki.runtimes, node-llama-cpp; checked against captured prompts in
  tests/test_runtime_rendering.py).

A served model in the eval (`eval.semanticwiki.url`, `serve: vllm`, `serve: llama.cpp`) gets
the call through wikikit's endpoint (the client in `--use-ollama` mode sends the same system
and user prompt and options, dist/llm/ollama-provider.js:69-79, :116-121). `Served` says what such a
server is sent and whether that equals the deployment (`deployment_equal`, with the reason),
which the eval's results show beside the wiki scores.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

CONTEXT_LENGTH = 32768  # local-llama-provider.js:62
DEFAULT_MAX_TOKENS = 4096  # local-llama-provider.js:320
DEFAULT_TEMPERATURE = 0.7  # local-llama-provider.js:321
TOP_K, TOP_P, MIN_P = 40, 0.95, 0.0  # node-llama-cpp 3.15.0 LlamaContext.js:1014, :1525
REASONING_EFFORT = "medium"  # HarmonyChatWrapper's default (the captured prompts say medium)
# What every OpenAI-compatible server takes; top_k and min_p are vLLM's and llama.cpp's extras.
OPENAI_FIELDS = ("max_tokens", "temperature", "top_p")

KINDS = ("gguf", "vllm", "llama.cpp", "url")


def sampling(options: Mapping[str, Any]) -> dict[str, Any]:
    """The deployment's sampling for a call whose client options (Ollama's names, as the
    client sends them to wikikit's endpoint) are `options`."""
    num_predict = options.get("num_predict")
    temperature = options.get("temperature")
    return {
        "max_tokens": int(num_predict) if num_predict else DEFAULT_MAX_TOKENS,  # `|| 4096`
        "temperature": float(temperature) if temperature is not None else DEFAULT_TEMPERATURE,
        "top_k": TOP_K,
        "top_p": TOP_P,
        "min_p": MIN_P,
    }


def deployed_prompt(system: str | None, user: str) -> str:
    """The prompt text node-llama-cpp feeds the deployed model for one call."""
    from wikikit.semanticwiki.runtimes import harmony_prompt

    return harmony_prompt(
        system or "",
        user,
        effort=REASONING_EFFORT,
        runtime="node-llama-cpp",
        date=datetime.date.today().isoformat(),
    )


@dataclass(frozen=True)
class Served:
    """How the eval reaches a model: `kind` gguf (the client loads it, as deployed), vllm or
    llama.cpp (a server wikikit starts, with `context` tokens), url (a server of unknown kind)."""

    kind: str = "url"
    context: int | None = None

    @property
    def harmony_prompt(self) -> bool:
        """Whether wikikit renders the prompt itself and sends it to /v1/completions: vLLM
        keeps harmony's special tokens in the completion when asked (`skip_special_tokens`).
        llama-cpp-python's server (0.3.36) detokenizes a completion without them
        (llama.py:1413, `detokenize(..., special=False)`), so its answers could not be split
        into thinking and answer: it gets the chat API and the GGUF's own template."""
        return self.kind == "vllm"

    def fields(self) -> tuple[str, ...]:
        """The sampling fields this server is sent (an unknown one may refuse extras). top_k
        and min_p: vLLM's extra sampling parameters (docs.vllm.ai, "OpenAI-Compatible Server",
        Extra Parameters for the Completions and Chat APIs, which also list
        `skip_special_tokens`); llama-cpp-python 0.3.36's request types
        (llama_cpp/server/types.py:124-147 completions, :229-245 chat)."""
        if self.kind in ("vllm", "llama.cpp"):
            return (*OPENAI_FIELDS, "top_k", "min_p")
        return OPENAI_FIELDS

    def label(self) -> tuple[bool, str]:
        """(deployment_equal, why)."""
        if self.kind == "gguf":
            return True, "the client loads the GGUF itself (node-llama-cpp, --model-path)"
        if self.kind == "url":
            return False, (
                "a served URL of unknown kind: its server renders the prompt with its own chat "
                "template and fills top_k and min_p with its own defaults (sent: max_tokens, "
                "temperature, top_p as deployed)"
            )
        context = self.context or CONTEXT_LENGTH
        if context != CONTEXT_LENGTH:
            return False, (
                f"{self.kind} serves a {context}-token context; the deployment has "
                f"{CONTEXT_LENGTH} (local-llama-provider.js:62)"
            )
        if self.kind == "llama.cpp":
            return False, (
                "llama.cpp's server renders the prompt with the GGUF's chat template, not "
                "node-llama-cpp's (its completions drop harmony's special tokens); sampling as "
                "deployed"
            )
        return True, (
            "vLLM is sent node-llama-cpp's prompt text (/v1/completions) and sampling "
            f"(top_k {TOP_K}, top_p {TOP_P}, min_p {MIN_P:g}, the call's max_tokens and "
            f"temperature), {CONTEXT_LENGTH}-token context; the weights are the served model's"
        )

    def as_json(self) -> dict[str, Any]:
        equal, why = self.label()
        return {"deployment_equal": equal, "deployment_reason": why}
