import type { Knex } from 'knex';
import pino from 'pino';
import { createSnapshotModule, type Actor, type PanelAdapter, type PanelNotification, type PanelService, type SnapshotDriver } from '../../module/index.js';
import { SimulatedDriver } from '../../module/drivers/simulated/simulated-driver.js';

export const CSRF_SECRET = 'test-csrf-secret-0123456789abcdefghijkl';

export function makeService(over: Partial<PanelService> = {}): PanelService {
  return {
    id: 'svc-1', name: 'web-01', hostname: 'web-01.example.test', ownerId: 'alice', resellerId: null, planId: 'basic',
    diskBytes: 20 * 1024 ** 3, status: 'active', target: { driver: 'simulated', node: 'node1', vmId: '101' }, ...over,
  };
}

export const ACTORS = {
  alice: { id: 'alice', role: 'customer', locale: 'en', timezone: 'Asia/Seoul' } satisfies Actor,
  bob: { id: 'bob', role: 'customer', locale: 'ko', timezone: 'Asia/Seoul' } satisfies Actor,
  reseller: { id: 'rex', role: 'reseller', locale: 'ja', timezone: 'Asia/Tokyo' } satisfies Actor,
  admin: { id: 'root', role: 'admin', locale: 'en', timezone: 'UTC' } satisfies Actor,
  adminKo: { id: 'root-ko', role: 'admin', locale: 'ko', timezone: 'Asia/Seoul' } satisfies Actor,
} as const;

/**
 * A module instance over `db` with an in-memory panel: services in a Map, the actor taken from the
 * `x-test-actor` header, notifications collected. Drivers default to a zero-delay simulated one.
 */
export async function moduleFixture(db: Knex, opts: {
  services?: PanelService[]; driver?: SnapshotDriver; operations?: Record<string, number>; config?: Record<string, unknown>;
  /** Optional adapter parts (e.g. listPlans) added to the in-memory panel. */
  panel?: Partial<PanelAdapter>;
  /** The panel's login page, for tests of the anonymous redirect (without it: a 401). */
  loginUrl?: string;
} = {}) {
  const services = new Map((opts.services ?? [makeService()]).map((s) => [s.id, s]));
  const notifications: PanelNotification[] = [];
  const driver = opts.driver ?? new SimulatedDriver({});
  const mod = await createSnapshotModule({
    db,
    panel: {
      getActor: (req) => {
        const id = req.get('x-test-actor');
        return id ? (ACTORS as Record<string, Actor>)[id] ?? null : null;
      },
      getService: (id) => services.get(id) ?? null,
      notify: (n) => { notifications.push(n); },
      ...opts.panel,
      ...(opts.loginUrl ? { loginUrl: () => opts.loginUrl! } : {}),
    },
    drivers: { simulated: driver },
    config: {
      csrfSecret: CSRF_SECRET,
      operations: { pollMs: 20, taskPollMs: 10, leaseMs: 2_000, backoffMs: 10, ...opts.operations },
      // Agenda only where a test is about schedules (it passes its own `scheduler`, enabled by default).
      scheduler: { enabled: false },
      ...opts.config,
    },
    logger: pino({ level: 'silent' }),
  });
  return { mod, services, notifications, driver };
}
