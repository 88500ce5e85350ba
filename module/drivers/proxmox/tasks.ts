import { DriverError, type TaskState } from '../contract.js';
import { classifyMessage } from './errors.js';

/** `UPID:node:pid:pstart:starttime:type:id:user:`, pid/pstart/starttime in hex. */
const UPID = /^UPID:([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$/;

export interface Upid {
  node: string;
  type: string;
  id: string;
  user: string;
  startedAt: Date;
}

/** Parses a task id; null when it is not a Proxmox UPID (never sent to the API then). */
export function parseUpid(upid: string): Upid | null {
  const m = UPID.exec(upid);
  if (!m) return null;
  return { node: m[1]!, type: m[5]!, id: m[6]!, user: m[7]!, startedAt: new Date(parseInt(m[4]!, 16) * 1000) };
}

export interface PveTaskStatus {
  status?: string;
  exitstatus?: string;
}

const WARNINGS = /^WARNINGS: (\d+)$/;

/**
 * A task is running until `status` is `stopped`; then `exitstatus` "OK" or "WARNINGS: n" is
 * success and anything else is the error text, classified like an API error.
 */
export function taskStateOf(upid: string, s: PveTaskStatus): TaskState {
  if (s.status !== 'stopped') return { state: 'running' };
  const exit = (s.exitstatus ?? '').trim();
  if (exit === 'OK') return { state: 'succeeded' };
  const w = WARNINGS.exec(exit);
  if (w) return { state: 'succeeded', warnings: Number(w[1]) };
  const detail = exit || `task ${upid} stopped without an exit status`;
  return { state: 'failed', error: new DriverError(classifyMessage(detail), detail) };
}
