import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DRIVER_ERROR_CODES } from '../../module/drivers/contract.js';
import { SNAPSHOT_STATUSES } from '../../module/domain/status.js';
import { LOCALES_DIR, NAMESPACES } from '../../module/i18n/i18n.js';

const ROOT = join(LOCALES_DIR, '..');

function files(dir: string, ext: RegExp): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p, ext) : ext.test(f) ? [p] : [];
  });
}

function has(key: string): boolean {
  const [ns, path] = key.includes(':') ? key.split(':') as [string, string] : ['common', key];
  let node: unknown = JSON.parse(readFileSync(join(LOCALES_DIR, 'en', `${ns}.json`), 'utf8'));
  for (const part of path.split('.')) node = (node as Record<string, unknown> | undefined)?.[part];
  return typeof node === 'string';
}

describe('every key the module uses exists in English (and so, by the locale test, in ko and ja)', () => {
  it('literal t(...) keys in views and source', () => {
    const sources = [...files(join(ROOT, 'views'), /\.ejs$/), ...files(join(ROOT, 'module'), /\.ts$/)];
    const keys = new Set<string>();
    for (const f of sources) {
      for (const m of readFileSync(f, 'utf8').matchAll(/\bt\(\s*'([a-z_]+:[a-z0-9_.]+)'/g)) if (!m[1]!.endsWith('.')) keys.add(m[1]!);
    }
    expect(keys.size).toBeGreaterThan(40);
    expect([...keys].filter((k) => !has(k))).toEqual([]);
    for (const k of keys) expect(NAMESPACES as readonly string[]).toContain(k.split(':')[0]);
  });

  it('keys built at run time: statuses, driver errors, error codes thrown by the module', () => {
    for (const s of SNAPSHOT_STATUSES) expect(has(`snapshots:status.${s}`), s).toBe(true);
    for (const s of ['suspended', 'terminated']) expect(has(`snapshots:service_status.${s}`), s).toBe(true);
    for (const c of DRIVER_ERROR_CODES) expect(has(`errors:driver_${c}`), c).toBe(true);
    const thrown = new Set<string>();
    // Domain and HTTP code: where user-facing error codes are raised (drivers speak their own codes).
    for (const f of [...files(join(ROOT, 'module', 'domain'), /\.ts$/), ...files(join(ROOT, 'module', 'http'), /\.ts$/)]) {
      const src = readFileSync(f, 'utf8');
      for (const m of src.matchAll(/new (?:Conflict|Forbidden|Unavailable|Snapshot)Error\(\s*'([a-z_]+)'/g)) thrown.add(m[1]!);
      for (const m of src.matchAll(/\{\s*code:\s*'([a-z_]+)'/g)) thrown.add(m[1]!);
    }
    expect(thrown.size).toBeGreaterThan(15);
    expect([...thrown].filter((c) => !has(`errors:${c}`))).toEqual([]);
  });
});
