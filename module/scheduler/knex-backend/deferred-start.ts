import type { JobParameters } from 'agenda';

/**
 * Agenda writes a job's whole state twice per run: when the run starts (lastRunAt, the next run) and
 * when it ends (the same columns again, unlocked). For a run of a few milliseconds the first write is
 * overwritten at once, and it protects nothing the claim did not: the job stays locked from its claim,
 * and should the worker die before the end, the row still has the due next run the claim left, so it
 * runs again once its lock expires (the handlers recognise an occurrence already run). So the start
 * write waits up to `delayMs`; a later write of the same job replaces it, and only a long run pays for
 * it. A later write never overtakes a start write already sent: it waits for it.
 */
export class DeferredStarts {
  private readonly waiting = new Map<string, { timer: NodeJS.Timeout; write: () => Promise<void> }>();
  private readonly sending = new Map<string, Promise<void>>();

  constructor(private readonly delayMs: number) {}

  /** A run's first write: lastRunAt just set, no finish after it, the job locked by the claim. */
  static isRunStart(job: JobParameters): boolean {
    const ran = job.lastRunAt ? new Date(job.lastRunAt).getTime() : null;
    const finished = job.lastFinishedAt ? new Date(job.lastFinishedAt).getTime() : null;
    return !!job.lockedAt && ran !== null && (finished === null || finished < ran) && Date.now() - ran < 1000;
  }

  /**
   * Holds `write` for later; true when it was held (the caller writes nothing now). A second one
   * while the first waits (a touch early in the run) takes its place but not its deadline, so a
   * stream of them is still written every `delayMs`.
   */
  defer(id: string, write: () => Promise<void>): boolean {
    const held = this.waiting.get(id);
    if (held) {
      held.write = write;
      return true;
    }
    if (this.delayMs <= 0 || this.sending.has(id)) return false;
    const timer = setTimeout(() => this.send(id), this.delayMs);
    timer.unref();
    this.waiting.set(id, { timer, write });
    return true;
  }

  /** Before any other write of job `id`: drops its held start write, or waits for the one being sent. */
  async supersede(id: string): Promise<void> {
    const held = this.waiting.get(id);
    if (held) {
      clearTimeout(held.timer);
      this.waiting.delete(id);
    }
    await this.sending.get(id);
  }

  /** Sends every held write now (the store is stopping: nothing is left behind). */
  async flush(): Promise<void> {
    for (const id of [...this.waiting.keys()]) this.send(id);
    await Promise.allSettled([...this.sending.values()]);
  }

  private send(id: string): void {
    const held = this.waiting.get(id);
    if (!held) return;
    clearTimeout(held.timer);
    this.waiting.delete(id);
    // Agenda ignores a failed state write too (the job was removed meanwhile); the end write follows.
    const sent = held.write().catch(() => undefined).finally(() => this.sending.delete(id));
    this.sending.set(id, sent);
  }
}
