// Module load hook (registered by worker.mjs): makes Mermaid's config copying cheap.
//
// Profiling mermaid.parse (mermaid 11) in Node shows 60-90% of its time in getConfig(): every
// call deep-copies the ~900-key config with Object.defineProperty, and the diagram databases call
// it for every node, edge and member. The grammar and the databases are not touched; two
// functions of the one chunk that defines the config are, switchable at run time through
// globalThis.__wikikitMermaid.fast:
//  - assignWithDepth_default: the same algorithm with plain assignment (defineProperty is kept for
//    a "__proto__" key, the one case where the two differ);
//  - getConfig: assignWithDepth({}, currentConfig) is computed once per currentConfig object
//    (Mermaid replaces that object, never edits it, when its config changes) and each call returns
//    a copy-on-write view of that snapshot that reads like the original's fresh copy (three
//    levels private, deeper objects shared with currentConfig exactly as before) and becomes a
//    real copy of its own on the first write, so callers may still write into it.
//    With WIKIKIT_MERMAID_VERIFY=1 every call also runs the original and counts differences.
//  - updateCurrentConfig(base, directives): mermaid.parse rebuilds the whole config two or three
//    times per diagram (reset(), addDirective(frontmatter config), and flowchart's
//    setConfig({ layout })), each time from the same base with the same few directives. The
//    result is remembered per base object and directives (flat string/number/boolean ones only,
//    after Mermaid's own sanitize()) and reused while the base is unchanged: every in-place write
//    into siteConfig or a remembered base goes through assignWithDepth_default, which counts them
//    and so invalidates the memo. A built config's first three levels are never written (getConfig
//    hands out copies) and deeper objects are shared with the base either way, so reusing one is
//    the same as building it again. It also lets getConfig's snapshot (one per config object) be
//    reused from one diagram to the next. Verify mode builds every hit again and compares.
// Any failure on this fast path is re-parsed on the untouched code by the worker before it is
// reported, and tests compare verdicts against the untouched code (see tests/test_mermaid.py).
// If the expected text is not found (another Mermaid version) the module loads unchanged and the
// worker reports fast: false.

const ASSIGN_DEFAULT = 'var assignWithDepth_default = assignWithDepth;';
const GET_CONFIG = 'return assignWithDepth_default({}, currentConfig);';
const UPDATE_START = '  let cfg = assignWithDepth_default({}, siteCfg);';
const UPDATE_END = '  currentConfig = cfg;\n  checkConfig(currentConfig);';

const INJECTED = `
var __wk = (globalThis.__wikikitMermaid ??= { fast: true, patched: false, verify: false, mismatches: 0 });
__wk.patched = true;
function __wkAssign(dst, src, depth) {
  if (Array.isArray(src)) {
    if (!Array.isArray(dst)) { for (const s of src) __wkAssign(dst, s, depth); return dst; }
    for (const s of src) if (!dst.includes(s)) dst.push(s);
    return dst;
  }
  if (dst === void 0 || dst === null || depth <= 0) {
    if (dst !== void 0 && dst !== null && typeof dst === "object" && typeof src === "object") return Object.assign(dst, src);
    return src;
  }
  if (src !== void 0 && src !== null && typeof dst === "object" && typeof src === "object") {
    for (const key of Object.keys(src)) {
      const v = src[key];
      if (typeof v === "object") {
        if (v === null) continue;
        if (key === "__proto__" && !Object.hasOwn(dst, key)) Object.defineProperty(dst, key, { value: void 0, writable: true, enumerable: true, configurable: true });
        if (dst[key] === void 0) dst[key] = Array.isArray(v) ? [] : {};
        if (typeof dst[key] === "object") dst[key] = __wkAssign(dst[key], v, depth - 1);
      } else if (typeof dst[key] !== "object") {
        if (key === "__proto__" && !Object.hasOwn(dst, key)) Object.defineProperty(dst, key, { value: v, writable: true, enumerable: true, configurable: true });
        else dst[key] = v;
      }
    }
  }
  return dst;
}
// A copy-on-write view of one level of the snapshot that behaves as the original's fresh copy:
// reads see the snapshot, the first write (or define/delete) turns the view into a real object of
// its own. "levels" is how many levels the original copies from here (3 at the top): below that,
// objects are shared with currentConfig exactly as before; arrays are fresh slices, as the
// original pushes their items into a new array.
function __wkCow(src, levels) {
  let own = null;
  const children = new Map();
  const child = (key) => {
    if (children.has(key)) return children.get(key);
    const v = src[key];
    let out = v;
    if (v !== null && typeof v === "object" && levels > 1) out = Array.isArray(v) ? v.slice() : __wkCow(v, levels - 1);
    children.set(key, out);
    return out;
  };
  const materialize = () => {
    if (own === null) {
      own = {};
      for (const key of Object.keys(src)) {
        if (key === "__proto__") Object.defineProperty(own, key, { value: child(key), writable: true, enumerable: true, configurable: true });
        else own[key] = child(key);
      }
    }
    return own;
  };
  const hasOwn = (key) => typeof key === "string" && Object.hasOwn(src, key);
  return new Proxy({}, {
    get: (_, key, receiver) => own !== null ? Reflect.get(own, key, receiver) : hasOwn(key) ? child(key) : Reflect.get(src, key, receiver),
    has: (_, key) => key in (own ?? src),
    ownKeys: () => Reflect.ownKeys(own ?? src),
    getOwnPropertyDescriptor: (_, key) => {
      if (own !== null) return Reflect.getOwnPropertyDescriptor(own, key);
      if (!hasOwn(key)) return undefined;
      const d = Reflect.getOwnPropertyDescriptor(src, key);
      return { value: child(key), writable: d.writable ?? true, enumerable: d.enumerable, configurable: true };
    },
    set: (_, key, value) => Reflect.set(materialize(), key, value),
    defineProperty: (_, key, descriptor) => Reflect.defineProperty(materialize(), key, { configurable: true, ...descriptor }),
    deleteProperty: (_, key) => Reflect.deleteProperty(materialize(), key),
  });
}
var __wkGen = 0; // in-place writes into siteConfig or into a config used as a memo base
var __wkBases = new WeakSet();
var __wkMemo = new WeakMap(); // base config -> Map(directives key -> { gen, init, cfg })
var __wkVerifyHit = null;
// A key that determines what the directives contribute, or null when they are not simple enough
// to be sure of that: plain objects of strings, booleans, finite numbers and plain objects of
// those (what frontmatter, setConfig({ layout }) and setConfig({ flowchart: {...} }) carry; both
// levels are copied into the built config, never shared with it), and never a theme (its
// variables are generated).
function __wkSimple(d, nested) {
  if (d === null || typeof d !== "object" || Object.getPrototypeOf(d) !== Object.prototype) return false;
  if (Object.getOwnPropertySymbols(d).length > 0) return false;
  for (const key of Object.getOwnPropertyNames(d)) {
    const desc = Object.getOwnPropertyDescriptor(d, key);
    if (key === "theme" || key === "__proto__" || !desc.enumerable || !("value" in desc)) return false;
    const v = desc.value;
    if (typeof v === "string" || typeof v === "boolean" || (typeof v === "number" && Number.isFinite(v) && !Object.is(v, -0))) continue;
    if (nested || !__wkSimple(v, true)) return false;
  }
  return true;
}
function __wkDirectivesKey(list) {
  for (const d of list) if (!__wkSimple(d, false)) return null;
  return JSON.stringify(list);
}
// updateCurrentConfig's result for this base and these directives if it was built before from
// the same, unchanged base, or null. Runs Mermaid's sanitize() on the directives first, as the
// original does, so they are left exactly as it leaves them (it is idempotent).
function __wkReusedConfig(base, list) {
  __wkVerifyHit = null;
  if (!__wk.fast || base === null || typeof base !== "object") return null;
  const entries = __wkMemo.get(base);
  if (entries === undefined) return null;
  for (const d of list) sanitize(d);
  const key = __wkDirectivesKey(list);
  const hit = key === null ? undefined : entries.get(key);
  if (hit === undefined || hit.gen !== __wkGen || hit.init !== configFromInitialize) return null;
  if (__wk.verify) { __wkVerifyHit = hit.cfg; return null; } // build it the original way and compare
  return hit.cfg;
}
// Called with each config built the original way; returns the one to use. In verify mode a memo
// hit was built again: it must equal the remembered one, which is used, as without verify.
function __wkRemember(base, list, cfg) {
  if (__wkVerifyHit !== null) {
    const hit = __wkVerifyHit;
    __wkVerifyHit = null;
    if (!__wk.isDeepStrictEqual(hit, cfg)) __wk.mismatches += 1;
    __wk.memoVerified = (__wk.memoVerified ?? 0) + 1;
    return hit;
  }
  if (base === null || typeof base !== "object") return cfg;
  const key = __wkDirectivesKey(list);
  if (key === null) return cfg;
  let entries = __wkMemo.get(base);
  if (entries === undefined) __wkMemo.set(base, (entries = new Map()));
  if (entries.size >= 64) entries.clear();
  entries.set(key, { gen: __wkGen, init: configFromInitialize, cfg });
  __wkBases.add(base);
  return cfg;
}
// getConfig's snapshot of each currentConfig object (the memo makes the same ones come back).
var __wkSnapshots = new WeakMap();
function __wkGetConfig() {
  let snapshot = __wkSnapshots.get(currentConfig);
  if (snapshot === undefined) __wkSnapshots.set(currentConfig, (snapshot = __wkAssign({}, currentConfig, 2)));
  const copy = __wkCow(snapshot, 3);
  if (__wk.verify && !__wk.isDeepStrictEqual(copy, assignWithDepth({}, currentConfig))) __wk.mismatches += 1;
  return copy;
}
`;

export function patchSource(source) {
  if (![ASSIGN_DEFAULT, GET_CONFIG, UPDATE_START, UPDATE_END].every((t) => source.includes(t))) return null;
  return source
    .replace(
      ASSIGN_DEFAULT,
      `${INJECTED}\nvar assignWithDepth_default = (dst, src, opts) => { if (dst === siteConfig || __wkBases.has(dst)) __wkGen += 1; return __wk.fast ? __wkAssign(dst, src, opts?.depth ?? 2) : assignWithDepth(dst, src, opts); };`,
    )
    .replace(GET_CONFIG, 'return __wk.fast ? __wkGetConfig() : assignWithDepth({}, currentConfig);')
    .replace(
      UPDATE_START,
      `  const __wkCfg = __wkReusedConfig(siteCfg, _directives);\n  if (__wkCfg !== null) { currentConfig = __wkCfg; checkConfig(currentConfig); return currentConfig; }\n${UPDATE_START}`,
    )
    .replace(UPDATE_END, `  cfg = __wkRemember(siteCfg, _directives, cfg);\n${UPDATE_END}`);
}

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (!url.includes('/node_modules/mermaid/dist/') || !url.endsWith('.mjs')) return result;
  const text = typeof result.source === 'string' ? result.source : Buffer.from(result.source).toString('utf8');
  const patched = patchSource(text);
  return patched === null ? result : { ...result, source: patched };
}
