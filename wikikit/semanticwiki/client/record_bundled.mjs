// wikikit's recorder for SemanticWiki's bundled mode (`--full-local --model-path X.gguf`).
//
// Loaded before the client with `node --import <this file>`; the client itself runs unmodified.
// In bundled mode SemanticWiki 1.2.1 talks to node-llama-cpp 3.15.0 in-process
// (dist/llm/local-llama-provider.js `chat()`: a new LlamaChatSession with the system prompt,
// then `session.prompt(lastUserMessage, {maxTokens, temperature})`), so no server sits between
// client and model where an exchange could be seen. node-llama-cpp's `prompt()` calls
// `this.promptWithMeta()` (dist/evaluator/LlamaChatSession/LlamaChatSession.js, 3.15.0), which
// returns the response items (final text and `thought` segments) and the stop reason; this file
// wraps that one method on the class the client imports (an ES module is loaded once, so the
// client's `import('node-llama-cpp')` gets this same class) and appends one JSON line per call to
// $WIKIKIT_RECORD_EXCHANGES: the system and user prompt as the session got them, the answer the
// client received, the thinking, the sampling options, wall seconds, the sequence's token meter
// (prompt tokens evaluated, tokens generated, thinking included) and the stop reason. The call
// itself is passed through untouched (same arguments, same result, same errors), except that
// $WIKIKIT_SEED, when set, seeds the sampler of every call that names no seed of its own: the
// client's temperature and token limits still apply, the draw becomes repeatable.
import { appendFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const out = process.env.WIKIKIT_RECORD_EXCHANGES;
const entry = process.env.WIKIKIT_NODE_LLAMA_CPP;
if (!out || !entry) {
  throw new Error("wikikit recorder: WIKIKIT_RECORD_EXCHANGES and WIKIKIT_NODE_LLAMA_CPP must be set");
}
const { LlamaChatSession } = await import(pathToFileURL(entry).href);
const original = LlamaChatSession.prototype.promptWithMeta;
const seed = /^\d+$/.test(process.env.WIKIKIT_SEED ?? "") ? Number(process.env.WIKIKIT_SEED) : null;
let calls = 0;

function text(value) {
  // A chat history item's text is a string or a LlamaText JSON (an array of strings/tokens).
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return value.map((v) => (typeof v === "string" ? v : v?.value ?? "")).join("");
  return value == null ? null : String(value);
}

function meter(session) {
  try {
    const m = session.sequence.tokenMeter;
    return { input: m.usedInputTokens, output: m.usedOutputTokens };
  } catch {
    return null;
  }
}

LlamaChatSession.prototype.promptWithMeta = async function (prompt, options = {}) {
  const n = ++calls;
  const history = this.getChatHistory();
  const systemItem = history.find((item) => item.type === "system");
  const row = {
    n,
    system: systemItem ? text(systemItem.text) : null,
    user: prompt,
    turns: history.length + 1,
    options: { max_tokens: options.maxTokens ?? null, temperature: options.temperature ?? null },
  };
  const asked = seed == null || options.seed != null ? options : { ...options, seed };
  if (asked.seed != null) row.options.seed = asked.seed;
  const before = meter(this);
  const started = performance.now();
  try {
    const result = await original.call(this, prompt, asked);
    const items = result?.response ?? [];
    const thoughts = items.filter((i) => typeof i === "object" && i?.segmentType === "thought");
    row.answer = result?.responseText ?? "";
    row.thinking = thoughts.length ? thoughts.map((i) => i.text).join("") : null;
    row.stop_reason = result?.stopReason ?? null;
    return result;
  } catch (error) {
    row.answer = "";
    row.error = `${error?.name ?? "Error"}: ${error?.message ?? error}`;
    throw error;
  } finally {
    row.seconds = (performance.now() - started) / 1000;
    const after = meter(this);
    if (before && after) {
      row.tokens = { prompt: after.input - before.input, completion: after.output - before.output };
    }
    appendFileSync(out, JSON.stringify(row) + "\n");
  }
};
