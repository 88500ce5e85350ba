/**
 * Worker tasks of the fake: UPIDs in PVE's format, a run time, an exit status, and the state a task
 * leaves behind when it dies half way (like a worker killed after `snapstate` and the lock were written).
 */

export type TaskType = 'qmsnapshot' | 'qmdelsnapshot' | 'qmrollback' | 'vzsnapshot' | 'vzdelsnapshot' | 'vzrollback'
  | 'qmclone' | 'vzclone' | 'qmdestroy' | 'vzdestroy';

export interface TaskKnob {
  type?: TaskType;
  /** The task ends with this exit status whatever it did ("WARNINGS: 1" still commits). */
  exitstatus?: string;
  /** Never ends. */
  hang?: boolean;
  /**
   * With a failing `exitstatus`: the worker was killed (SIGKILL, node crash), so nothing is cleaned up:
   * the guest keeps the task's lock, the snapshot its `snapstate`, a clone its half-made guest.
   */
  leaveBehind?: boolean;
}

export interface TaskWork {
  node: string;
  vmid: string;
  type: TaskType;
  /** Runs at the start, inside the worker: returns the error text that ends the task at once. */
  begin: () => string | null;
  /** Runs when the time is up: returns an error text, or null after applying the change. */
  finish: () => string | null;
  /** Undoes what `begin` wrote, for a failing end that cleans up (PVE's create cleanup, unlock). */
  abort: () => void;
  /** Runs however the task ends, even killed: what dies with the worker process (its flocks). */
  release?: () => void;
}

interface FakeTask extends TaskWork {
  upid: string;
  starttime: number;
  endsAt: number | null;
  knob: TaskKnob | null;
  exitstatus?: string;
}

const OK = /^(OK|WARNINGS: \d+)$/;
const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');

export class FakeTasks {
  private readonly tasks = new Map<string, FakeTask>();
  private readonly knobs: TaskKnob[] = [];
  private pid = 0x1000;
  durationMs = 40;

  constructor(private readonly user: string) {}

  inject(knob: TaskKnob): void {
    this.knobs.push(knob);
  }

  start(work: TaskWork): string {
    this.settle();
    const at = this.knobs.findIndex((k) => !k.type || k.type === work.type);
    const knob = at >= 0 ? this.knobs.splice(at, 1)[0]! : null;
    this.pid += 1;
    const starttime = Math.floor(Date.now() / 1000);
    // UPID:node:pid:pstart:starttime:type:id:user: with pid, pstart and starttime in hex.
    const upid = `UPID:${work.node}:${hex(this.pid)}:${hex(this.pid * 7)}:${hex(starttime)}:${work.type}:${work.vmid}:${this.user}:`;
    const task: FakeTask = { ...work, upid, starttime, knob, endsAt: knob?.hang ? null : Date.now() + this.durationMs };
    const early = work.begin();
    if (early !== null) {
      task.exitstatus = early;
      task.endsAt = Date.now();
      work.release?.();
    }
    this.tasks.set(upid, task);
    return upid;
  }

  /** Ends every task whose time has come; called before each request is answered. */
  settle(now = Date.now()): void {
    for (const t of this.tasks.values()) {
      if (t.exitstatus !== undefined || t.endsAt === null || t.endsAt > now) continue;
      const forced = t.knob?.exitstatus;
      if (forced !== undefined && !OK.test(forced)) {
        if (!t.knob?.leaveBehind) t.abort();
        t.exitstatus = forced;
      } else {
        const error = t.finish();
        t.exitstatus = error ?? forced ?? 'OK';
      }
      t.release?.();
    }
  }

  status(node: string, upid: string): Record<string, unknown> {
    const t = this.tasks.get(upid);
    if (!t || t.node !== node) throw new Error(`no such task '${upid}'`);
    const base = { upid, node, type: t.type, id: t.vmid, user: this.user, pid: 0, pstart: 0, starttime: t.starttime };
    return t.exitstatus === undefined ? { ...base, status: 'running' } : { ...base, status: 'stopped', exitstatus: t.exitstatus };
  }

  /** `source=active`: running tasks, and finished ones not yet archived (with their status). */
  active(node: string, vmid?: string, typefilter?: string): Record<string, unknown>[] {
    const listed = (t: FakeTask) => t.node === node && (!vmid || t.vmid === vmid) && (!typefilter || t.type === typefilter);
    return [...this.tasks.values()].filter(listed).map((t) => ({
      upid: t.upid, node, pid: 0, pstart: 0, starttime: t.starttime, type: t.type, id: t.vmid, user: this.user,
      status: t.exitstatus ?? 'RUNNING',
    }));
  }
}
