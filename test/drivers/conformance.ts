import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DriverError, type DriverCapabilities, type DriverErrorCode, type DriverTaskRef, type HypervisorSnapshot,
  type HypervisorTarget, type SnapshotDriver, type TaskState,
} from '../../module/drivers/contract.js';

/** What a driver's test file hands the suite; everything but driver/target/cleanup is optional. */
export interface ConformanceSetup {
  driver: SnapshotDriver;
  target: HypervisorTarget;
  /** Called once after the suite; snapshots the suite made are already deleted by then (best effort). */
  cleanup(): Promise<void>;
  /** How long one task may run before the test fails (default 120 s). */
  taskTimeoutMs?: number;
  /** Pause between `taskStatus` polls (default 100 ms). */
  pollIntervalMs?: number;
  /**
   * Prefix of every snapshot name the suite creates (default `conf`), so a live VM's other snapshots
   * are never touched and only ours are looked at in `list`. Lowercase letters and digits.
   */
  namePrefix?: string;
  /** Whether the hypervisor keeps descriptions (default true); if not, list must report null. */
  keepsDescription?: boolean;
  /** Tolerated difference between the hypervisor's clock and ours for `createdAt` (default 10 min). */
  clockSkewMs?: number;
  /**
   * Where the clone test may make a new guest (it must not exist yet; the suite leaves the clone
   * there for `cleanup`). Without it, or when the capabilities say no `clone`, that test is skipped.
   */
  cloneDest?: HypervisorTarget;
}

export interface ConformanceOptions {
  /** Per-test timeout for vitest (default 10 min: real hypervisors are slow, memory snapshots more so). */
  testTimeoutMs?: number;
  /** Skip the whole suite (e.g. a live hypervisor that is not configured). */
  skip?: boolean;
}

/** Polls a task until it is no longer running; fails with the last state after `timeoutMs`. */
export async function waitForTask(
  driver: SnapshotDriver, target: HypervisorTarget, task: DriverTaskRef, timeoutMs = 120_000, intervalMs = 100,
): Promise<Exclude<TaskState, { state: 'running' }>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await driver.taskStatus(target, task);
    if (state.state !== 'running') return state;
    if (Date.now() > deadline) throw new Error(`task ${task} still running after ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}

/**
 * Registers the tests every `SnapshotDriver` must pass, using only the contract. `setup` runs once
 * for the suite (a real VM may be expensive to prepare); each test uses its own snapshot names and
 * deletes what it created afterwards.
 */
export function describeDriverConformance(
  name: string,
  setup: () => Promise<ConformanceSetup>,
  options: ConformanceOptions = {},
): void {
  const describeFn = options.skip ? describe.skip : describe;
  describeFn(`driver conformance: ${name}`, { timeout: options.testTimeoutMs ?? 600_000 }, () => {
    let env: ConformanceSetup;
    let created: string[] = [];
    const drv = () => env.driver;
    const target = () => env.target;
    const taskTimeout = () => env.taskTimeoutMs ?? 120_000;
    const prefix = () => env.namePrefix ?? 'conf';

    /** A fresh valid name under the strictest rules (Proxmox's): `[a-z][a-z0-9_-]`, ≤ 40 characters. */
    const freshName = (tag: string) => {
      const n = `${prefix()}-${tag}-${randomBytes(4).toString('hex')}`;
      created.push(n);
      return n;
    };
    const finish = (task: DriverTaskRef) => waitForTask(drv(), target(), task, taskTimeout(), env.pollIntervalMs ?? 100);
    const ours = async (): Promise<HypervisorSnapshot[]> =>
      (await drv().list(target())).filter((s) => s.name.startsWith(`${prefix()}-`));
    const find = async (n: string) => (await drv().list(target())).find((s) => s.name === n);

    async function createOk(n: string, description: string | null, includeMemory = false): Promise<void> {
      const state = await finish(await drv().create(target(), { name: n, description, includeMemory }));
      expect(state, `create ${n}`).toMatchObject({ state: 'succeeded' });
    }

    /** The driver may refuse at the call or accept and fail the task: both must carry `code`. */
    async function expectFailure(start: () => Promise<DriverTaskRef>, code: DriverErrorCode | DriverErrorCode[]): Promise<DriverError> {
      const codes = Array.isArray(code) ? code : [code];
      let error: unknown;
      try {
        const state = await finish(await start());
        if (state.state === 'failed') error = state.error;
        else error = new Error(`task succeeded, expected ${codes.join('|')}`);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(DriverError);
      expect(codes).toContain((error as DriverError).code);
      expect((error as DriverError).detail.length).toBeGreaterThan(0);
      return error as DriverError;
    }

    beforeAll(async () => {
      env = await setup();
    }, options.testTimeoutMs ?? 600_000);

    afterEach(async () => {
      const leftovers = created;
      created = [];
      const present = new Set((await drv().list(target()).catch(() => [])).map((s) => s.name));
      for (const n of leftovers.filter((x) => present.has(x)).reverse()) {
        await drv().delete(target(), n).then((t) => finish(t)).catch(() => undefined);
      }
    });

    afterAll(async () => {
      await env?.cleanup();
    });

    it('reports capabilities of the right shape', async () => {
      const caps: DriverCapabilities = await drv().capabilities(target());
      expect(typeof caps.memory).toBe('boolean');
      expect(typeof caps.rollbackOnlyLatest).toBe('boolean');
      if (caps.maxSnapshots !== undefined) {
        expect(Number.isInteger(caps.maxSnapshots) && caps.maxSnapshots > 0).toBe(true);
      }
      expect(typeof drv().name).toBe('string');
      expect(typeof drv().simulated).toBe('boolean');
    });

    it('creates a disk-only snapshot with a description; list shows it with createdAt', async () => {
      const n = freshName('disk');
      const before = Date.now();
      await createOk(n, 'conformance: disk only');
      const snap = await find(n);
      expect(snap, `${n} listed`).toBeDefined();
      expect(snap!.withMemory).toBe(false);
      expect(snap!.description).toBe(env.keepsDescription === false ? null : 'conformance: disk only');
      expect(snap!.createdAt).toBeInstanceOf(Date);
      const skew = env.clockSkewMs ?? 600_000;
      expect(snap!.createdAt!.getTime()).toBeGreaterThanOrEqual(before - skew);
      expect(snap!.createdAt!.getTime()).toBeLessThanOrEqual(Date.now() + skew);
    });

    it('a null description lists as null', async () => {
      const n = freshName('nodesc');
      await createOk(n, null);
      expect((await find(n))?.description).toBeNull();
    });

    it('includes memory when the capabilities say so, and refuses it otherwise', async () => {
      const caps = await drv().capabilities(target());
      const n = freshName('mem');
      if (caps.memory) {
        await createOk(n, null, true);
        expect((await find(n))?.withMemory).toBe(true);
      } else {
        await expectFailure(() => drv().create(target(), { name: n, description: null, includeMemory: true }), ['unsupported_storage', 'rejected']);
        expect(await find(n)).toBeUndefined();
      }
    });

    it('lists snapshots oldest first', async () => {
      const names = [freshName('a'), freshName('b'), freshName('c')];
      for (const [i, n] of names.entries()) {
        // Hypervisors record creation times in whole seconds; keep the three apart.
        if (i > 0) await sleep(1_100);
        await createOk(n, null);
      }
      const listed = (await ours()).filter((s) => names.includes(s.name));
      expect(listed.map((s) => s.name)).toEqual(names);
      const times = listed.map((s) => s.createdAt!.getTime());
      expect(times).toEqual([...times].sort((x, y) => x - y));
    });

    it('refuses a duplicate name with already_exists and keeps the original', async () => {
      const n = freshName('dup');
      await createOk(n, 'original');
      await expectFailure(() => drv().create(target(), { name: n, description: 'second', includeMemory: false }), 'already_exists');
      const same = (await drv().list(target())).filter((s) => s.name === n);
      expect(same).toHaveLength(1);
      if (env.keepsDescription !== false) expect(same[0]!.description).toBe('original');
    });

    it('restores the newest snapshot and keeps it listed', async () => {
      const n = freshName('restore');
      await createOk(n, null);
      const state = await finish(await drv().restore(target(), n, { startAfter: false }));
      expect(state).toMatchObject({ state: 'succeeded' });
      expect(await find(n)).toBeDefined();
    });

    it('deletes a snapshot: gone from the list, others untouched', async () => {
      const keep = freshName('keep');
      const gone = freshName('del');
      await createOk(keep, null);
      await createOk(gone, null);
      const state = await finish(await drv().delete(target(), gone));
      expect(state).toMatchObject({ state: 'succeeded' });
      const names = (await drv().list(target())).map((s) => s.name);
      expect(names).not.toContain(gone);
      expect(names).toContain(keep);
    });

    it('delete and restore of an unknown name fail with not_found', async () => {
      const missing = `${prefix()}-missing-${randomBytes(4).toString('hex')}`;
      await expectFailure(() => drv().delete(target(), missing), 'not_found');
      await expectFailure(() => drv().restore(target(), missing, { startAfter: false }), 'not_found');
    });

    it('clones a snapshot to a new guest with no snapshots, once, when the capabilities say clone', async (ctx) => {
      const dest = env.cloneDest;
      if (!dest || !(await drv().capabilities(target())).clone) return ctx.skip();
      const n = freshName('clone');
      await createOk(n, null);
      expect(await drv().cloneState!(dest)).toBe('absent');
      await expectFailure(() => drv().clone!(target(), `${n}-missing`, dest), 'not_found');
      expect(await drv().cloneState!(dest)).toBe('absent');
      expect(await finish(await drv().clone!(target(), n, dest))).toMatchObject({ state: 'succeeded' });
      expect(await drv().cloneState!(dest)).toBe('complete');
      expect(await drv().list(dest)).toEqual([]);
      await expectFailure(() => drv().clone!(target(), n, dest), 'already_exists');
      await drv().discardClone!(dest);
      expect(await drv().cloneState!(dest)).toBe('complete');
      expect(await find(n)).toBeDefined();
    });

    it('a finished task stays final when polled again', async () => {
      const n = freshName('final');
      const task = await drv().create(target(), { name: n, description: null, includeMemory: false });
      const first = await finish(task);
      expect(first.state).toBe('succeeded');
      for (let i = 0; i < 3; i += 1) {
        await sleep(50);
        expect((await drv().taskStatus(target(), task)).state).toBe('succeeded');
      }
      const failedTask = await drv().create(target(), { name: n, description: null, includeMemory: false }).catch(() => null);
      // A driver that refuses duplicates at the call has no failed task to re-poll; one that fails the task must keep it failed.
      if (failedTask) {
        const failed = await finish(failedTask);
        expect(failed.state).toBe('failed');
        await sleep(50);
        const again = await drv().taskStatus(target(), failedTask);
        expect(again.state).toBe('failed');
        if (again.state === 'failed' && failed.state === 'failed') expect(again.error.code).toBe(failed.error.code);
      }
    });
  });
}
