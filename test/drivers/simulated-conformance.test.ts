import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simulatedDriver } from '../../module/drivers/simulated/simulated-driver.js';
import { describeDriverConformance } from './conformance.js';

const target = { driver: 'simulated', node: 'node1', vmId: '101' };

describeDriverConformance('simulated (memory, tasks that take time)', async () => ({
  driver: simulatedDriver({ delayMs: { create: [20, 60], delete: [10, 30], restore: [10, 30], clone: [10, 30] } }),
  target,
  cloneDest: { ...target, vmId: '901' },
  pollIntervalMs: 10,
  async cleanup() {},
}));

describeDriverConformance('simulated (no memory, ZFS-like, state file)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sim-conformance-'));
  return {
    driver: simulatedDriver({ stateFile: join(dir, 'state.json'), memory: false, rollbackOnlyLatest: true, delayMs: { create: [5, 15] } }),
    target,
    cloneDest: { ...target, vmId: '902' },
    pollIntervalMs: 5,
    namePrefix: 'zfs',
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});
