/**
 * Runs queued hypervisor operations. The module talks only to this interface; the implementation is
 * AgendaOperationRunner (one Agenda job per service with work, in the panel's database).
 */
export interface OperationRunner {
  start(): Promise<void>;
  /**
   * Stops taking work. By default in-flight operations are released back to the queue (their driver
   * task is kept, so the next worker resumes polling it); with `drain` they are waited for instead.
   */
  stop(options?: { drain?: boolean }): Promise<void>;
  /**
   * Work was queued for `serviceId` (or somewhere, when omitted): dispatch it now, not at the next
   * sweep; with `queuedBefore` (its job exists and claims it) only count it.
   */
  wake(serviceId?: string, queuedBefore?: boolean): void;
}
