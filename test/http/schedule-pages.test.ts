import supertest from 'supertest';
import { describe, expect, it } from 'vitest';
import { DATABASES } from '../helpers/databases.js';
import { appFor, sessionFor } from '../helpers/http-app.js';
import { escaped, message, shownAs, useScheduleFixture } from './schedule-fixture.js';

const PAGE = '/services/svc-1/snapshots/schedules';
const BOB_PAGE = '/services/svc-2/snapshots/schedules';
const form = (over: Record<string, unknown> = {}) => ({
  name: 'Nightly', enabled: '1', days: ['1', '3'], hour: '3', minute: '15', timezone: 'Asia/Seoul', keep: '3', ...over,
});

describe.each(DATABASES)('Snapshot Schedule tab ($kind)', (kind) => {
  const s = useScheduleFixture(kind);

  it('is a tab next to Snapshots and Activity, and explains the plan\'s limits next to the form', async () => {
    const list = await supertest(appFor(s.fx.mod)).get('/services/svc-1/snapshots').set('x-test-actor', 'alice');
    expect(list.text).toContain(`href="${PAGE}"`);
    expect(list.text).toContain('href="/services/svc-1/snapshots/activity"');
    const res = await supertest(appFor(s.fx.mod)).get(PAGE).set('x-test-actor', 'alice');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/aria-current="page">Snapshot Schedule</);
    expect(res.text).toContain('Create New Schedule');
    expect(res.text).toContain('Schedules: 0 of 2 used.');
    expect(res.text).toContain('Each schedule keeps at most 5 snapshots');
    expect(res.text).toContain('Schedules may include the memory state.');
    // The time zone select offers the user's own zone first, selected, named with its offset; the
    // value submitted stays the IANA id.
    expect(res.text).toMatch(/<select id="schedule-timezone"[^>]*>\s*<option value="Asia\/Seoul" selected>\(GMT\+09:00\) Korean Standard Time — Asia\/Seoul<\/option>/);
    // The hour on the page's one clock, 12-hour in English like every other time on it.
    expect(res.text).toContain('<option value="15">3 PM</option>');
  });

  it('creates a schedule from the form and lists days, time, next execution in the user\'s timezone, keep and status', async () => {
    const { agent, token } = await sessionFor(s.fx.mod, 'alice', PAGE);
    const res = await agent.post(PAGE).type('form').send({ _csrf: token, ...form(), includeMemory: '1' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`${PAGE}?flash=created`);
    const [row] = await s.schedules();
    expect(row).toMatchObject({ name: 'Nightly', days: '1,3', hour: 3, minute: 15, timezone: 'Asia/Seoul', keep: 3 });
    const next = (await s.nextRunOf(row.id))!;
    expect(next).not.toBeNull();
    const page = await agent.get(res.headers.location!);
    expect(page.text).toContain('Schedule created.');
    expect(page.text).toContain('Mon, Wed');
    expect(page.text).toContain('3:15 AM (Korean Standard Time)');
    expect(page.text).toContain(`<time datetime="${next.toISOString()}">${shownAs(next, 'en', 'Asia/Seoul')} GMT+9</time>`);
    expect(page.text).toContain('Schedules: 1 of 2 used.');
    expect(page.text).toContain('>Enabled<');
    expect(page.text).toContain('Not run yet');
  });

  it('shows a Korean user the next execution in Korean, in their own timezone (Asia/Seoul), not the schedule\'s', async () => {
    const { agent, token } = await sessionFor(s.fx.mod, 'bob', BOB_PAGE);
    const all = ['0', '1', '2', '3', '4', '5', '6'];
    expect((await agent.post(BOB_PAGE).type('form').send({ _csrf: token, ...form({ name: '매일 백업', days: all, hour: '18', timezone: 'UTC' }) })).status).toBe(303);
    const [row] = await s.schedules();
    const next = (await s.nextRunOf(row.id))!;
    const page = await agent.get(BOB_PAGE);
    expect(page.text).toContain('스냅샷 예약');
    expect(page.text).toContain('매일');
    expect(page.text).toContain('협정 세계시 기준 18:15');
    // 18:15 UTC is 03:15 the next morning in Seoul.
    const seoul = shownAs(next, 'ko', 'Asia/Seoul');
    expect(page.text).toContain(`<time datetime="${next.toISOString()}">${seoul} GMT+9</time>`);
    expect(seoul).toMatch(/03:15/);
    // When, in Korean: 18:15 UTC every day is at most a day away.
    expect(page.text).toMatch(/<\/time><br><span class="snapshots-muted">(\d+시간 후|\d+분 후|내일)<\/span>/);
    // The zone picker in Korean, west to east: no raw English id list.
    expect(page.text).toContain('>(GMT+09:00) 한국 표준시 — Asia/Seoul</option>');
    const offsets = [...page.text.matchAll(/<option value="[^"]+"(?: selected)?>\(GMT([+-]\d{2}):(\d{2})\)/g)].map((m) => Number(m[1]) * 60 + Math.sign(Number(m[1]) || 1) * Number(m[2]));
    expect(offsets.length).toBeGreaterThan(400);
    expect(offsets.slice(1)).toEqual([...offsets.slice(1)].sort((a, b) => a - b));
    expect(page.text).not.toContain(shownAs(next, 'ko', 'UTC'));
    expect(page.text).not.toContain('Next execution');
  });

  it('edits a schedule: the form shows its values, saving moves its next run', async () => {
    const { agent, token } = await sessionFor(s.fx.mod, 'alice', PAGE);
    await agent.post(PAGE).type('form').send({ _csrf: token, ...form() });
    const [row] = await s.schedules();
    const edit = await agent.get(`${PAGE}/${row.id}/edit`);
    expect(edit.status).toBe(200);
    expect(edit.text).toContain('value="Nightly"');
    expect(edit.text).toMatch(/id="schedule-day-3" name="days" value="3" checked/);
    expect(edit.text).toMatch(/id="schedule-day-5" name="days" value="5">/);
    const saved = await agent.post(`${PAGE}/${row.id}/edit`).type('form').send({ _csrf: token, ...form({ name: 'Weekend', days: '6', hour: '22', minute: '45', keep: '5' }) });
    expect(saved.headers.location).toBe(`${PAGE}?flash=updated`);
    expect(await s.schedules()).toMatchObject([{ name: 'Weekend', days: '6', hour: 22, minute: 45, keep: 5 }]);
    const next = (await s.nextRunOf(row.id))!;
    expect(new Intl.DateTimeFormat('en-US', { timeZone: 'Asia/Seoul', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(next)).toBe('Sat 22:45');
    expect((await agent.get(saved.headers.location!)).text).toContain('Schedule saved.');
  });

  it('disables and enables a schedule with the toggle; a disabled one has no next execution', async () => {
    const { agent, token } = await sessionFor(s.fx.mod, 'alice', PAGE);
    await agent.post(PAGE).type('form').send({ _csrf: token, ...form() });
    const [row] = await s.schedules();
    const off = await agent.post(`${PAGE}/${row.id}/enabled`).type('form').send({ _csrf: token, enabled: '0' });
    expect(off.headers.location).toBe(`${PAGE}?flash=disabled`);
    expect(await s.jobs()).toHaveLength(0);
    const page = await agent.get(off.headers.location!);
    expect(page.text).toContain('Schedule disabled.');
    expect(page.text).toContain('>Disabled<');
    expect(page.text).toContain('Not scheduled');
    expect(page.text).toContain('>Enable<');
    const on = await agent.post(`${PAGE}/${row.id}/enabled`).type('form').send({ _csrf: token, enabled: '1' });
    expect(on.headers.location).toBe(`${PAGE}?flash=enabled`);
    expect(await s.nextRunOf(row.id)).not.toBeNull();
    // A value other than 1/0 is a localized refusal, not a 500.
    const bad = await agent.post(`${PAGE}/${row.id}/enabled`).type('form').send({ _csrf: token, enabled: 'maybe' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('This field has an invalid value.');
  });

  it('deletes only after the confirm page is confirmed; the schedule\'s job goes with it', async () => {
    const { agent, token } = await sessionFor(s.fx.mod, 'alice', PAGE);
    await agent.post(PAGE).type('form').send({ _csrf: token, ...form() });
    const [row] = await s.schedules();
    const confirm = await agent.get(`${PAGE}/${row.id}/delete`);
    expect(confirm.text).toContain('Snapshots it has already taken are kept');
    const unconfirmed = await agent.post(`${PAGE}/${row.id}/delete`).type('form').send({ _csrf: token });
    expect(unconfirmed.status).toBe(422);
    expect(unconfirmed.text).toContain('Please confirm the deletion.');
    expect(await s.schedules()).toHaveLength(1);
    const done = await agent.post(`${PAGE}/${row.id}/delete`).type('form').send({ _csrf: token, confirm: '1' });
    expect(done.headers.location).toBe(`${PAGE}?flash=deleted`);
    expect(await s.schedules()).toHaveLength(0);
    expect(await s.jobs()).toHaveLength(0);
    expect((await agent.get(`${PAGE}/${row.id}/edit`)).status).toBe(404);
  });

  it('refuses what the plan does not allow, with localized messages', async () => {
    // A plan without schedules: explained, no form, and a forged post is refused.
    const { agent, token } = await sessionFor(s.fx.mod, 'alice', '/services/svc-1/snapshots');
    const tiny = await agent.get('/services/svc-4/snapshots/schedules');
    expect(tiny.text).toContain('Your plan does not include snapshot schedules.');
    expect(tiny.text).not.toContain('Create New Schedule');
    const refused = await agent.post('/services/svc-4/snapshots/schedules').type('form').send({ _csrf: token, ...form({ keep: '1' }) });
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('Your plan does not include snapshot schedules.');
    // keep beyond the plan's max, then the number of schedules.
    const keep = await agent.post(PAGE).type('form').send({ _csrf: token, ...form({ keep: '6' }) });
    expect(keep.status).toBe(422);
    expect(keep.text).toContain('Your plan keeps at most 5 snapshots per schedule.');
    expect(keep.text).toContain('value="6"');
    for (const name of ['one', 'two']) expect((await agent.post(PAGE).type('form').send({ _csrf: token, ...form({ name }) })).status).toBe(303);
    const full = await agent.get(PAGE);
    expect(full.text).toContain(escaped('You have reached your plan\'s number of schedules.'));
    expect(full.text).not.toContain('Create New Schedule');
    const third = await agent.post(PAGE).type('form').send({ _csrf: token, ...form({ name: 'three' }) });
    expect(third.status).toBe(409);
    expect(third.text).toContain('Your plan allows at most 2 schedules for this service.');
    expect(await s.schedules()).toHaveLength(2);
  });

  it('gives Korean users the plan refusals in Korean', async () => {
    const { agent, token } = await sessionFor(s.fx.mod, 'bob', BOB_PAGE);
    const keep = await agent.post(BOB_PAGE).type('form').send({ _csrf: token, ...form({ keep: '9' }) });
    expect(keep.status).toBe(422);
    expect(keep.text).toContain(message('ko', 'errors', 'schedule_keep_over_plan', { max: 5 }));
    expect(keep.text).not.toContain('Your plan keeps');
  });

  it('re-renders the form with localized field errors and the input kept, never a 500', async () => {
    const { agent, token } = await sessionFor(s.fx.mod, 'alice', PAGE);
    const cases: [Record<string, unknown>, string][] = [
      [{ days: [] }, 'Choose at least one day of the week.'],
      [{ days: '9' }, 'Days of the week must be between Sunday and Saturday.'],
      [{ hour: '24' }, 'Enter an hour from 0 to 23.'],
      [{ hour: 'three' }, 'Enter an hour from 0 to 23.'],
      [{ minute: '60' }, 'Enter a minute from 0 to 59.'],
      [{ timezone: 'Mars/Olympus_Mons' }, 'Choose a valid time zone.'],
      [{ keep: '0' }, 'Snapshots to keep must be a whole number from 1 to 5.'],
      [{ name: 'x'.repeat(10_240) }, 'The name can be at most 64 characters.'],
      [{ name: '' }, 'Enter a snapshot name.'],
      [{ name: ['a', 'b'] }, 'This field has an invalid value.'],
      [{ days: ['1', '2', '3', '4', '5', '6', '0', '1'] }, 'This field has an invalid value.'],
    ];
    for (const [over, text] of cases) {
      const res = await agent.post(PAGE).type('form').send({ _csrf: token, ...form(over) });
      expect(res.status, JSON.stringify(over).slice(0, 80)).toBe(422);
      expect(res.text, JSON.stringify(over).slice(0, 80)).toContain(text);
    }
    // Several wrong fields at once are all reported, with what the user typed kept in the form.
    const many = await agent.post(PAGE).type('form').send({ _csrf: token, ...form({ name: 'Keep me', days: [], hour: '99', timezone: 'Nowhere' }) });
    expect(many.text).toContain('Choose at least one day of the week.');
    expect(many.text).toContain('Enter an hour from 0 to 23.');
    expect(many.text).toContain('value="Keep me"');
    expect(await s.schedules()).toHaveLength(0);
  });

  it('escapes a hostile schedule name in the list and on the edit and delete pages', async () => {
    const hostile = '<img src=x onerror=alert(1)>';
    const { agent, token } = await sessionFor(s.fx.mod, 'alice', PAGE);
    expect((await agent.post(PAGE).type('form').send({ _csrf: token, ...form({ name: hostile }) })).status).toBe(303);
    const [row] = await s.schedules();
    for (const path of [PAGE, `${PAGE}/${row.id}/edit`, `${PAGE}/${row.id}/delete`]) {
      const page = await agent.get(path);
      expect(page.text, path).not.toContain(hostile);
      expect(page.text, path).toContain(escaped(hostile));
    }
  });

  it('refuses every form post without a valid CSRF token', async () => {
    const { agent, token } = await sessionFor(s.fx.mod, 'alice', PAGE);
    await agent.post(PAGE).type('form').send({ _csrf: token, ...form() });
    const [row] = await s.schedules();
    const posts: [string, Record<string, unknown>][] = [
      [PAGE, form({ name: 'forged' })],
      [`${PAGE}/${row.id}/edit`, form({ name: 'forged' })],
      [`${PAGE}/${row.id}/enabled`, { enabled: '0' }],
      [`${PAGE}/${row.id}/delete`, { confirm: '1' }],
    ];
    for (const [path, body] of posts) {
      const res = await agent.post(path).type('form').send({ _csrf: 'forged', ...body });
      expect(res.status, path).toBe(403);
      expect(res.text).toContain('Your form expired');
    }
    // A token minted for bob is worthless for alice.
    const bob = await sessionFor(s.fx.mod, 'bob', BOB_PAGE);
    expect((await agent.post(PAGE).type('form').send({ _csrf: bob.token, ...form({ name: 'x' }) })).status).toBe(403);
    expect(await s.schedules()).toMatchObject([{ name: 'Nightly', enabled: 1 }].map((r) => ({ name: r.name })));
    expect(await s.jobs()).toHaveLength(1);
  });

  it('answers 404 for another customer\'s service or schedule; a reseller manages their customer\'s', async () => {
    const alice = await sessionFor(s.fx.mod, 'alice', PAGE);
    await alice.agent.post(PAGE).type('form').send({ _csrf: alice.token, ...form() });
    const [row] = await s.schedules();
    const bob = await sessionFor(s.fx.mod, 'bob', BOB_PAGE);
    expect((await bob.agent.get(PAGE)).status).toBe(404);
    expect((await bob.agent.post(PAGE).type('form').send({ _csrf: bob.token, ...form() })).status).toBe(404);
    expect((await bob.agent.post(`${PAGE}/${row.id}/delete`).type('form').send({ _csrf: bob.token, confirm: '1' })).status).toBe(404);
    // Alice's schedule through bob's own service is not found either.
    expect((await bob.agent.get(`${BOB_PAGE}/${row.id}/edit`)).status).toBe(404);
    expect((await bob.agent.post(`${BOB_PAGE}/${row.id}/enabled`).type('form').send({ _csrf: bob.token, enabled: '0' })).status).toBe(404);
    expect(await s.schedules()).toMatchObject([{ id: row.id, name: 'Nightly' }]);

    const rex = await sessionFor(s.fx.mod, 'reseller', '/services/svc-3/snapshots/schedules');
    expect(rex.page.status).toBe(200);
    expect(rex.page.text).toContain('スナップショットスケジュール');
    const made = await rex.agent.post('/services/svc-3/snapshots/schedules').type('form').send({ _csrf: rex.token, ...form({ name: 'for bob' }) });
    expect(made.status).toBe(303);
    expect((await rex.agent.get(PAGE)).status).toBe(404);
  });

  it('a suspended service shows its schedules read-only and refuses changes', async () => {
    const { agent, token } = await sessionFor(s.fx.mod, 'alice', PAGE);
    await agent.post(PAGE).type('form').send({ _csrf: token, ...form() });
    const [row] = await s.schedules();
    s.fx.services.set('svc-1', { ...s.fx.services.get('svc-1')!, status: 'suspended' });
    const page = await agent.get(PAGE);
    expect(page.text).toContain('This service is suspended.');
    expect(page.text).toContain('Nightly');
    expect(page.text).not.toContain('Create New Schedule');
    expect(page.text).not.toContain(`${PAGE}/${row.id}/edit`);
    const res = await agent.post(`${PAGE}/${row.id}/enabled`).type('form').send({ _csrf: token, enabled: '0' });
    expect(res.status).toBe(409);
    expect(res.text).toContain('This service is suspended, so snapshots cannot be changed.');
    expect((await s.schedules())[0]).toMatchObject({ id: row.id });
    expect(await s.jobs()).toHaveLength(1);
  });
});
