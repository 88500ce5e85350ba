import type { AgendaBackend } from 'agenda';
import type { KnexBackendOptions } from './job-table.js';
import { KnexJobRepository } from './knex-job-repository.js';

/**
 * Agenda backend storing jobs in the host panel's own database through the host's knex. Storage only:
 * no notification channel (Agenda polls every `processEvery`) and no persistent job logger.
 *
 * Agenda calls connect() from its constructor without handling a rejection, so a missing table shows
 * up as an unhandled rejection there; `await backend.connect()` before `new Agenda(...)` to get the
 * error where it can be handled (the later call from Agenda is then a no-op).
 */
export class KnexBackend implements AgendaBackend {
  readonly name = 'knex (MySQL/SQLite)';
  readonly repository: KnexJobRepository;
  /** The knex instance belongs to the host: agenda.stop() must not close it. */
  readonly ownsConnection = false;

  private readonly pending = new Set<Promise<unknown>>();

  constructor(options: KnexBackendOptions) {
    this.repository = this.tracked(new KnexJobRepository(options));
  }

  /**
   * Unlocks jobs locked ahead and resolves once no repository call is under way. Agenda's stop() returns while a queue fill may
   * still be querying; a host that destroys its knex right after stopping would see that fail.
   */
  async idle(): Promise<void> {
    // Jobs locked ahead for a queue that no longer asks (Agenda stopped) go back to the others first.
    await this.repository.releaseHeld();
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  /** The repository, with every call that returns a promise counted in `pending` until it settles. */
  private tracked(repository: KnexJobRepository): KnexJobRepository {
    const pending = this.pending;
    return new Proxy(repository, {
      get(target, key, receiver) {
        const value: unknown = Reflect.get(target, key, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const result: unknown = (value as (...a: unknown[]) => unknown).apply(target, args);
          if (result instanceof Promise) {
            pending.add(result);
            void result.finally(() => pending.delete(result)).catch(() => undefined);
          }
          return result;
        };
      },
    });
  }

  /** Verifies the jobs table exists (migrations are run by the module, not here). Idempotent. */
  connect(): Promise<void> {
    return this.repository.connect();
  }

  /** Nothing to release: the connection pool is the host's and outlives Agenda. */
  async disconnect(): Promise<void> {}
}
