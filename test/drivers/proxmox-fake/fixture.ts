import { afterEach, beforeEach, expect } from 'vitest';
import { DriverError, type HypervisorTarget } from '../../../module/drivers/contract.js';
import { ProxmoxClient } from '../../../module/drivers/proxmox/http-client.js';
import { proxmoxDriver, type ProxmoxDriver, type ProxmoxDriverOptions } from '../../../module/drivers/proxmox/proxmox-driver.js';
import { createTlsAgent } from '../../../module/drivers/proxmox/tls-agent.js';
import { waitForTask } from '../conformance.js';
import { testCerts } from './certs.js';
import { FakePve } from './fake-pve.js';

export const TARGET: HypervisorTarget = { driver: 'proxmox', node: 'pve1', vmId: '100' };
/** A container target; the fixture does not create it (tests add it where they need it). */
export const CT_TARGET: HypervisorTarget = { driver: 'proxmox', node: 'pve1', vmId: '200', guestType: 'lxc' };

/** A started fake with VM 100 on pve1, and a factory for drivers pointed at it (trusting its CA). */
export async function fakeProxmox() {
  const fake = await new FakePve().start();
  const vm = fake.cluster.addVm(TARGET.node, TARGET.vmId);
  const drivers: ProxmoxDriver[] = [];
  const driver = (over: Partial<ProxmoxDriverOptions> = {}): ProxmoxDriver => {
    const d = proxmoxDriver({ url: fake.url, tokenId: fake.tokenId, tokenSecret: fake.tokenSecret, tls: { ca: testCerts().caPem }, ...over });
    drivers.push(d);
    return d;
  };
  return {
    fake, vm, driver,
    /** Requests that reached the fake, `METHOD /path` (after `/api2/json`). */
    calls: () => fake.requests.map((r) => `${r.method} ${r.path}`),
    async stop() {
      for (const d of drivers) d.close();
      await fake.stop();
    },
  };
}

/** The DriverError a call rejects with; fails the test if it resolves or throws something else. */
export async function rejection(call: Promise<unknown>): Promise<DriverError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof DriverError) return err;
    throw err;
  }
  throw new Error('expected a DriverError, but the call succeeded');
}

/** The end state of a driver call's task, or the error the call itself threw. */
export async function outcome(d: ProxmoxDriver, target: HypervisorTarget, start: () => Promise<string>) {
  try {
    return await waitForTask(d, target, await start(), 5_000, 5);
  } catch (err) {
    if (err instanceof DriverError) return { state: 'failed' as const, error: err };
    throw err;
  }
}

/** Takes a disk-only snapshot through the driver and waits for it; fails the test if it does not succeed. */
export async function snapshotOk(d: ProxmoxDriver, target: HypervisorTarget, name: string): Promise<void> {
  expect(await outcome(d, target, () => d.create(target, { name, description: null, includeMemory: false }))).toEqual({ state: 'succeeded' });
}

/** A bare API client on the fake, for asking what the driver never sends; close it after use. */
export function rawClient(fake: FakePve): ProxmoxClient {
  return new ProxmoxClient({
    baseUrl: fake.url, tokenId: fake.tokenId, tokenSecret: fake.tokenSecret, agent: createTlsAgent({ ca: testCerts().caPem }), timeoutMs: 5_000,
  });
}

/** An outcome's error code, or its state when it did not fail. */
export const code = (o: Awaited<ReturnType<typeof outcome>>) => (o.state === 'failed' ? o.error.code : o.state);

/** A fresh fake and driver for each test of the calling `describe`, read through the returned object. */
export function freshFakePerTest(): { fx: Awaited<ReturnType<typeof fakeProxmox>>; d: ProxmoxDriver } {
  const env = {} as { fx: Awaited<ReturnType<typeof fakeProxmox>>; d: ProxmoxDriver };
  beforeEach(async () => {
    env.fx = await fakeProxmox();
    env.d = env.fx.driver();
  });
  afterEach(async () => env.fx.stop());
  return env;
}
