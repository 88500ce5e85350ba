import { execFile, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ServicesRepo } from '../../module/db/services-repo.js';
import { webhookSignature } from '../../module/http/webhook/signature.js';
import { DATABASES } from '../helpers/databases.js';
import { useModule } from '../helpers/db-suite.js';
import { appFor } from '../helpers/http-app.js';
import { makeService } from '../helpers/module-fixture.js';

// The README's curl + openssl example, run as written (only SECRET, URL and, once, BODY replaced).

const SECRET = 'readme-example-secret-0123456789abcdefgh';
const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const BLOCK = /<!-- webhook-example -->\s*```sh\n([\s\S]*?)```/.exec(README)?.[1] ?? '';
const installed = (cmd: string) => spawnSync(cmd, ['--version']).status === 0 || spawnSync(cmd, ['version']).status === 0;
const HAS_OPENSSL = installed('openssl');
const HAS_CURL = installed('curl');

/** The README block with its SECRET/URL/BODY lines replaced; `upTo` drops everything from that line on. */
function script(replace: { URL?: string; BODY?: string }, upTo?: string): string {
  let s = BLOCK.replace(/^SECRET=.*$/m, `SECRET='${SECRET}'`);
  if (replace.URL) s = s.replace(/^URL=.*$/m, `URL='${replace.URL}'`);
  if (replace.BODY) s = s.replace(/^BODY=.*$/m, `BODY='${replace.BODY}'`);
  if (upTo) s = s.slice(0, s.indexOf(upTo));
  return s;
}

function bash(src: string): string {
  const r = spawnSync('bash', ['-euo', 'pipefail', '-c', src], { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`bash failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

describe('README webhook example', () => {
  it('is in the README, signs with openssl and posts with curl', () => {
    expect(BLOCK).toContain('openssl dgst -sha256 -hmac "$SECRET"');
    expect(BLOCK).toContain('X-Snapshots-Signature: $SIG');
    expect(BLOCK).toMatch(/^BODY='\{"event":"service\.suspended","eventId":"[^"]+","serviceId":"vps-101"\}'$/m);
  });

  it.skipIf(!HAS_OPENSSL)('computes the same signature as an HMAC-SHA256 of "<timestamp>.<raw body>" (ASCII and UTF-8 bodies)', () => {
    for (const body of [undefined, '{"event":"plan.before_change","eventId":"e-1","serviceId":"vps-101","newPlanId":"비즈니스 プラン"}']) {
      const out = bash(`${script({ BODY: body }, 'curl ')}\nprintf '%s\\n%s\\n%s\\n' "$TS" "$SIG" "$BODY"`).split('\n');
      const [ts, sig, sent] = out as [string, string, string];
      expect(sig).toMatch(/^[0-9a-f]{64}$/);
      expect(Math.abs(Number(ts) - Date.now() / 1000)).toBeLessThan(60);
      expect(sig).toBe(createHmac('sha256', SECRET).update(Buffer.from(`${ts}.${sent}`, 'utf8')).digest('hex'));
      expect(sig).toBe(webhookSignature(SECRET, ts, Buffer.from(sent, 'utf8')));
    }
  });
});

describe.each(DATABASES)('README webhook example against a server ($kind)', (kind) => {
  const fx = useModule(kind, { services: [makeService({ id: 'vps-101' })], config: { webhookSecret: SECRET } });
  let closeServer: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await closeServer?.();
    closeServer = null;
  });

  it.skipIf(!HAS_OPENSSL || !HAS_CURL)('suspends the service it names, once', async () => {
    const server = appFor(fx.mod).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    closeServer = () => new Promise((r) => server.close(() => r()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/snapshots`;
    // spawnSync would block the server's event loop: run bash asynchronously.
    const run = () => new Promise<string>((resolve, reject) => {
      execFile('bash', ['-euo', 'pipefail', '-c', script({ URL: url })], { timeout: 20_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
    });
    const first = JSON.parse(await run());
    expect(first).toEqual({ eventId: 'evt-2026-0001', event: 'service.suspended', result: { changed: true } });
    expect((await new ServicesRepo(fx.db).get('vps-101'))!.suspended).toBe(true);
    // Run again (a new timestamp and signature, the same event id): the first answer, not applied again.
    expect(JSON.parse(await run())).toEqual(first);
  });
});
