import type { Knex } from 'knex';
import { afterEach, beforeEach } from 'vitest';
import { migratedDatabase, type TestDatabase } from './databases.js';
import { moduleFixture } from './module-fixture.js';
import { openSecondHandle } from './second-handle.js';

export type ModuleOptions = NonNullable<Parameters<typeof moduleFixture>[1]>;
export type ModuleFixture = Awaited<ReturnType<typeof moduleFixture>>;

/** The test's database, read through getters: valid inside a test and its hooks. */
export interface TestDb {
  readonly db: Knex;
  /** Where it is (a SQLite file or a MySQL URL), for a second handle or a worker process. */
  readonly url: string;
  /** A module over this database (or over `on`, e.g. a second handle), stopped after the test. */
  module(opts?: ModuleOptions, on?: Knex): Promise<ModuleFixture>;
  /** Another knex handle on this database, as a second panel process would have; closed after the test. */
  secondHandle(): Promise<Knex>;
}

/**
 * Per test: a fresh migrated database of `kind`. Registers a beforeEach that makes it and an afterEach
 * that stops the modules made through `module()`, closes the handles from `secondHandle()` and destroys
 * the database, in that order. Call it in the describe body before the file's own hooks: those then run
 * after the database exists, and their afterEach before it is destroyed.
 */
export function useDatabase(kind: TestDatabase): TestDb {
  let handle: Awaited<ReturnType<typeof migratedDatabase>> | undefined;
  const modules: ModuleFixture[] = [];
  const seconds: Knex[] = [];
  beforeEach(async () => {
    handle = await migratedDatabase(kind);
  });
  afterEach(async () => {
    for (const f of modules.splice(0)) await f.mod.stop();
    for (const db of seconds.splice(0)) await db.destroy();
    await handle?.destroy();
    handle = undefined;
  });
  const current = () => {
    if (!handle) throw new Error('useDatabase: the database exists only inside a test and its hooks');
    return handle;
  };
  return {
    get db() { return current().db; },
    get url() { return current().url; },
    async module(opts = {}, on = current().db) {
      const f = await moduleFixture(on, opts);
      modules.push(f);
      return f;
    },
    async secondHandle() {
      const db = await openSecondHandle(kind.kind, current().url);
      seconds.push(db);
      return db;
    },
  };
}

/**
 * `useDatabase` plus, before each test, one module made with `opts`: the database and that module's
 * fixture in one. `opts` is shared by the tests: where a test needs fresh objects in it (a driver it
 * inspects), use `useDatabase` and `module()` in a beforeEach instead.
 */
export function useModule(kind: TestDatabase, opts: ModuleOptions = {}): TestDb & ModuleFixture {
  const database = useDatabase(kind);
  let fx: ModuleFixture | undefined;
  beforeEach(async () => {
    fx = await database.module(opts);
  });
  afterEach(() => {
    fx = undefined;
  });
  const current = () => {
    if (!fx) throw new Error('useModule: the module exists only inside a test and its hooks');
    return fx;
  };
  return {
    get db() { return database.db; },
    get url() { return database.url; },
    module: database.module,
    secondHandle: database.secondHandle,
    get mod() { return current().mod; },
    get services() { return current().services; },
    get notifications() { return current().notifications; },
    get driver() { return current().driver; },
  };
}
