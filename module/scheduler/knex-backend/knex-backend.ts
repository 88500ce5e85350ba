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

  constructor(options: KnexBackendOptions) {
    this.repository = new KnexJobRepository(options);
  }

  /** Verifies the jobs table exists (migrations are run by the module, not here). Idempotent. */
  connect(): Promise<void> {
    return this.repository.connect();
  }

  /** Nothing to release: the connection pool is the host's and outlives Agenda. */
  async disconnect(): Promise<void> {}
}
