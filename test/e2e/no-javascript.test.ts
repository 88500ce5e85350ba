// The client area works without JavaScript — plain forms, 303 redirects, and a reload to see
// a status change. Same browser, scripts turned off.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page } from 'playwright-core';
import { waitFor } from '../helpers/wait-for.js';
import { launchChromium, type Chromium } from './helpers/chromium.js';
import { loginAs, snapshotsPage, type Session } from './helpers/session.js';
import { snapshotRow } from './helpers/snapshot-list.js';

const demoUrl = inject('demoUrl');
const LIST = snapshotsPage('vps-102');
const NAME = 'no-script';

/** Reloads the list (as a person without the enhancement script would) until `done` holds. */
async function reloadUntil(page: Page, done: () => Promise<boolean>, what: string): Promise<void> {
  await waitFor(async () => {
    await page.goto(LIST);
    return done();
  }, 30_000, what, 500);
}

describe.skipIf(!demoUrl)('client area with JavaScript turned off (alice, db-01)', () => {
  let browser: Chromium;
  let session: Session;
  let page: Page;

  beforeAll(async () => {
    browser = await launchChromium();
    session = await loginAs(browser, demoUrl, 'alice', { goto: LIST, context: { javaScriptEnabled: false } });
    page = session.page;
  });
  afterAll(async () => {
    await session?.close();
    await browser?.close();
  });

  it('creates by a plain form post and a redirect; the new status shows after a reload', async () => {
    await page.getByLabel('Snapshot name').fill(NAME);
    await page.getByLabel('Description (optional)').fill('posted without JavaScript');
    const response = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === LIST);
    await page.getByRole('button', { name: 'Create Snapshot' }).click();
    expect((await response).status()).toBe(303);
    await page.waitForURL('**?flash=created');
    expect(await snapshotRow(page, NAME).getByText('Creating', { exact: true }).count()).toBe(1);
    // The hypervisor finishes (asked through the JSON API with the same session)...
    await waitFor(async () => {
      const body = await (await page.context().request.get(`/api/v1/services/vps-102/snapshots`)).json() as { snapshots: { name: string; status: string }[] };
      return body.snapshots.some((s) => s.name === NAME && s.status === 'active');
    }, 30_000, 'the API to report the snapshot active', 250);
    // ...but with no script nothing touches the page: it still says Creating until the person reloads.
    expect(await snapshotRow(page, NAME).getByText('Creating', { exact: true }).count()).toBe(1);
    await reloadUntil(page, async () => (await snapshotRow(page, NAME).getByText('Current', { exact: true }).count()) === 1, 'Current after reloads');
  });

  it('pins, then deletes the pinned snapshot with its name typed; gone after reloads', async () => {
    await snapshotRow(page, NAME).getByRole('button', { name: `Pin ${NAME}` }).click();
    await page.waitForURL('**?flash=pinned');

    await snapshotRow(page, NAME).getByRole('link', { name: 'Delete' }).click();
    await page.getByRole('heading', { name: 'Delete snapshot' }).waitFor();
    // The browser's own `required` check needs no script either: an unticked box stops the post.
    let posts = 0;
    page.on('request', (r) => { if (r.method() === 'POST') posts++; });
    await page.getByLabel(`This snapshot is pinned. Type its name, ${NAME}, to confirm.`).fill(NAME);
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.waitForTimeout(300);
    expect(posts).toBe(0);

    await page.getByLabel('Yes, delete this snapshot').check();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL('**?flash=delete_scheduled');
    expect(await snapshotRow(page, NAME).getByText('Scheduled for removal', { exact: true }).count()).toBe(1);
    await reloadUntil(page, async () => (await snapshotRow(page, NAME).count()) === 0, 'the deleted row to go');
  });
});

