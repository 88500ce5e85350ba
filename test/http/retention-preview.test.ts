import { describe, expect, it } from 'vitest';
import supertest from 'supertest';
import { SnapshotsRepo } from '../../module/db/snapshots-repo.js';
import { scheduleRoutes } from '../../module/http/api/schedule-routes.js';
import { DATABASES } from '../helpers/databases.js';
import { appFor, sessionFor } from '../helpers/http-app.js';
import { expectDocumented } from '../helpers/routes.js';
import { message, useScheduleFixture } from './schedule-fixture.js';

const PAGE = '/services/svc-1/snapshots/schedules';
const BOB_PAGE = '/services/svc-2/snapshots/schedules';
const form = (over: Record<string, unknown> = {}) => ({
  name: 'Nightly', enabled: '1', days: ['0', '1', '2', '3', '4', '5', '6'], hour: '3', minute: '15', timezone: 'Asia/Seoul', keep: '3', ...over,
});
const DAY = 24 * 60 * 60 * 1000;

describe.each(DATABASES)('retention preview ($kind)', (kind) => {
  const s = useScheduleFixture(kind);

  /** Snapshots on a service, oldest first, a day apart: `own` ones of the schedule, the rest manual. */
  async function seed(serviceId: string, list: { name: string; scheduleId?: number; pinned?: boolean }[]) {
    const repo = new SnapshotsRepo(s.fx.db);
    const start = Date.now() - 30 * DAY;
    for (const [i, x] of list.entries()) {
      const snap = await repo.insert({
        serviceId, name: x.name, description: null, hvName: `hv-${serviceId}-${i}`, status: 'active', includeMemory: false,
        origin: x.scheduleId ? 'schedule' : 'manual', scheduleId: x.scheduleId ?? null, createdBy: null,
      });
      await s.fx.db('snapshot_snapshots').where({ id: snap.id }).update({ created_at: new Date(start + i * DAY), pinned: x.pinned ?? false });
    }
  }
  async function createSchedule(agent: Awaited<ReturnType<typeof sessionFor>>['agent'], token: string, page: string, over: Record<string, unknown>) {
    expect((await agent.post(page).type('form').send({ _csrf: token, ...form(over) })).status).toBe(303);
    return (await s.schedules()).at(-1)!.id as number;
  }

  it('the list says per schedule what its next run rotates out, or that it would skip; pinned and manual ones are never named', async () => {
    const { agent, token } = await sessionFor(s.fx.mod, 'alice', PAGE);
    const nightly = await createSchedule(agent, token, PAGE, { keep: '2' });
    await createSchedule(agent, token, PAGE, { name: 'Weekly', days: '0', keep: '3' });
    // At the plan's limit of 5: the next run makes room by rotating the oldest, then keeps 2.
    await seed('svc-1', [
      { name: 'Nightly · one', scheduleId: nightly }, { name: 'Nightly · two', scheduleId: nightly }, { name: 'Nightly · three', scheduleId: nightly },
      { name: 'by hand' }, { name: 'kept forever', pinned: true },
    ]);
    const page = (await agent.get(PAGE)).text;
    const line = (id: number) => new RegExp(`data-schedule="${id}"[\\s\\S]*?class="snapshots-muted schedule-retention">([^<]*)<`).exec(page)?.[1];
    expect(line(nightly)).toMatch(/^Next run on .+ rotates out “Nightly · one” and “Nightly · two”$/);
    const weekly = (await s.schedules()).at(-1)!.id as number;
    expect(line(weekly)).toBe(message('en', 'schedules', 'preview.line_skips'));
    expect(page).not.toMatch(/rotates out[^<]*(by hand|kept forever)/);
  });

  it('a schedule with room keeps everything, in Korean too; a disabled one has no line', async () => {
    const { agent, token } = await sessionFor(s.fx.mod, 'bob', BOB_PAGE);
    const id = await createSchedule(agent, token, BOB_PAGE, { name: '매일 백업', keep: '3' });
    await seed('svc-2', [{ name: 'a', scheduleId: id }, { name: 'b', scheduleId: id }]);
    const page = (await agent.get(BOB_PAGE)).text;
    expect(page).toContain(message('ko', 'schedules', 'preview.line_keeps', { kept: 2, keep: 3 }));
    expect(page).toContain('모두 보관: 지금까지 3개 중 2개 보관');
    expect((await agent.post(`${BOB_PAGE}/${id}/enabled`).type('form').send({ _csrf: token, enabled: '0' })).status).toBe(303);
    expect((await agent.get(BOB_PAGE)).text).not.toContain('schedule-retention');
  });

  it('the create form\'s Preview shows the next runs with the entered values, saving nothing; a wrong field is refused as on save', async () => {
    const { agent, token } = await sessionFor(s.fx.mod, 'alice', PAGE);
    expect((await agent.get(PAGE)).text).toContain('name="preview" value="1"');
    // Four manual and one pinned: at the limit, and a new schedule owns nothing to rotate.
    await seed('svc-1', [{ name: 'm1' }, { name: 'm2' }, { name: 'm3' }, { name: 'm4' }, { name: 'pinned', pinned: true }]);
    const res = await agent.post(PAGE).type('form').send({ _csrf: token, ...form({ name: 'Try me', keep: '4' }), preview: '1' });
    expect(res.status).toBe(200);
    expect(await s.schedules()).toHaveLength(0);
    expect(res.text).toContain(message('en', 'schedules', 'preview.title'));
    expect(res.text).toMatch(/data-preview-output>/);
    expect(res.text).toContain('value="Try me"');
    expect(res.text).toMatch(/id="schedule-keep"[^>]*value="4"/);
    const runs = [...res.text.matchAll(/<li data-skipped="(true|false)" data-at="([^"]+)">([^<]*)</g)];
    expect(runs.map((m) => m[1])).toEqual(['true', 'true', 'true']);
    for (const m of runs) expect(m[3]).toContain('skipped — the snapshot limit is reached and nothing of this schedule can be rotated.');
    // Every day at 03:15 in Seoul: a day apart.
    expect(Date.parse(runs[1]![2]!) - Date.parse(runs[0]![2]!)).toBe(DAY);
    expect(res.text).toContain(message('en', 'schedules', 'preview.untouched', { pinned: 1, manual: 4 }));

    const wrong = await agent.post(PAGE).type('form').send({ _csrf: token, ...form({ keep: '9' }), preview: '1' });
    expect(wrong.status).toBe(422);
    expect(wrong.text).toContain(message('en', 'errors', 'schedule_keep_over_plan', { max: 5 }));
    // The preview stays hidden: there is none for values a save would refuse.
    expect(wrong.text).toMatch(/data-preview-output hidden>/);
    expect(wrong.text).not.toMatch(/<li data-skipped/);
    expect(await s.schedules()).toHaveLength(0);
  });

  it('the edit form\'s Preview with keep lowered names the extra rotations and changes nothing', async () => {
    const { agent, token } = await sessionFor(s.fx.mod, 'alice', PAGE);
    const id = await createSchedule(agent, token, PAGE, { keep: '3' });
    await seed('svc-1', [{ name: 'old', scheduleId: id }, { name: 'mid', scheduleId: id }, { name: 'new', scheduleId: id }, { name: 'mine' }]);
    const edit = `${PAGE}/${id}/edit`;
    const res = await agent.post(edit).type('form').send({ _csrf: token, ...form({ keep: '1' }), preview: '1' });
    expect(res.status).toBe(200);
    const runs = [...res.text.matchAll(/<li data-skipped="false" data-at="[^"]+">([^<]*)</g)].map((m) => m[1]);
    expect(runs).toHaveLength(3);
    expect(runs[0]).toContain('takes a snapshot and rotates out “old”, “mid”, and “new”.');
    // From then on each run rotates the one taken before it.
    expect(runs[1]).toMatch(/rotates out the snapshot taken .+\.$/);
    expect(res.text).toContain(message('en', 'schedules', 'preview.untouched', { pinned: 0, manual: 1 }));
    expect(await s.schedules()).toMatchObject([{ id, keep: 3 }]);
    expect(await s.fx.db('snapshot_snapshots').count({ n: '*' }).first()).toMatchObject({ n: 4 });

    const off = await agent.post(edit).type('form').send({ _csrf: token, ...form({ enabled: '0' }), preview: '1' });
    expect(off.text).toContain(message('en', 'schedules', 'preview.disabled'));

  });

  it('a Japanese reseller previews their customer\'s schedule in Japanese', async () => {
    const page = '/services/svc-3/snapshots/schedules';
    const { agent, token } = await sessionFor(s.fx.mod, 'reseller', page);
    const id = await createSchedule(agent, token, page, { keep: '3' });
    await seed('svc-3', [{ name: 'old', scheduleId: id }, { name: 'mid', scheduleId: id }, { name: 'new', scheduleId: id }, { name: 'mine' }]);
    const ja = await agent.post(`${page}/${id}/edit`).type('form').send({ _csrf: token, ...form({ keep: '1' }), preview: '1' });
    expect(ja.status).toBe(200);
    expect(ja.text).toContain('>プレビュー</button>');
    expect(ja.text).toContain('スナップショットを作成し、「old」、「mid」、「new」をローテーションで削除します。');
    expect(ja.text).toContain(message('ja', 'schedules', 'preview.untouched', { pinned: 0, manual: 1 }));
  });

  it('the JSON preview the form fetches as keep changes: the same rules, the saved values for what is left out, a documented shape', async () => {
    const { agent, token } = await sessionFor(s.fx.mod, 'alice', PAGE);
    const id = await createSchedule(agent, token, PAGE, { keep: '3' });
    expect((await agent.get(`${PAGE}/${id}/edit`)).text).toContain(`data-preview="/api/v1/services/svc-1/schedules/preview" data-schedule="${id}"`);
    await seed('svc-1', [{ name: 'old', scheduleId: id }, { name: 'mid', scheduleId: id }, { name: 'new', scheduleId: id }, { name: 'mine', pinned: true }]);
    const api = (query: string, actor = 'alice') => supertest(appFor(s.fx.mod)).get(`/api/v1/services/svc-1/schedules/preview${query}`).set('x-test-actor', actor);
    const res = await api(`?scheduleId=${id}&keep=1`);
    expect(res.status).toBe(200);
    expectDocumented(scheduleRoutes.preview, res);
    expect(res.body).toMatchObject({ keep: 1, kept: 3, untouched: { pinned: 1, manual: 0 }, disabledText: null });
    expect(res.body.runs[0].rotates.map((r: { name: string }) => r.name)).toEqual(['old', 'mid', 'new']);
    expect(res.body.runs[1].rotates).toEqual([{ snapshotId: null, name: null, plannedRun: 0 }]);
    expect(res.body.runs[0].text).toContain('rotates out “old”, “mid”, and “new”.');
    // The saved keep (3) when none is given: one more taken, the oldest goes.
    expect((await api(`?scheduleId=${id}`)).body.runs[0].rotates).toEqual([{ snapshotId: expect.any(Number), name: 'old', plannedRun: null }]);
    const fresh = await api('?days=1,4&hour=3&minute=30&timezone=UTC&keep=2');
    expectDocumented(scheduleRoutes.preview, fresh);
    expect(fresh.body.kept).toBe(0);
    const noDays = await api('?keep=2');
    expect(noDays.status).toBe(422);
    expectDocumented(scheduleRoutes.preview, noDays);
    const notHers = await api(`?scheduleId=${id}`, 'bob');
    expect(notHers.status).toBe(404);
    expectDocumented(scheduleRoutes.preview, notHers);
  });
});
