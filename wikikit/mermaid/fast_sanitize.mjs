// A shortcut in front of DOMPurify.sanitize for the label text Mermaid cleans while parsing.
//
// Mermaid's sanitizeText runs every node/edge/member label through DOMPurify, which for any text
// containing "<" builds a whole jsdom document, walks it and serialises it back: ~40% of the time
// of mermaid.parse on typical wiki diagrams, nearly all of it for labels whose only markup is a
// line break ("Controller<br/>(agent.py)"). For exactly those inputs the result is known without a
// DOM: the HTML parser turns each <br>, <br/>, <BR />... into one <br> element and keeps the text
// around it unchanged (it contains no character the parser or the serialiser would change), and
// DOMPurify keeps <br> and re-inserts leading whitespace, so the output is the text with each break
// written "<br>". Anything else (other tags, entities, "&", ">", control characters, a non-default
// DOMPurify config, a config set with setConfig) goes to DOMPurify itself; its answers for the
// default config are remembered, since DOMPurify's output depends only on its input, config and
// hooks, and Mermaid's hooks (the only ones added) are fixed once added.
// With WIKIKIT_MERMAID_VERIFY=1 every shortcut answer is also computed by DOMPurify and compared.

// Text the HTML parser and serialiser pass through untouched: no markup or entity characters,
// no NUL/CR/form feed (removed, normalised or skipped as leading whitespace), no other control
// characters, no U+00A0 (serialised as &nbsp;), no surrogates (lone ones are replaced).
const PLAIN = '[^<>&\\u0000-\\u0008\\u000B-\\u001F\\u007F-\\u00A0\\uD800-\\uDFFF]*';
const BREAK = '<[bB][rR][\\t\\n ]*/?>';
const ONLY_BREAKS = new RegExp(`^${PLAIN}(?:${BREAK}${PLAIN})*$`);
const BREAKS = new RegExp(BREAK, 'g');
const MEMO_SIZE = 4096;

// Mermaid calls sanitize(text) (removeScript) and sanitize(text, {FORBID_TAGS: ["style"]})
// (sanitizeText): both leave <br> and plain text alone. Any other config is not ours to predict.
// Returns which of the two it is ("d" default, "s" no style) or null for any other config.
function knownConfig(cfg) {
  if (cfg === undefined) return 'd';
  if (cfg === null || typeof cfg !== 'object' || Object.getPrototypeOf(cfg) !== Object.prototype) return null;
  const keys = Reflect.ownKeys(cfg);
  if (keys.length === 0) return 'd';
  if (keys.length !== 1 || keys[0] !== 'FORBID_TAGS') return null;
  const tags = cfg.FORBID_TAGS;
  return Array.isArray(tags) && tags.length === 1 && tags[0] === 'style' ? 's' : null;
}

// The hooks Mermaid adds (common.ts): they only look at <a> elements, never at <br> or text.
const MERMAID_HOOKS = new Set(['beforeSanitizeAttributes', 'afterSanitizeAttributes']);

/** Install the shortcut on `purify` (the DOMPurify instance Mermaid imports). `state.fast` turns
 * it off at run time; counters go to `state`. Returns false if DOMPurify looks different. */
export function installFastSanitize(purify, state) {
  const original = purify.sanitize;
  if (typeof original !== 'function' || typeof purify.setConfig !== 'function' || typeof purify.addHook !== 'function') return false;
  const originalSetConfig = purify.setConfig;
  const originalAddHook = purify.addHook;
  let unknownState = false; // setConfig (sanitize then ignores its cfg) or a hook not Mermaid's
  purify.setConfig = function (...args) {
    unknownState = true;
    return originalSetConfig.apply(this, args);
  };
  purify.addHook = function (name, ...args) {
    if (!MERMAID_HOOKS.has(name)) unknownState = true;
    return originalAddHook.call(this, name, ...args);
  };
  const memo = new Map();
  state.sanitizeShortcuts = 0;
  state.sanitizeMemoHits = 0;
  state.sanitizeMismatches = 0;

  purify.sanitize = function (dirty, ...rest) {
    const which = rest.length > 1 ? null : knownConfig(rest[0]);
    if (!state.fast || unknownState || which === null || typeof dirty !== 'string' || dirty === '' || !purify.isSupported) {
      return original.call(this, dirty, ...rest);
    }
    let out;
    if (!dirty.includes('<')) {
      out = dirty; // DOMPurify's own early exit, without re-reading its config
    } else if (ONLY_BREAKS.test(dirty)) {
      out = dirty.replace(BREAKS, '<br>');
    } else {
      const key = which + dirty;
      out = memo.get(key);
      if (out !== undefined) {
        state.sanitizeMemoHits += 1;
        return out;
      }
      out = original.call(this, dirty, ...rest);
      if (typeof out === 'string') {
        if (memo.size >= MEMO_SIZE) memo.delete(memo.keys().next().value);
        memo.set(key, out);
      }
      return out;
    }
    state.sanitizeShortcuts += 1;
    if (state.verify && original.call(this, dirty, ...rest) !== out) state.sanitizeMismatches += 1;
    return out;
  };
  return true;
}
