import type { Knex } from 'knex';
import { AuditRepo } from '../../module/db/audit-repo.js';
import { ClonesRepo } from '../../module/db/clones-repo.js';
import { LimitsRepo } from '../../module/db/limits-repo.js';
import { OperationsRepo } from '../../module/db/operations-repo.js';
import { SchedulesRepo } from '../../module/db/schedules-repo.js';
import { ServicesRepo } from '../../module/db/services-repo.js';
import { SnapshotsRepo } from '../../module/db/snapshots-repo.js';
import { runInTransaction } from '../../module/db/transaction.js';
import type { DomainDeps } from '../../module/domain/deps.js';
import { LimitsService } from '../../module/domain/limits-service.js';
import { SimulatedDriver } from '../../module/drivers/simulated/simulated-driver.js';

/** The domain's deps over `db` as the module builds them, without a panel: a simulated driver, a silent notifier. */
export function domainDeps(db: Knex, over: Partial<DomainDeps> = {}): DomainDeps {
  const repos = {
    services: new ServicesRepo(db), limits: new LimitsRepo(db), snapshots: new SnapshotsRepo(db),
    operations: new OperationsRepo(db), schedules: new SchedulesRepo(db), audit: new AuditRepo(db), clones: new ClonesRepo(db),
  };
  const driver = new SimulatedDriver({});
  return {
    repos, transaction: (fn) => runInTransaction(db, fn),
    limits: new LimitsService(repos.limits, repos.services, { maxSnapshots: 10, maxSchedules: 2, maxKeep: 3, memoryAllowed: true, schedulesAllowed: true, cloneAllowed: true }),
    driver: () => driver, notifier: { notify: async () => undefined }, wake: () => undefined, namePrefix: 'ps-',
    ...over,
  };
}
