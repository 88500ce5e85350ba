import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as entry from '../module/index.js';
import { DATABASES, migratedDatabase } from './helpers/databases.js';
import { moduleFixture } from './helpers/module-fixture.js';

const doc = readFileSync(new URL('../docs/public-api.md', import.meta.url), 'utf8');
const source = readFileSync(new URL('../module/index.ts', import.meta.url), 'utf8');

/** The backticked names at the start of each list item under `## heading`. */
function documented(heading: string): string[] {
  const section = doc.split(/^## /m).find((s) => s.startsWith(`${heading}\n`)) ?? '';
  // An item may wrap onto indented lines; its names are those before the dash that starts its text.
  const items = section.replace(/\n {2}/g, ' ').split('\n').filter((l) => l.startsWith('- '));
  return items.flatMap((l) => l.slice(2).split(' — ')[0]!.match(/`[A-Za-z]+`/g) ?? []).map((n) => n.slice(1, -1)).sort();
}

/** Names the entry exports as types only (`export type { … }` and `type X` inside `export { … }`). */
function typeExports(): string[] {
  const names = [...source.matchAll(/export type \{([^}]+)\}/g)].flatMap((m) => m[1]!.split(','))
    .concat([...source.matchAll(/export \{([^}]+)\}/g)].flatMap((m) => m[1]!.split(',').filter((n) => n.trim().startsWith('type '))))
    .map((n) => n.trim().replace(/^type /, '')).filter(Boolean);
  return [...new Set(names)].sort();
}

describe('the public surface is the documented one (docs/public-api.md)', () => {
  let handle: Awaited<ReturnType<typeof migratedDatabase>>;
  let fx: Awaited<ReturnType<typeof moduleFixture>>;
  beforeAll(async () => {
    handle = await migratedDatabase(DATABASES[0]!);
    fx = await moduleFixture(handle.db);
  });
  afterAll(async () => {
    await fx.mod.stop();
    await handle.destroy();
  });

  it('values exported by the package entry', () => {
    expect(Object.keys(entry).sort()).toEqual(documented('Values'));
  });

  it('types exported by the package entry', () => {
    expect(typeExports()).toEqual(documented('Types'));
  });

  it('members of a created module and of its billing hooks', () => {
    expect(Object.keys(fx.mod).sort()).toEqual(documented('SnapshotModule'));
    expect(Object.keys(fx.mod.hooks).sort()).toEqual(documented('Billing hooks'));
  });
});
