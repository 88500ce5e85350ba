import { beforeEach, describe, expect, it } from 'vitest';
import { PreparedQuery } from '../../module/db/prepared-query.js';
import { ServicesRepo } from '../../module/db/services-repo.js';
import { DATABASES } from '../helpers/databases.js';
import { useDatabase } from '../helpers/db-suite.js';

describe.each(DATABASES)('a prepared query ($kind)', (kind) => {
  const handle = useDatabase(kind);
  beforeEach(async () => {
    const services = new ServicesRepo(handle.db);
    await services.ensure('a', 'gold');
    await services.ensure('b', 'silver');
    await services.ensure('c', 'gold');
  });

  it('is compiled once and run with each call\'s values, wherever they go', async () => {
    let built = 0;
    const q = new PreparedQuery<'plan' | 'not'>(handle.db, (param) => {
      built += 1;
      return handle.db('snapshot_services').where('plan_id', param('plan')).whereNot('service_id', param('not')).orderBy('service_id').select('service_id', 'plan_id');
    });
    expect(await q.rows({ plan: 'gold', not: 'x' })).toEqual([{ service_id: 'a', plan_id: 'gold' }, { service_id: 'c', plan_id: 'gold' }]);
    expect(await q.rows({ plan: 'gold', not: 'a' })).toEqual([{ service_id: 'c', plan_id: 'gold' }]);
    expect(await q.rows({ plan: 'silver', not: 'a' })).toEqual([{ service_id: 'b', plan_id: 'silver' }]);
    expect(await q.rows({ plan: 'none', not: 'a' })).toEqual([]);
    expect(built).toBe(1);
  });

  it('takes IN lists of any length, each value bound in its place among the others, still compiled once', async () => {
    let built = 0;
    const q = new PreparedQuery<'ids' | 'plan' | 'not'>(handle.db, (param) => {
      built += 1;
      return handle.db('snapshot_services').whereIn('service_id', [param.list('ids')]).where('plan_id', param('plan'))
        .whereNotIn('service_id', [param.list('not')]).orderBy('service_id').select('service_id');
    });
    const ids = async (values: { ids: string[]; plan: string; not: string[] }) => (await q.rows(values)).map((r) => r.service_id);
    expect(await ids({ ids: ['a', 'b', 'c'], plan: 'gold', not: ['x'] })).toEqual(['a', 'c']);
    expect(await ids({ ids: ['c'], plan: 'gold', not: ['x', 'y'] })).toEqual(['c']);
    expect(await ids({ ids: ['a', 'b', 'c'], plan: 'gold', not: ['c', 'x', 'y', 'z'] })).toEqual(['a']);
    expect(await ids({ ids: ['b', 'c'], plan: 'silver', not: ['a'] })).toEqual(['b']);
    expect(await ids({ ids: ['a', 'b', 'c'], plan: 'gold', not: ['x'] })).toEqual(['a', 'c']);
    expect(built).toBe(1);
    await expect(q.rows({ ids: [], plan: 'gold', not: ['x'] })).rejects.toThrow(/at least one/);
  });

  it('refuses a parameter that became SQL text instead of a bound value', async () => {
    const q = new PreparedQuery<'column'>(handle.db, (param) => handle.db('snapshot_services').select(param('column')));
    await expect(q.rows({ column: 'plan_id' })).rejects.toThrow(/SQL text/);
  });
});
