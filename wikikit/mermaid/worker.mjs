// Long-lived Mermaid validator: loads mermaid once (~1 s), then judges diagrams streamed to it.
//
// Protocol: JSON lines. After loading, the worker writes one line
//   {"ready": true, "mermaid": "<version>", "fast": <bool>}
// then, for every request line {"id": <int>, "text": "<diagram>"} read from stdin, in order, one
// response line
//   {"id": <int>, "ok": <bool>, "type": <mermaid diagram id | null>, "kind": "ok" |
//    "unknown_type" | "parse_error", "line": <1-based line | null>, "message": "<one line>"}
// The line {"op":"stats"} answers {"stats": true, ...counters} (used by tests).
// Nothing else is written to stdout (console output goes to stderr).
//
// Environment:
//   WIKIKIT_MERMAID_FAST=0        load Mermaid without fast_config_hooks.mjs and fast_sanitize.mjs
//                                 (the untouched code).
//   WIKIKIT_MERMAID_VERIFY=1      compute every fast config copy, reused config and label
//                                 shortcut the original way too and count differences (slow).
//   WIKIKIT_MERMAID_TEST_HOOKS=1  test-only: a diagram whose text is exactly
//                                 "%%wikikit-test:hang" spins forever and "%%wikikit-test:exit"
//                                 kills the worker, so the client's timeout and restart paths can
//                                 be tested (no real diagram is known to hang Mermaid reliably).

import { register } from 'node:module';
import { createInterface } from 'node:readline';
import { createRequire } from 'node:module';
import { isDeepStrictEqual } from 'node:util';
import { installFastSanitize } from './fast_sanitize.mjs';

const FAST = process.env.WIKIKIT_MERMAID_FAST !== '0';
const TEST_HOOKS = process.env.WIKIKIT_MERMAID_TEST_HOOKS === '1';

// stdout carries the protocol only; Mermaid and jsdom may log.
for (const level of ['log', 'info', 'warn', 'debug', 'trace']) console[level] = console.error;

// Shared with the code fast_config_hooks.mjs injects into Mermaid.
const state = {
  fast: FAST,
  patched: false,
  verify: process.env.WIKIKIT_MERMAID_VERIFY === '1',
  isDeepStrictEqual,
  mismatches: 0, // verify mode: config copies that differ from the original's
  rechecks: 0, // failures re-parsed on the untouched code
  disagreements: 0, // ...that the untouched code accepted (never expected)
};
globalThis.__wikikitMermaid = state;

// Mermaid needs a DOM before it is imported: DOMPurify (classDiagram, labels) hooks into window.
const { JSDOM } = await import('jsdom');
const dom = new JSDOM('<!doctype html><html><body></body></html>', { pretendToBeVisual: true });
globalThis.window = dom.window;
globalThis.document = dom.window.document;

// After jsdom, so only Mermaid's own modules pass through the (off-thread) load hook.
if (FAST) register('./fast_config_hooks.mjs', import.meta.url);
// The DOMPurify instance Mermaid imports (the same module): label sanitising without a DOM where
// the answer is known (see fast_sanitize.mjs). Installed before Mermaid adds its hooks.
const { default: DOMPurify } = await import('dompurify');
const sanitizeShortcut = FAST && installFastSanitize(DOMPurify, state);

const { default: mermaid } = await import('mermaid');
mermaid.initialize({ startOnLoad: false, logLevel: 5, securityLevel: 'strict' });
const version = createRequire(import.meta.url)('mermaid/package.json').version;
state.fast = FAST && state.patched && sanitizeShortcut;

function oneLine(message) {
  // Jison messages are "Parse error on line N:\n<context>\n---^\nExpecting ...": keep the first
  // and last lines, which say where and what; the context and caret only make sense stacked.
  const lines = String(message)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (lines.length === 0) return 'unknown error';
  if (lines.length === 1) return lines[0];
  const head = lines[0].replace(/:$/, '');
  return `${head}: ${lines[lines.length - 1]}`;
}

function detect(text) {
  try {
    return mermaid.detectType(text);
  } catch {
    return null;
  }
}

async function parseOnce(text) {
  const result = await mermaid.parse(text, { suppressErrors: false });
  return result.diagramType;
}

async function judge(text) {
  if (TEST_HOOKS && text === '%%wikikit-test:hang') for (;;);
  if (TEST_HOOKS && text === '%%wikikit-test:exit') process.kill(process.pid, 'SIGKILL');
  try {
    let type;
    try {
      type = await parseOnce(text);
    } catch (fastError) {
      if (!state.fast) throw fastError;
      // A failure on the fast path is confirmed on Mermaid's untouched code before it is reported.
      state.rechecks += 1;
      state.fast = false;
      try {
        type = await parseOnce(text);
        state.disagreements += 1;
      } finally {
        state.fast = true;
      }
    }
    return { ok: true, type, kind: 'ok', line: null, message: '' };
  } catch (error) {
    const message = oneLine(error?.message ?? error);
    if (error?.name === 'UnknownDiagramError') {
      return { ok: false, type: null, kind: 'unknown_type', line: null, message };
    }
    const m = /\bon line (\d+)/.exec(message);
    return { ok: false, type: detect(text), kind: 'parse_error', line: m ? Number(m[1]) : null, message };
  }
}

function send(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

send({ ready: true, mermaid: version, fast: state.fast });

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (!line.trim()) continue;
  let request;
  try {
    request = JSON.parse(line);
  } catch {
    send({ id: null, ok: false, type: null, kind: 'protocol_error', line: null, message: 'bad request line' });
    continue;
  }
  if (request.op === 'stats') {
    const { fast, verify, mismatches, rechecks, disagreements } = state;
    const { sanitizeShortcuts, sanitizeMemoHits, sanitizeMismatches, memoVerified = 0 } = state;
    send({
      stats: true,
      ...{ fast, verify, mismatches, rechecks, disagreements, memoVerified },
      ...{ sanitizeShortcuts, sanitizeMemoHits, sanitizeMismatches },
    });
    continue;
  }
  send({ id: request.id, ...(await judge(String(request.text ?? ''))) });
}
