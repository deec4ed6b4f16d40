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
// Any failure on this fast path is re-parsed on the untouched code by the worker before it is
// reported, and tests compare verdicts against the untouched code (see tests/test_mermaid.py).
// If the expected text is not found (another Mermaid version) the module loads unchanged and the
// worker reports fast: false.

const ASSIGN_DEFAULT = 'var assignWithDepth_default = assignWithDepth;';
const GET_CONFIG = 'return assignWithDepth_default({}, currentConfig);';

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
var __wkSnapshot = { src: null, value: null };
function __wkGetConfig() {
  if (__wkSnapshot.src !== currentConfig) {
    __wkSnapshot.src = currentConfig;
    __wkSnapshot.value = __wkAssign({}, currentConfig, 2);
  }
  const copy = __wkCow(__wkSnapshot.value, 3);
  if (__wk.verify && !__wk.isDeepStrictEqual(copy, assignWithDepth({}, currentConfig))) __wk.mismatches += 1;
  return copy;
}
`;

export function patchSource(source) {
  if (!source.includes(ASSIGN_DEFAULT) || !source.includes(GET_CONFIG)) return null;
  return source
    .replace(
      ASSIGN_DEFAULT,
      `${INJECTED}\nvar assignWithDepth_default = (dst, src, opts) => __wk.fast ? __wkAssign(dst, src, opts?.depth ?? 2) : assignWithDepth(dst, src, opts);`,
    )
    .replace(GET_CONFIG, 'return __wk.fast ? __wkGetConfig() : assignWithDepth({}, currentConfig);');
}

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (!url.includes('/node_modules/mermaid/dist/') || !url.endsWith('.mjs')) return result;
  const text = typeof result.source === 'string' ? result.source : Buffer.from(result.source).toString('utf8');
  const patched = patchSource(text);
  return patched === null ? result : { ...result, source: patched };
}
