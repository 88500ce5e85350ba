import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../../scripts/build.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** What `npm pack` would ship, as paths relative to the package. */
function packedFiles(): string[] {
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm pack: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
}

/** Plain node: no tsx, no loader, no inherited NODE_OPTIONS. */
function plainNode(args: string[], cwd: string) {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return spawnSync(process.execPath, args, { cwd, env, encoding: 'utf8', timeout: 60_000 });
}

// A panel's TypeScript: if the declarations were missing or `any`, the expected error would not occur.
const CONSUMER = `
import knex from 'knex';
import { createSnapshotModule, simulatedDriver, type PanelAdapter, type SnapshotModule } from 'panel-snapshots';
const panel: PanelAdapter = { getActor: () => null, getService: async () => null };
export const made: Promise<SnapshotModule> = createSnapshotModule({
  db: knex({ client: 'better-sqlite3', useNullAsDefault: true }), panel,
  drivers: { simulated: simulatedDriver() }, config: { csrfSecret: 'x'.repeat(32) },
});
// @ts-expect-error a service without its owner, plan and target
export const wrong: PanelAdapter = { getActor: () => null, getService: async () => ({ id: 's' }) };
`;

// The package as a panel installs it: only the packed files, in a folder outside the repository (so a
// path that escaped dist/ would find no views), with the repository's dependencies beside it.
describe('the shipped build', () => {
  let pkg: string;
  let files: string[];
  beforeAll(() => {
    ensureBuilt();
    files = packedFiles();
    pkg = join(mkdtempSync(join(tmpdir(), 'panel-snapshots-pkg-')), 'panel-snapshots');
    for (const f of files) {
      mkdirSync(dirname(join(pkg, f)), { recursive: true });
      copyFileSync(join(ROOT, f), join(pkg, f));
    }
    symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
    copyFileSync(new URL('compiled-probe.mjs', import.meta.url), join(pkg, 'probe.mjs'));
  }, 240_000);
  afterAll(() => {
    if (pkg) rmSync(dirname(pkg), { recursive: true, force: true });
  });

  it('ships compiled JavaScript, declarations and the files read at run time, and no TypeScript sources', () => {
    expect(files).toContain('dist/module/index.js');
    expect(files).toContain('dist/module/index.d.ts');
    expect(files).toContain('dist/migrations/index.js');
    for (const dir of ['views', 'locales', 'public']) expect(files.some((f) => f.startsWith(`dist/${dir}/`))).toBe(true);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('runs under plain node: the package name resolves to dist, migrations run, a page renders in Korean and assets are served', () => {
    const r = plainNode(['probe.mjs', join(pkg, 'probe.sqlite')], pkg);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { entry: string; page: { status: number; body: string }; css: { status: number; bytes: number } };
    expect(out.entry).toBe(pathToFileURL(join(pkg, 'dist/module/index.js')).href);
    expect(out.page.status).toBe(200);
    expect(out.page.body).toContain('lang="ko"');
    expect(out.page.body).toContain('스냅샷');
    expect(out.page.body).toContain('before-upgrade');
    expect(out.css).toEqual({ status: 200, bytes: expect.any(Number) });
    expect(out.css.bytes).toBeGreaterThan(1000);
  }, 90_000);

  it('gives a TypeScript panel the declarations through the "types" condition', () => {
    writeFileSync(join(pkg, 'consumer.ts'), CONSUMER);
    writeFileSync(join(pkg, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'] },
      files: ['consumer.ts'],
    }));
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const r = plainNode([tsc, '-p', 'tsconfig.json'], pkg);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 90_000);
});
