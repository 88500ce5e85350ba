// `npm run build`: compiles module/ and migrations/ to dist/ (ESM JavaScript and .d.ts, with
// tsconfig.build.json) and copies views/, locales/ and public/ beside them, so dist/ holds the same
// layout as the repository and the module's `new URL('../../views', import.meta.url)` paths resolve
// inside it. A fingerprint of the inputs is written last (dist/.build-stamp): `ensureBuilt` rebuilds
// only when it no longer matches, and a half-written build never counts as one.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Read at run time from beside the compiled code. */
const ASSETS = ['views', 'locales', 'public'];
const SOURCES = ['module', 'migrations'];
const CONFIGS = ['tsconfig.json', 'tsconfig.build.json', 'package.json'];
const STAMP = '.build-stamp';

export const DIST_DIR = join(ROOT, 'dist');

export class BuildError extends Error {}

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** A hash of every file the build reads: sources, assets and the configs. */
export function inputFingerprint(): string {
  const hash = createHash('sha256');
  const inputs = [...SOURCES, ...ASSETS].flatMap((d) => files(join(ROOT, d))).concat(CONFIGS.map((f) => join(ROOT, f)));
  for (const file of inputs) hash.update(relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  return hash.digest('hex');
}

/** True when `outDir` holds a finished build of the current inputs. */
export function isBuilt(outDir = DIST_DIR): boolean {
  const stamp = join(outDir, STAMP);
  return existsSync(stamp) && readFileSync(stamp, 'utf8') === inputFingerprint();
}

/**
 * Builds into a sibling directory, then swaps it in, so a process importing from `outDir` meanwhile
 * sees the old build or the new one, never a mix.
 */
export function build(outDir = DIST_DIR): void {
  const fingerprint = inputFingerprint();
  const staging = `${outDir}.staging-${process.pid}`;
  rmSync(staging, { recursive: true, force: true });
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', staging], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) {
    rmSync(staging, { recursive: true, force: true });
    throw new BuildError(`tsc exited with ${r.status ?? r.signal}`);
  }
  for (const dir of ASSETS) cpSync(join(ROOT, dir), join(staging, dir), { recursive: true });
  writeFileSync(join(staging, STAMP), fingerprint);
  rmSync(outDir, { recursive: true, force: true });
  try {
    renameSync(staging, outDir);
  } catch (err) {
    // Another build (a test beside a bench) swapped its own in first: the same inputs, keep it.
    rmSync(staging, { recursive: true, force: true });
    if (!isBuilt(outDir)) throw err;
  }
}

/** Builds `outDir` unless it already holds a build of the current inputs; true when it built. */
export function ensureBuilt(outDir = DIST_DIR): boolean {
  if (isBuilt(outDir)) return false;
  build(outDir);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const t = performance.now();
  build();
  const kb = files(DIST_DIR).reduce((n, f) => n + statSync(f).size, 0) / 1024;
  console.log(`built ${relative(ROOT, DIST_DIR)}/ in ${((performance.now() - t) / 1000).toFixed(1)} s (${kb.toFixed(0)} kB)`);
}
