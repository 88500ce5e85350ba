import { get, globalAgent } from 'node:https';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DriverError } from '../../module/drivers/contract.js';
import { testCerts } from './proxmox-fake/certs.js';
import { fakeProxmox, rejection, TARGET } from './proxmox-fake/fixture.js';

type Fx = Awaited<ReturnType<typeof fakeProxmox>>;

/** The fake's certificate is signed by a CA no system trusts, like a Proxmox cluster's own CA. */
describe('proxmox driver TLS, per connection', () => {
  let fx: Fx;
  beforeEach(async () => {
    fx = await fakeProxmox();
  });
  afterEach(async () => fx.stop());

  const tokenSeen = () => fx.fake.requests.some((r) => r.authorization?.includes(fx.fake.tokenSecret));

  it('trusts the cluster CA when given (tls.ca)', async () => {
    expect(await fx.driver({ tls: { ca: testCerts().caPem } }).list(TARGET)).toEqual([]);
    expect(tokenSeen()).toBe(true);
  });

  it('by default refuses the cluster certificate (system CAs only), before sending the token', async () => {
    const err = await rejection(fx.driver({ tls: {} }).list(TARGET));
    expect(err.code).toBe('unreachable');
    expect(err.detail).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|unable to (get|verify)/i);
    expect(fx.fake.requests).toHaveLength(0);
  });

  it('accepts the pinned certificate (tls.fingerprint), with or without colons, any case', async () => {
    const fp = testCerts().fingerprint;
    expect(await fx.driver({ tls: { fingerprint: fp } }).list(TARGET)).toEqual([]);
    expect(await fx.driver({ tls: { fingerprint: fp.replace(/:/g, '').toLowerCase() } }).list(TARGET)).toEqual([]);
  });

  it('refuses a certificate other than the pinned one without sending a byte of the request', async () => {
    const pinnedOther = fx.driver({ tls: { fingerprint: testCerts().otherFingerprint } });
    const err = await rejection(pinnedOther.list(TARGET));
    expect(err.code).toBe('unreachable');
    expect(err.detail).toContain('does not match the pinned');
    expect(fx.fake.requests).toHaveLength(0);
    expect(tokenSeen()).toBe(false);
  });

  it('accepts any certificate only with tls.insecure', async () => {
    expect(await fx.driver({ tls: { insecure: true } }).list(TARGET)).toEqual([]);
  });

  it('never changes process-wide TLS settings: other HTTPS clients still verify', async () => {
    const envBefore = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    const globalBefore = { ...globalAgent.options };
    const insecure = fx.driver({ tls: { insecure: true } });
    const pinned = fx.driver({ tls: { fingerprint: testCerts().fingerprint } });
    const strict = fx.driver({ tls: {} });
    // Side by side, each connection keeps its own choice.
    const [a, b, c] = await Promise.all([
      insecure.list(TARGET), pinned.list(TARGET), strict.list(TARGET).catch((e: DriverError) => e.code),
    ]);
    expect([a, b, c]).toEqual([[], [], 'unreachable']);
    expect(process.env.NODE_TLS_REJECT_UNAUTHORIZED).toBe(envBefore);
    expect(globalAgent.options).toEqual(globalBefore);
    const plain = await new Promise<string>((resolve) => {
      get(`${fx.fake.url}/api2/json/version`, (res) => resolve(`answered ${res.statusCode}`)).on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    expect(plain).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });
});
