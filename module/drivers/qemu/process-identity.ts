import { readFileSync } from 'node:fs';

/**
 * A process as a file can name it across panel restarts. A pid alone is not enough: a restarted
 * panel in a container is often given the same pid again, and after a reboot any pid may belong to
 * anyone. So the pid comes with the boot and the process's start time (Linux /proc); where /proc is
 * missing both are empty and only the pid is checked.
 */
export interface ProcessIdentity {
  pid: number;
  boot: string;
  start: string;
}

let bootId: string | undefined;

function currentBoot(): string {
  bootId ??= readOr('/proc/sys/kernel/random/boot_id').trim();
  return bootId;
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot); '' when unknown. */
function startTime(pid: number): string {
  const stat = readOr(`/proc/${pid}/stat`);
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
}

/** The identity of a running process (this one by default). */
export function identify(pid = process.pid): ProcessIdentity {
  return { pid, boot: currentBoot(), start: startTime(pid) };
}

/** Whether the process that `who` names still runs (and is the same process, not a reused pid). */
export function isAlive(who: ProcessIdentity): boolean {
  try {
    process.kill(who.pid, 0);
  } catch {
    return false; // ESRCH: gone; EPERM: another user's process, so not one the panel started
  }
  if (!who.start) return true;
  return who.boot === currentBoot() && startTime(who.pid) === who.start;
}

/** Ends the process `who` names if it still runs; a reused pid is left alone. */
export function killIfAlive(who: ProcessIdentity): void {
  if (!isAlive(who)) return;
  try {
    process.kill(who.pid, 'SIGKILL');
  } catch {
    // Gone in between: what we wanted.
  }
}
