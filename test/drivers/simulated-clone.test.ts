import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DriverError } from '../../module/drivers/contract.js';
import { SimulatedDriver, type SimulatedDriverOptions } from '../../module/drivers/simulated/simulated-driver.js';

const vm = (vmId: string) => ({ driver: 'simulated', node: 'node1', vmId });
const failure = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as DriverError);

/** New guests from snapshots in the simulator: timing, refusals, injected failures, and the state file. */
describe('simulated clones', () => {
  let dir: string;
  let clock: number;
  const now = () => clock;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sim-clone-'));
    clock = Date.UTC(2026, 11, 7);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A driver on the test's state file whose VM 101 has a finished snapshot 'base'. */
  async function withSnapshot(options: SimulatedDriverOptions = {}) {
    const sim = new SimulatedDriver({ stateFile: join(dir, 'state.json'), now, ...options });
    await sim.create(vm('101'), { name: 'base', description: null, includeMemory: false });
    const diskBytes = (await sim.list(vm('101')))[0]!.diskBytes!;
    return { sim, diskBytes };
  }

  it('takes the configured time: the new guest is partial and its source busy meanwhile, then complete with its origin and no snapshots', async () => {
    const { sim, diskBytes } = await withSnapshot({ delayMs: { clone: [5000, 5000] } });
    expect(await sim.capabilities()).toMatchObject({ clone: true });
    expect(await sim.cloneState(vm('201'))).toBe('absent');
    const task = await sim.clone(vm('101'), 'base', vm('201'));
    expect(await sim.taskStatus(vm('101'), task)).toEqual({ state: 'running' });
    expect(await sim.cloneState(vm('201'))).toBe('partial');
    expect(await sim.origin(vm('201'))).toBeNull();
    const busy = await sim.create(vm('101'), { name: 'during', description: null, includeMemory: false });
    expect(await sim.taskStatus(vm('101'), busy)).toMatchObject({ state: 'failed', error: { code: 'locked' } });

    clock += 5000;
    expect(await sim.taskStatus(vm('101'), task)).toEqual({ state: 'succeeded' });
    expect(await sim.cloneState(vm('201'))).toBe('complete');
    expect(await sim.origin(vm('201'))).toEqual({ sourceVm: { node: 'node1', vmId: '101' }, snapshot: 'base', diskBytes });
    expect(await sim.list(vm('201'))).toEqual([]);
    expect((await sim.list(vm('101'))).map((s) => s.name)).toEqual(['base']);
    expect(await sim.origin(vm('101'))).toBeNull(); // not made by a clone
    // A finished guest stays: never discarded, never cloned over.
    await sim.discardClone(vm('201'));
    expect(await sim.cloneState(vm('201'))).toBe('complete');
    expect(await failure(sim.clone(vm('101'), 'base', vm('201')))).toMatchObject({ code: 'already_exists' });
  });

  it('refuses an unknown snapshot, a destination that holds snapshots, and cloning at all with clone: false', async () => {
    const { sim } = await withSnapshot();
    expect(await failure(sim.clone(vm('101'), 'never', vm('201')))).toMatchObject({ code: 'not_found' });
    await sim.create(vm('202'), { name: 'own', description: null, includeMemory: false });
    expect(await failure(sim.clone(vm('101'), 'base', vm('202')))).toMatchObject({ code: 'already_exists' });
    expect(await sim.cloneState(vm('201'))).toBe('absent');

    const unable = new SimulatedDriver({ stateFile: join(dir, 'state.json'), clone: false });
    expect(await unable.capabilities()).toMatchObject({ clone: false });
    expect(await failure(unable.clone(vm('101'), 'base', vm('201')))).toMatchObject({ code: 'unsupported_storage' });
    expect(await unable.cloneState(vm('201'))).toBe('absent');
  });

  it('an injected failure leaves nothing at the destination; only the named source VM is affected', async () => {
    const { sim } = await withSnapshot({ delayMs: { clone: [100, 100] } });
    await sim.create(vm('102'), { name: 'other', description: null, includeMemory: false });
    sim.injectFailure({ operation: 'clone', code: 'unsupported_storage', vmId: '101' });
    const other = await sim.clone(vm('102'), 'other', vm('302'));
    const failing = await sim.clone(vm('101'), 'base', vm('301'));
    expect(await sim.cloneState(vm('301'))).toBe('partial');
    clock += 100;
    expect(await sim.taskStatus(vm('101'), failing)).toMatchObject({ state: 'failed', error: { code: 'unsupported_storage' } });
    expect(await sim.cloneState(vm('301'))).toBe('absent');
    expect(await sim.origin(vm('301'))).toBeNull();
    expect(await sim.taskStatus(vm('102'), other)).toEqual({ state: 'succeeded' });
    // The failure was used up: the same clone now succeeds.
    const again = await sim.clone(vm('101'), 'base', vm('301'));
    clock += 100;
    expect(await sim.taskStatus(vm('101'), again)).toEqual({ state: 'succeeded' });
  });

  it('an injected hang keeps the destination partial until discarded, which ends the task failed', async () => {
    const { sim } = await withSnapshot();
    sim.injectFailure({ operation: 'clone', code: 'timeout', hang: true });
    const task = await sim.clone(vm('101'), 'base', vm('201'));
    clock += 24 * 3600_000;
    expect(await sim.taskStatus(vm('101'), task)).toEqual({ state: 'running' });
    expect(await sim.cloneState(vm('201'))).toBe('partial');
    expect(await failure(sim.clone(vm('101'), 'base', vm('201')))).toMatchObject({ code: 'already_exists' });
    await sim.discardClone(vm('201'));
    expect(await sim.cloneState(vm('201'))).toBe('absent');
    expect(await sim.taskStatus(vm('101'), task)).toMatchObject({ state: 'failed', error: { code: 'rejected' } });
    // The source is free again, and the destination can be cloned to.
    const retry = await sim.clone(vm('101'), 'base', vm('201'));
    expect(await sim.taskStatus(vm('101'), retry)).toEqual({ state: 'succeeded' });
  });

  it('keeps clones in the state file: a new driver instance finishes a running one and knows where the guest came from', async () => {
    const { sim, diskBytes } = await withSnapshot({ delayMs: { clone: [1000, 1000] } });
    const task = await sim.clone(vm('101'), 'base', vm('201'));
    const restarted = new SimulatedDriver({ stateFile: join(dir, 'state.json'), now });
    expect(await restarted.cloneState(vm('201'))).toBe('partial');
    clock += 1000;
    expect(await restarted.taskStatus(vm('101'), task)).toEqual({ state: 'succeeded' });
    const again = new SimulatedDriver({ stateFile: join(dir, 'state.json'), now });
    expect(await again.cloneState(vm('201'))).toBe('complete');
    expect(await again.origin(vm('201'))).toEqual({ sourceVm: { node: 'node1', vmId: '101' }, snapshot: 'base', diskBytes });
    const file = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as { guests: Record<string, unknown> };
    expect(file.guests['node1/201']).toMatchObject({ snapshot: 'base', diskBytes, complete: true });
  });
});
