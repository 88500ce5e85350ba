import type { PanelService, SnapshotModule } from '../../module/index.js';
import { fill, statusLabel, type ChromeText } from './chrome-text.js';
import { escapeHtml } from './layout.js';
import type { OrderText } from './order-text.js';
import type { ServiceBook } from './service-book.js';

/**
 * Asks the module how each listed server still being made is getting on. `onCloneProgress` normally
 * keeps the book current; this catches a report the panel missed (a restart while the report was
 * sent, a listener that failed), so the list never stays at "being made" after the module is done.
 */
export async function refreshMadeFrom(book: ServiceBook, module: SnapshotModule | null, services: PanelService[]): Promise<void> {
  if (!module) return;
  for (const s of services) {
    const made = book.madeFrom(s.id);
    if (!made || made.status === 'succeeded' || made.status === 'failed') continue;
    const report = await module.hooks.cloneStatus(s.id).catch(() => null);
    if (report) book.recordClone(report);
  }
}

/**
 * A service's Status cell: its billing status, or — for a server ordered from a snapshot — how far
 * its disk is (waiting, being made, ready, failed) and where it came from. The cell is a polite live
 * region with a key, so public/services-progress.js can swap it in place while the disk is made.
 */
export function statusCell(service: PanelService, book: ServiceBook, text: ChromeText, words: OrderText): string {
  const made = book.madeFrom(service.id);
  const billing = statusBadge(text, service.status);
  if (!made) return `<td>${billing}</td>`;
  const source = book.find(made.sourceServiceId)?.name ?? made.sourceServiceId;
  const line = made.status === 'succeeded' ? words.fromDone : made.status === 'failed' ? words.fromFailed : words.fromPending;
  // A suspended or terminated server says so first: that matters more than how its disk was made.
  const badge = service.status === 'active'
    ? `<span class="badge badge-made-${made.status}" data-clone="${made.status}">${escapeHtml(words[`made_${made.status}`])}</span>`
    : billing;
  return `<td data-made-from="${escapeHtml(service.id)}" aria-live="polite">${badge}
    <small class="muted block">${escapeHtml(fill(line, { name: made.snapshotName, source }))}</small></td>`;
}

export function statusBadge(text: ChromeText, status: PanelService['status']): string {
  return `<span class="badge badge-${escapeHtml(status)}">${escapeHtml(statusLabel(text, status))}</span>`;
}
