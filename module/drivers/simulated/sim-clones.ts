import type { CloneState, HypervisorTarget } from '../contract.js';
import { unfinished, type SimSnapshot, type SimState, type SimTask } from './sim-state.js';

/** Where a cloned guest came from: the guest and the snapshot, and that snapshot's disk size. */
export interface SimOrigin {
  sourceVm: { node: string; vmId: string };
  snapshot: string;
  diskBytes: number;
}

/** Puts the guest a clone task is making at `dest`, unfinished. */
export function recordGuest(s: SimState, dest: string, source: HypervisorTarget, snapshot: SimSnapshot, task: string): void {
  (s.guests ??= {})[dest] = { source: { node: source.node, vmId: source.vmId }, snapshot: snapshot.name, diskBytes: snapshot.diskBytes, task, complete: false };
}

/** A clone task ended: its guest is complete, or gone when the task failed. */
export function settleClone(s: SimState, t: SimTask): void {
  const guest = s.guests?.[t.dest!];
  // Only the guest this task made: a discarded clone's place may hold another one by now.
  if (guest?.task !== t.id) return;
  if (t.failure) delete s.guests![t.dest!];
  else guest.complete = true;
}

export function guestState(s: SimState, key: string): CloneState {
  const guest = s.guests?.[key];
  return !guest ? 'absent' : guest.complete ? 'complete' : 'partial';
}

/** Forgets an unfinished clone's guest; its task, if it still runs (or hangs), ends failed. */
export function discardGuest(s: SimState, key: string): void {
  const guest = s.guests?.[key];
  if (!guest || guest.complete) return;
  delete s.guests![key];
  const task = s.tasks[guest.task];
  if (!task || task.done) return;
  task.failure = { code: 'rejected', detail: 'clone discarded before it finished' };
  task.done = true;
  s.running = unfinished(s).filter((id) => id !== task.id);
}

export function guestOrigin(s: SimState, key: string): SimOrigin | null {
  const guest = s.guests?.[key];
  return guest?.complete ? { sourceVm: { ...guest.source }, snapshot: guest.snapshot, diskBytes: guest.diskBytes } : null;
}
