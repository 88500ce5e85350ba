import { setTimeout as sleep } from 'node:timers/promises';
import { Agenda, backoffStrategies, type AgendaOptions } from 'agenda';
import type { Knex } from 'knex';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KnexBackend, KnexJobRepository } from '../../module/scheduler/knex-backend/index.js';
import { DATABASES, type TestDatabase } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';
import { waitFor } from '../helpers/wait-for.js';
import { countJobs } from './job-fixtures.js';

describe.each(DATABASES)('Agenda on KnexBackend ($kind)', (kind: TestDatabase) => {
  const handle = useDatabase(kind);
  let agendas: Agenda[];
  let errors: Error[];
  /** Unblocks handlers that were made to hang, so nothing is left running after a test. */
  let releases: (() => void)[];

  beforeEach(() => {
    agendas = [];
    errors = [];
    releases = [];
  });

  // Runs before useDatabase's own afterEach closes the second handles and the database.
  afterEach(async () => {
    for (const a of agendas) await a.stop();
    for (const release of releases) release();
    await sleep(20);
  });

  /** An Agenda polling every 50 ms on `db` (default: the test database's own handle). */
  function newAgenda(options: Partial<AgendaOptions> = {}, db: Knex = handle.db): Agenda {
    const agenda = new Agenda({ backend: new KnexBackend({ db }), processEvery: 50, ...options });
    agenda.on('error', (err: Error) => errors.push(err));
    agendas.push(agenda);
    return agenda;
  }

  const repo = () => new KnexJobRepository({ db: handle.db });

  it('a now() job runs once and is left completed and unlocked', async () => {
    const agenda = newAgenda();
    const seen: unknown[] = [];
    agenda.define('hello', async (job) => {
      seen.push(job.attrs.data);
    });
    await agenda.start();
    const job = await agenda.now('hello', { to: '한국어', list: [1, null] });
    await waitFor(() => seen.length === 1, 5000, 'hello ran');
    await sleep(250);
    expect(seen).toEqual([{ to: '한국어', list: [1, null] }]);
    const stored = await waitFor(async () => {
      const j = await repo().getJobById(job.attrs._id!);
      return j?.lastFinishedAt ? j : undefined;
    }, 2000, 'finish recorded');
    expect(stored).toMatchObject({ nextRunAt: null, lockedAt: undefined, lastModifiedBy: undefined });
    expect((await repo().queryJobs({ id: job.attrs._id })).jobs[0]!.state).toBe('completed');
    expect(errors).toEqual([]);
  });

  it('a schedule()d job runs at its time, not before', async () => {
    const agenda = newAgenda();
    const ranAt: number[] = [];
    agenda.define('later', async () => {
      ranAt.push(Date.now());
    });
    await agenda.start();
    const when = new Date(Date.now() + 400);
    await agenda.schedule(when, 'later');
    await waitFor(() => ranAt.length === 1, 5000, 'later ran');
    expect(ranAt[0]!).toBeGreaterThanOrEqual(when.getTime() - 2);
    expect(ranAt[0]!).toBeLessThan(when.getTime() + 1000);
  });

  it('an every() job repeats from one single row', async () => {
    const agenda = newAgenda({ name: 'ticker' });
    const ticks: number[] = [];
    agenda.define('tick', async () => {
      ticks.push(Date.now());
    });
    await agenda.start();
    await agenda.every(150, 'tick');
    await waitFor(() => ticks.length >= 3, 5000, 'three ticks');
    expect(ticks[2]! - ticks[0]!).toBeGreaterThanOrEqual(280);
    expect(await countJobs(handle.db, 'tick')).toBe(1);
    const [row] = (await repo().queryJobs({ name: 'tick' })).jobs;
    expect(row).toMatchObject({ type: 'single', repeatInterval: 150, state: expect.stringMatching(/repeating|running/) });
  });

  it('a failing job retries with backoff and records failCount/failReason; exhausted retries leave it failed', async () => {
    const agenda = newAgenda();
    let flakyRuns = 0;
    agenda.define('flaky', async () => {
      flakyRuns++;
      if (flakyRuns <= 2) throw new Error(`boom ${flakyRuns}`);
    }, { backoff: backoffStrategies.constant({ delay: 100, maxRetries: 3 }) });
    let brokenRuns = 0;
    agenda.define('broken', async () => {
      brokenRuns++;
      throw new Error('always 항상');
    }, { backoff: backoffStrategies.constant({ delay: 50, maxRetries: 2 }) });
    const retries: number[] = [];
    agenda.on('retry:flaky', (_job, details) => retries.push(details.attempt));
    const exhausted: string[] = [];
    agenda.on('retry exhausted:broken', (err) => exhausted.push(err.message));

    await agenda.start();
    const flaky = await agenda.now('flaky');
    const broken = await agenda.now('broken');
    await waitFor(() => flakyRuns === 3 && exhausted.length === 1, 8000, 'retries done');
    expect(retries).toEqual([1, 2]);
    expect(brokenRuns).toBe(3); // first run + maxRetries

    const f = await waitFor(async () => {
      const j = await repo().getJobById(flaky.attrs._id!);
      return j && !j.lockedAt && j.lastFinishedAt && j.failedAt && j.lastFinishedAt > j.failedAt ? j : undefined;
    }, 2000, 'flaky settled');
    // Success resets the count (Agenda's rule) but keeps the last failure for inspection.
    expect(f).toMatchObject({ failCount: 0, failReason: 'boom 2', nextRunAt: null });
    const b = await waitFor(async () => {
      const j = await repo().getJobById(broken.attrs._id!);
      return j && !j.lockedAt && j.failCount === 3 ? j : undefined;
    }, 2000, 'broken settled');
    expect(b).toMatchObject({ failCount: 3, failReason: 'always 항상', nextRunAt: null });
    expect((await repo().queryJobs({ id: broken.attrs._id })).jobs[0]!.state).toBe('failed');
  });

  it('a job whose worker stalls is re-claimed by another instance once its lock expires', async () => {
    const runs: { by: string; at: number }[] = [];
    const define = (agenda: Agenda, by: string) => agenda.define('hang', async () => {
      runs.push({ by, at: Date.now() });
      if (runs.length === 1) await new Promise<void>((resolve) => releases.push(resolve)); // never finishes on its own
    }, { lockLifetime: 400 });

    const a = newAgenda({ name: 'A' });
    define(a, 'A');
    await a.start();
    const job = await a.now('hang');
    await waitFor(() => runs.length === 1, 5000, 'A picked the job up');
    const lockedAt = (await repo().getJobById(job.attrs._id!))!.lockedAt!;
    await a.stop(); // A stops polling; the running job keeps its database lock, as after a crash

    const b = newAgenda({ name: 'B' }, await handle.secondHandle());
    define(b, 'B');
    await b.start();
    await waitFor(() => runs.length === 2, 5000, 'B re-claimed the job');
    expect(runs.map((r) => r.by)).toEqual(['A', 'B']);
    expect(runs[1]!.at - lockedAt.getTime()).toBeGreaterThanOrEqual(400);
    await waitFor(async () => (await repo().getJobById(job.attrs._id!))?.lastFinishedAt, 2000, 'B finished');
    expect((await repo().getJobById(job.attrs._id!))!.lastModifiedBy).toBe('B');
  });

  it('two instances on two connections run 200 now() jobs exactly once each', async () => {
    const N = 200;
    const executions = new Map<string, string[]>();
    const define = (agenda: Agenda, by: string) => agenda.define('bulk', async (job) => {
      const id = String(job.attrs._id);
      executions.set(id, [...(executions.get(id) ?? []), by]);
      await sleep(1);
    });
    const options = { defaultConcurrency: 10, maxConcurrency: 20 };
    const a = newAgenda({ ...options, name: 'A' });
    const b = newAgenda({ ...options, name: 'B' }, await handle.secondHandle());
    define(a, 'A');
    define(b, 'B');
    const ids: string[] = [];
    for (let i = 0; i < N; i++) ids.push(String((await a.now('bulk', { i })).attrs._id));

    await Promise.all([a.start(), b.start()]);
    await waitFor(() => executions.size === N, 30_000, `all ${N} ran (${executions.size} so far)`);
    await sleep(300); // time for any duplicate run to show up
    expect([...executions.keys()].sort()).toEqual([...ids].sort());
    const duplicates = [...executions].filter(([, by]) => by.length !== 1);
    expect(duplicates).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('nowDebounced() saves within the delay collapse into one run with the last data', async () => {
    const agenda = newAgenda();
    const seen: unknown[] = [];
    agenda.define('reindex', async (job) => {
      seen.push(job.attrs.data);
    });
    await agenda.start();
    for (let v = 1; v <= 4; v++) await agenda.nowDebounced('reindex', { entity: 'products', v }, { 'data.entity': 'products' }, 200);
    await waitFor(() => seen.length === 1, 5000, 'debounced run');
    await sleep(300);
    expect(seen).toEqual([{ entity: 'products', v: 4 }]);
    expect(await countJobs(handle.db, 'reindex')).toBe(1);
  });
});
