// Runs SemanticWiki's OWN analyzeProjectWithLLM (dist/wiki-agent.js of the installed client) on
// plan answers, with the model and the file scan replaced: what does the client do with each?
// usage: node plan_check_node.mjs DIST_DIR CASES.json  ->  one JSON line per case on stdout
// A case: {"answer": str, "files": [path, ...]}. Result: {"pattern": bool, "filenames": [...]},
// where pattern means the client fell back to generateComprehensivePages (plan discarded).
import { readFileSync } from 'fs';
import { pathToFileURL } from 'url';

const [dist, casesPath] = process.argv.slice(2);
const { ArchitecturalWikiAgent } = await import(pathToFileURL(`${dist}/wiki-agent.js`).href);
const cases = JSON.parse(readFileSync(casesPath, 'utf-8'));
const out = [];
console.log = () => {};  // the client's progress lines; only our JSON goes to stdout
console.error = () => {};
for (const c of cases) {
  const agent = Object.create(ArchitecturalWikiAgent.prototype);
  agent.repoPath = '/nonexistent';
  agent.gatherProjectFiles = async () =>
    c.files.map((f) => ({ relativePath: f, extension: '.' + f.split('.').pop(), size: 100 }));
  const PATTERN = { title: '__pattern__', filename: '__pattern__', type: 'overview' };
  agent.generateComprehensivePages = () => [PATTERN];
  // keep the client's own augmenting (it may throw on a page without a title), not its pages
  const augment = ArchitecturalWikiAgent.prototype.augmentWithPatternPages;
  agent.augmentWithPatternPages = function (...args) { augment.apply(this, args); return []; };
  const provider = { chat: async () => ({ content: c.answer }) };
  const pages = await agent.analyzeProjectWithLLM(provider, {});
  out.push({ pattern: pages.length === 1 && pages[0] === PATTERN, filenames: pages.map((p) => p.filename) });
}
process.stdout.write(JSON.stringify(out) + '\n');
