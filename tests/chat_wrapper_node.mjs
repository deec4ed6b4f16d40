// What node-llama-cpp feeds a GGUF model in SemanticWiki's bundled mode, as tokens.
// usage: node chat_wrapper_node.mjs NODE_LLAMA_CPP_DIR MODEL.gguf CASES.json -> one JSON line
// A case: {"system": str | null, "turns": [[user, answer], ...]}. SemanticWiki 1.2.1
// (dist/llm/local-llama-provider.js:277-288) opens a LlamaChatSession with no chatWrapper (so
// node-llama-cpp resolves one from the GGUF) and systemPrompt = its prompt + "\n\n" + the tool
// prompt ("" without tools, :121-124). Result per case: {"wrapper": the wrapper's name,
// "prompt": tokens up to the last answer, "full": tokens with the last answer (left open, as the
// wrapper leaves it)}; plus "im_end": the token ids of "<|im_end|>".
import { readFileSync } from 'fs';
import { pathToFileURL } from 'url';

const [nlcDir, modelPath, casesPath] = process.argv.slice(2);
const { getLlama, LlamaChatSession } = await import(pathToFileURL(`${nlcDir}/dist/index.js`).href);
const llama = await getLlama({ gpu: false, build: 'never', logLevel: 'error' });
const model = await llama.loadModel({ modelPath });

const cases = JSON.parse(readFileSync(casesPath, 'utf-8'));
const context = await model.createContext({ contextSize: 256, sequences: cases.length });
const out = { cases: [], im_end: Array.from(model.tokenize('<|im_end|>', true)) };
for (const c of cases) {
  const sequence = context.getSequence();
  const session = new LlamaChatSession({
    contextSequence: sequence,
    systemPrompt: c.system ? `${c.system}\n\n${''}` : '',  // options.systemPrompt ? ... : toolPrompt
  });
  const base = session.getChatHistory();
  const render = (history) => Array.from(
    session.chatWrapper.generateContextState({ chatHistory: history }).contextText.tokenize(model.tokenizer));
  const history = [...base];
  for (const [user, answer] of c.turns) {
    history.push({ type: 'user', text: user }, { type: 'model', response: [answer] });
  }
  const prompt = [...history.slice(0, -1), { type: 'model', response: [] }];
  out.cases.push({ wrapper: session.chatWrapper.wrapperName, prompt: render(prompt), full: render(history) });
  session.dispose();
}
process.stdout.write(JSON.stringify(out) + '\n');
await context.dispose();
await model.dispose();
await llama.dispose();
