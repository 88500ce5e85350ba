// Seed 000's procedures, in English, in a real browser against the demo panel: open the Snapshots menu
// from the service page, create (with memory and a description), watch Creating turn into Current
// without reloading, pin, edit, restore (typing the server's name, with a safety snapshot), delete — the
// confirmations in their dialogs over the list (public/snapshots-dialogs.js).
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Page } from 'playwright-core';
import { hasFocus } from './helpers/accessibility.js';
import { launchChromium, type Chromium } from './helpers/chromium.js';
import { screenshot } from './helpers/screenshots.js';
import { loginAs, snapshotsPage, type Session } from './helpers/session.js';
import { snapshotRow, waitForStatus } from './helpers/snapshot-list.js';

const demoUrl = inject('demoUrl');
const SERVICE = { id: 'vps-101', name: 'web-01' };

describe.skipIf(!demoUrl)('client area walk in English (alice, web-01)', () => {
  let browser: Chromium;
  let session: Session;
  let page: Page;

  beforeAll(async () => {
    browser = await launchChromium();
    session = await loginAs(browser, demoUrl, 'alice');
    page = session.page;
  });
  afterAll(async () => {
    await session?.close();
    await browser?.close();
  });

  it('opens Snapshots from the service menu of the service page', async () => {
    await page.getByRole('link', { name: SERVICE.name, exact: true }).click();
    await page.waitForURL(`**/services/${SERVICE.id}`);
    await page.getByRole('complementary', { name: 'Service menu' }).getByRole('link', { name: 'Snapshots', exact: true }).click();
    await page.waitForURL(`**${snapshotsPage(SERVICE.id)}`);
    await page.getByRole('heading', { level: 1, name: /Snapshots/ }).waitFor();
    expect(await page.getByText('Snapshots left: 3 of 3').count()).toBe(1);
    expect(await page.getByText('This service has no snapshots yet.').count()).toBe(1);
  });

  it('creates a snapshot with memory and a description; Creating turns into Current without a reload', async () => {
    const form = page.getByRole('form', { name: 'Create New Snapshot' }).or(page.locator('#create-snapshot'));
    await form.getByLabel('Snapshot name').fill('before-upgrade');
    await form.getByLabel('Description (optional)').fill('Before the PHP 8.4 upgrade');
    await form.getByLabel('Include memory state').check();
    await screenshot(page, 'en-create');
    let navigations = 0;
    await form.getByRole('button', { name: 'Create Snapshot' }).click();
    await page.waitForURL('**?flash=created');
    page.on('framenavigated', (frame) => { if (frame === page.mainFrame()) navigations++; });

    expect(await page.getByRole('status').filter({ hasText: 'Snapshot requested.' }).count()).toBe(1);
    const row = snapshotRow(page, 'before-upgrade');
    expect(await row.textContent()).toContain('Before the PHP 8.4 upgrade');
    expect(await row.getByText('Creating', { exact: true }).count()).toBe(1);
    expect(await page.getByText('Snapshots left: 2 of 3').count()).toBe(1);

    // No page.reload() here: the page's own script notices the change and shows it.
    await waitForStatus(row, 'Current');
    expect(navigations).toBeGreaterThan(0);
    expect(await row.textContent()).toMatch(/Memory: \d/);
    expect(await row.getByText('Manual', { exact: true }).count()).toBe(1);
  });

  it('pins the snapshot from the Pinned column, and the toggle says so', async () => {
    const row = snapshotRow(page, 'before-upgrade');
    await row.getByRole('button', { name: 'Pin before-upgrade' }).click();
    await page.waitForURL('**?flash=pinned');
    const toggle = snapshotRow(page, 'before-upgrade').getByRole('button', { name: 'Unpin before-upgrade' });
    expect(await toggle.getAttribute('aria-pressed')).toBe('true');
    expect((await toggle.textContent())?.trim()).toBe('Yes');
  });

  it('opens a confirmation in a dialog; Cancel and Escape close it, change nothing and give focus back', async () => {
    let posts = 0;
    let navigations = 0;
    const onRequest = (r: { method: () => string }) => { if (r.method() === 'POST') posts++; };
    const onNavigate = (frame: unknown) => { if (frame === page.mainFrame()) navigations++; };
    page.on('request', onRequest);
    page.on('framenavigated', onNavigate);
    const url = page.url();

    // Delete, by mouse: focus lands inside the dialog, on its first field.
    const del = snapshotRow(page, 'before-upgrade').getByRole('link', { name: 'Delete' });
    await del.click();
    const deleteDialog = page.getByRole('dialog', { name: 'Delete snapshot' });
    await deleteDialog.waitFor();
    expect(await hasFocus(deleteDialog, true)).toBe(true);
    const typedName = deleteDialog.getByLabel('This snapshot is pinned. Type its name, before-upgrade, to confirm.');
    expect(await hasFocus(typedName)).toBe(true);
    await typedName.fill('before-upgrade');
    await deleteDialog.getByRole('link', { name: 'Cancel' }).click();
    await deleteDialog.waitFor({ state: 'detached' });
    expect(await hasFocus(del)).toBe(true);

    // Restore, by keyboard: Enter on the focused link opens it, Escape closes it.
    const restore = snapshotRow(page, 'before-upgrade').getByRole('link', { name: 'Restore' });
    await restore.focus();
    await page.keyboard.press('Enter');
    const restoreDialog = page.getByRole('dialog', { name: 'Restore from snapshot' });
    await restoreDialog.waitFor();
    expect(await hasFocus(restoreDialog.getByLabel(`Type the server name, ${SERVICE.name}, to confirm.`))).toBe(true);
    await page.keyboard.type(SERVICE.name);
    await page.keyboard.press('Escape');
    await restoreDialog.waitFor({ state: 'detached' });
    expect(await hasFocus(restore)).toBe(true);

    page.off('request', onRequest);
    page.off('framenavigated', onNavigate);
    expect({ posts, navigations, url: page.url() }).toEqual({ posts: 0, navigations: 0, url });
    const row = snapshotRow(page, 'before-upgrade');
    expect(await row.getByText('Current', { exact: true }).count()).toBe(1);
    expect(await page.getByText('Snapshots left: 2 of 3').count()).toBe(1);
  });

  it('edits the name and description in the Edit dialog', async () => {
    await snapshotRow(page, 'before-upgrade').getByRole('link', { name: 'Edit' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit snapshot' });
    await dialog.waitFor();
    expect(await dialog.getByLabel('Snapshot name').inputValue()).toBe('before-upgrade');
    await dialog.getByLabel('Snapshot name').fill('before-php-8.4');
    await dialog.getByLabel('Description (optional)').fill('Known good state before the upgrade');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL('**?flash=edited');
    expect(await page.getByRole('dialog').count()).toBe(0);
    const row = snapshotRow(page, 'before-php-8.4');
    expect(await row.textContent()).toContain('Known good state before the upgrade');
    expect(await page.getByText('before-upgrade', { exact: true }).count()).toBe(0);
  });

  it('restores only after the server name is typed, taking a safety snapshot first', async () => {
    await snapshotRow(page, 'before-php-8.4').getByRole('link', { name: 'Restore' }).click();
    const dialog = page.getByRole('dialog', { name: 'Restore from snapshot' });
    await dialog.waitFor();
    expect(await dialog.getByText(/Everything written since then is lost/).count()).toBe(1);
    const typed = dialog.getByLabel(`Type the server name, ${SERVICE.name}, to confirm.`);
    expect(await dialog.getByLabel('Take a safety snapshot of the current state first').isChecked()).toBe(true);

    await typed.fill(SERVICE.name);
    // The dialog's backdrop covers the viewport only: a full-page picture would show the page below it uncovered.
    await screenshot(page, 'en-restore', { fullPage: false });
    // A wrong name posts, and the server answers with the restore page again, saying why.
    await typed.fill('web-02');
    await dialog.getByRole('button', { name: 'Restore' }).click();
    await page.getByRole('alert').waitFor();
    expect(page.url()).not.toContain('flash=');
    await page.getByRole('heading', { level: 1, name: 'Restore from snapshot' }).waitFor();
    // The field itself is marked, with its own message saying what was expected.
    const retyped = page.getByLabel(`Type the server name, ${SERVICE.name}, to confirm.`);
    expect(await retyped.getAttribute('aria-invalid')).toBe('true');
    expect(await retyped.inputValue()).toBe('web-02');
    expect(await page.locator('#typed-service-error').textContent()).toBe(`The server name you typed does not match. Type it exactly as shown: ${SERVICE.name}`);

    await page.getByLabel(`Type the server name, ${SERVICE.name}, to confirm.`).fill(SERVICE.name);
    await page.getByRole('button', { name: 'Restore' }).click();
    await page.waitForURL('**?flash=restore_started_safety');

    const safetyRow = snapshotRow(page, 'Safety snapshot before restore');
    await safetyRow.waitFor();
    await waitForStatus(safetyRow, 'Current');
    await waitForStatus(snapshotRow(page, 'before-php-8.4'), 'Current');
    expect(await page.getByText('Snapshots left: 1 of 3').count()).toBe(1);
    await screenshot(page, 'en-list');
  });

  it('deletes the pinned snapshot after its name is typed: scheduled for removal, then gone', async () => {
    await snapshotRow(page, 'before-php-8.4').getByRole('link', { name: 'Delete' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete snapshot' });
    await dialog.waitFor();
    await dialog.getByLabel('This snapshot is pinned. Type its name, before-php-8.4, to confirm.').fill('before-php-8.4');
    await dialog.getByLabel('Yes, delete this snapshot').check();
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL('**?flash=delete_scheduled');
    expect(await page.getByRole('status').filter({ hasText: 'Snapshot scheduled for removal.' }).count()).toBe(1);

    // The hypervisor takes about a second: meanwhile the row stays, marked as scheduled for removal.
    const row = snapshotRow(page, 'before-php-8.4');
    expect(await row.getByText('Scheduled for removal', { exact: true }).count()).toBe(1);
    expect(await row.getByRole('link').count()).toBe(0);
    await row.waitFor({ state: 'detached', timeout: 30_000 });
    expect(await page.getByText('Snapshots left: 2 of 3').count()).toBe(1);
  });
});
