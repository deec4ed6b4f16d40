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
//    a copy of that snapshot made the same depth as the original's (three levels fresh, deeper
//    objects shared with currentConfig exactly as before), so callers may still write into it.
//    With WIKIKIT_MERMAID_VERIFY=1 every call also runs the original and counts differences.
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
// A fresh copy of the snapshot's first "levels" levels; deeper values are shared, as in the
// original (its last level is an Object.assign, which shares what lies below).
function __wkCopy(value, levels) {
  if (levels <= 0 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.slice(); // the original pushes array items by reference
  const out = {};
  for (const key of Object.keys(value)) {
    if (key === "__proto__") Object.defineProperty(out, key, { value: __wkCopy(value[key], levels - 1), writable: true, enumerable: true, configurable: true });
    else out[key] = __wkCopy(value[key], levels - 1);
  }
  return out;
}
var __wkSnapshot = { src: null, value: null };
function __wkGetConfig() {
  if (__wkSnapshot.src !== currentConfig) {
    __wkSnapshot.src = currentConfig;
    __wkSnapshot.value = __wkAssign({}, currentConfig, 2);
  }
  const copy = __wkCopy(__wkSnapshot.value, 3);
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
