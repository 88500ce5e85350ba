// How bench/scale.ts starts its measuring process for each runtime it compares:
// - `node`: the compiled build (dist/, built first when missing or stale) under plain node, as a
//   panel runs it in production; the bench's own few files are transpiled for it to .tmp/.
// - `tsx`: the TypeScript sources under tsx, as the repository's tests and demo run them.
// Both get `--expose-gc`, which only makes gc() callable (for the readings after a full collection),
// and BENCH_NODE_FLAGS (e.g. `--max-old-space-size=256 --max-semi-space-size=4`): V8 flags are the
// host's to set for its process, so the bench lets one see what they change.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { DIST_DIR, ensureBuilt } from '../scripts/build.js';

export type Runtime = 'node' | 'tsx';

export interface ChildSpec { file: string; execArgv: string[]; entryUrl: string; env: NodeJS.ProcessEnv }

const FLAGS = ['--expose-gc', ...(process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean)];
const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const OUT_DIR = fileURLToPath(new URL('../.tmp/bench-scale-node/', import.meta.url));
/** The measuring process's files; they import the module's types only (its entry comes by URL). */
const CHILD_FILES = ['scale-child', 'scale-measure', 'scale-memory', 'scale-explain', 'scale-pages', 'scale-panel', 'scale-seed'];

/** Transpiled one by one: with isolatedModules nothing needs the rest of the program. */
function transpileChild(): string {
  mkdirSync(OUT_DIR, { recursive: true });
  for (const name of CHILD_FILES) {
    const source = readFileSync(`${BENCH_DIR}${name}.ts`, 'utf8');
    const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 }, fileName: `${name}.ts` });
    writeFileSync(`${OUT_DIR}${name}.js`, outputText);
  }
  return `${OUT_DIR}scale-child.js`;
}

/** The process to fork for `runtime`; for `node` this builds dist/ when it is stale. */
export function childFor(runtime: Runtime): ChildSpec {
  if (runtime === 'tsx') {
    return { file: `${BENCH_DIR}scale-child.ts`, execArgv: [...process.execArgv, ...FLAGS], entryUrl: new URL('../module/index.ts', import.meta.url).href, env: process.env };
  }
  if (ensureBuilt()) console.log('built dist/ (it was missing or stale)');
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return { file: transpileChild(), execArgv: FLAGS, entryUrl: pathToFileURL(`${DIST_DIR}/module/index.js`).href, env };
}
