import type { HypervisorSnapshot } from '../contract.js';

/** One entry of `snapshots` in `qemu-img info --output=json` and in QMP's ImageInfo. */
export interface QemuSnapshotInfo {
  id: string;
  name: string;
  'vm-state-size': number;
  'date-sec': number;
  'date-nsec': number;
}

/**
 * qcow2 keeps no description and no per-snapshot disk usage (clusters are shared until rewritten),
 * so those stay null; the memory state's size is exact.
 */
export function toHypervisorSnapshot(s: QemuSnapshotInfo): HypervisorSnapshot {
  const memory = s['vm-state-size'] ?? 0;
  return {
    name: s.name,
    description: null,
    createdAt: new Date(s['date-sec'] * 1000 + Math.floor((s['date-nsec'] ?? 0) / 1e6)),
    withMemory: memory > 0,
    diskBytes: null,
    memoryBytes: memory > 0 ? memory : null,
  };
}
