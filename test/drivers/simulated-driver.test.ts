import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimulatedDriver } from '../../module/drivers/simulated/simulated-driver.js';

const vm = (vmId: string) => ({ driver: 'simulated', node: 'node1', vmId });
const DAY = 24 * 3600_000;

/** The simulator's own bookkeeping of tasks: which are still running, and how long finished ones are kept. */
describe('simulated hypervisor tasks', () => {
  let dir: string;
  let clock: number;
  const now = () => clock;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sim-tasks-'));
    clock = Date.UTC(2026, 11, 2);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('locks a VM while its task runs, not the others, and frees it when the task ends', async () => {
    const sim = new SimulatedDriver({ now, delayMs: { create: [1000, 1000] } });
    const first = await sim.create(vm('1'), { name: 'a', description: null, includeMemory: false });
    const refused = await sim.create(vm('1'), { name: 'b', description: null, includeMemory: false });
    const other = await sim.create(vm('2'), { name: 'a', description: null, includeMemory: false });
    clock += 1000;
    expect(await sim.taskStatus(vm('1'), first)).toEqual({ state: 'succeeded' });
    // Refused because VM 1 was busy; VM 2 was not.
    expect(await sim.taskStatus(vm('1'), refused)).toMatchObject({ state: 'failed', error: { code: 'locked' } });
    expect(await sim.taskStatus(vm('2'), other)).toEqual({ state: 'succeeded' });
    const next = await sim.create(vm('1'), { name: 'b', description: null, includeMemory: false });
    expect(await sim.taskStatus(vm('1'), next)).toEqual({ state: 'running' });
    expect((await sim.list(vm('1'))).map((s) => s.name)).toEqual(['a']);
  });

  it('resumes a task from a state file written before running tasks were listed apart', async () => {
    const file = join(dir, 'state.json');
    const task = { id: 'SIM:node1:00000001:create:1', vm: 'node1/1', operation: 'create', startedAt: clock, endsAt: clock + 500, failure: null, done: false,
      snapshot: { name: 'old', description: null, createdAt: clock, withMemory: false, diskBytes: 1, memoryBytes: null } };
    await writeFile(file, JSON.stringify({ seq: 1, vms: {}, tasks: { [task.id]: task }, failures: [] }));
    const sim = new SimulatedDriver({ stateFile: file, now });
    expect(await sim.taskStatus(vm('1'), task.id)).toEqual({ state: 'running' });
    const refused = await sim.create(vm('1'), { name: 'new', description: null, includeMemory: false });
    clock += 500;
    expect(await sim.taskStatus(vm('1'), refused)).toMatchObject({ state: 'failed', error: { code: 'locked' } });
    expect(await sim.taskStatus(vm('1'), task.id)).toEqual({ state: 'succeeded' });
    expect((await sim.list(vm('1'))).map((s) => s.name)).toEqual(['old']);
    // Another process reading the file sees the same: nothing left running.
    expect(JSON.parse(await readFile(file, 'utf8')).running).toEqual([]);
  });

  it('forgets finished tasks of over a day ago, keeping recent and unfinished ones', async () => {
    const sim = new SimulatedDriver({ now, delayMs: { create: [0, 0] } });
    const old = await sim.create(vm('1'), { name: 'old', description: null, includeMemory: false });
    sim.injectFailure({ operation: 'delete', code: 'timeout', hang: true });
    const stuck = await sim.delete(vm('1'), 'old');
    clock += DAY + 1;
    const recent: string[] = [];
    for (let i = 0; i < 100; i++) recent.push(await sim.create(vm(`v${i}`), { name: 'n', description: null, includeMemory: false }));
    expect(await sim.taskStatus(vm('1'), old)).toMatchObject({ state: 'failed', error: { code: 'not_found' } });
    expect(await sim.taskStatus(vm('1'), stuck)).toEqual({ state: 'running' });
    for (const id of recent) expect(await sim.taskStatus(vm('x'), id)).toEqual({ state: 'succeeded' });
  });
});
