import type { HypervisorSnapshot } from '../contract.js';
import type { SnapshotMeta } from './metadata.js';

/** One entry of `snapshots` in `qemu-img info --output=json` and in QMP's ImageInfo. */
export interface QemuSnapshotInfo {
  id: string;
  name: string;
  'vm-state-size': number;
  'date-sec': number;
  'date-nsec': number;
  'vm-clock-sec'?: number;
  'vm-clock-nsec'?: number;
}

/**
 * qcow2 keeps no per-snapshot disk usage (clusters are shared until rewritten), so that stays null;
 * the memory state's size is exact. A snapshot meant without memory reports none, whatever QEMU keeps.
 */
export function toHypervisorSnapshot(s: QemuSnapshotInfo, meta: SnapshotMeta | null): HypervisorSnapshot {
  const memory = meta?.diskOnly ? 0 : (s['vm-state-size'] ?? 0);
  return {
    name: s.name,
    description: meta?.description ?? null,
    createdAt: new Date(s['date-sec'] * 1000 + Math.floor((s['date-nsec'] ?? 0) / 1e6)),
    withMemory: memory > 0,
    diskBytes: null,
    memoryBytes: memory > 0 ? memory : null,
  };
}
