import type { HypervisorSnapshot } from '../contract.js';

/** One entry of GET /nodes/{node}/{qemu|lxc}/{vmid}/snapshot. */
export interface PveSnapshot {
  name: string;
  description?: string;
  snaptime?: number;
  vmstate?: number | boolean;
  parent?: string;
  snapstate?: string;
}

/**
 * The list as the contract has it: "current" (the running state, no snapshot) dropped, oldest
 * first (Proxmox answers in hash order), `snaptime` 0 or absent as an unknown time, and an
 * unfinished snapshot (`snapstate`) marked so nobody takes it for a usable one.
 */
export function toHypervisorSnapshots(items: PveSnapshot[] | null): HypervisorSnapshot[] {
  const snaps = (items ?? []).filter((s) => s.name !== 'current');
  const depth = chainDepth(snaps);
  const time = (s: PveSnapshot) => (s.snaptime ? s.snaptime : Infinity);
  snaps.sort((a, b) => time(a) - time(b) || depth(a.name) - depth(b.name) || a.name.localeCompare(b.name));
  return snaps.map((s) => ({
    name: s.name,
    description: s.description ? s.description : null,
    // PVE lists a snapshot without a recorded time as 0 ("snaptime || 0"): unknown, not 1970.
    createdAt: typeof s.snaptime === 'number' && s.snaptime > 0 ? new Date(s.snaptime * 1000) : null,
    withMemory: Boolean(s.vmstate),
    // Proxmox does not report per-snapshot sizes without reading every volume.
    diskBytes: null,
    memoryBytes: null,
    ...(s.snapstate === 'prepare' || s.snapstate === 'delete' ? { incomplete: s.snapstate } : {}),
  }));
}

/** Depth of each snapshot in the parent chain, breaking ties of equal `snaptime` (whole seconds). */
function chainDepth(snaps: PveSnapshot[]): (name: string) => number {
  const parent = new Map(snaps.map((s) => [s.name, s.parent]));
  const memo = new Map<string, number>();
  const depth = (name: string, seen = new Set<string>()): number => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    const p = parent.get(name);
    // A cycle or a parent outside the list ends the chain.
    const d = p && parent.has(p) && !seen.has(p) ? depth(p, seen.add(name)) + 1 : 0;
    memo.set(name, d);
    return d;
  };
  return (name) => depth(name);
}
