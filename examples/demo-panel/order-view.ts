import { fill, formatBytes, type ChromeText } from './chrome-text.js';
import type { DemoPlan } from './demo-data.js';
import { escapeHtml } from './layout.js';
import type { OrderText } from './order-text.js';
import type { ServerOrder } from './server-orders.js';

/** What the order form shows besides the order: the words, the plans, and what was sent last. */
export interface OrderForm {
  text: ChromeText;
  words: OrderText;
  plans: readonly DemoPlan[];
  csrfToken: string;
  /** The source server's current name (the order keeps the one it had when ordered, in case it is gone). */
  sourceName: string;
  /** Where Cancel goes: the source server's Snapshots page. */
  cancelHref: string;
  formatDate: (d: Date) => string;
  values: { plan?: string; name?: string };
  /** Messages for the whole form and for each field, already in the page's language. */
  error?: string | null;
  fieldErrors?: { plan?: string; name?: string };
}

/** The order page: what is ordered, the plans (those too small disabled and saying why), a name, Confirm. */
export function orderBody(order: ServerOrder, f: OrderForm): string {
  const { words } = f;
  const needed = formatBytes(order.minDiskBytes);
  const fact = (label: string, value: string) => `<dt>${escapeHtml(label)}</dt><dd>${escapeHtml(value)}</dd>`;
  // The first plan that fits is chosen until the customer picks another.
  const chosen = f.values.plan ?? f.plans.find((p) => p.diskBytes >= order.minDiskBytes)?.id;
  const plans = f.plans.map((p) => {
    const fits = p.diskBytes >= order.minDiskBytes;
    const why = `plan-${escapeHtml(p.id)}-why`;
    // The reason sits outside the label: it is the radio's description, not part of its name.
    return `<div class="plan-option${fits ? '' : ' is-disabled'}">
  <label><input type="radio" name="plan" value="${escapeHtml(p.id)}"${fits ? '' : ` disabled aria-describedby="${why}"`}${fits && p.id === chosen ? ' checked' : ''} required>
  <span class="plan-name">${escapeHtml(p.name)}</span>
  <span class="muted">${escapeHtml(fill(words.planDisk, { disk: formatBytes(p.diskBytes) }))}</span></label>
  ${fits ? '' : `<small id="${why}" class="plan-why">${escapeHtml(fill(words.planTooSmall, { disk: needed }))}</small>`}
</div>`;
  }).join('\n');
  const fieldError = (id: string, message?: string) => (message ? `<p id="${id}" class="field-error">${escapeHtml(message)}</p>` : '');
  return `<h1>${escapeHtml(words.orderTitle)}</h1>
${f.error ? `<p class="alert alert-error" role="alert">${escapeHtml(f.error)}</p>` : ''}
<section class="card order-card">
<p>${escapeHtml(words.orderIntro)}</p>
<dl class="facts">
  ${fact(words.factSnapshot, order.snapshot.name)}
  ${fact(words.factTaken, f.formatDate(order.snapshot.createdAt))}
  ${fact(words.factSource, f.sourceName)}
  ${fact(words.factMinDisk, needed)}
</dl>
<p class="muted">${escapeHtml(fill(words.validUntil, { time: f.formatDate(order.expiresAt) }))}</p>
<form method="post" action="/orders/${encodeURIComponent(order.id)}" class="order-form">
  <input type="hidden" name="_csrf" value="${escapeHtml(f.csrfToken)}">
  <fieldset class="plan-choice"${f.fieldErrors?.plan ? ' aria-describedby="plan-error"' : ''}>
    <legend>${escapeHtml(words.planLegend)}</legend>
    ${plans}
    ${fieldError('plan-error', f.fieldErrors?.plan)}
  </fieldset>
  <label class="order-name">${escapeHtml(words.nameLabel)}
    <input name="name" value="${escapeHtml(f.values.name ?? '')}" maxlength="64" required autocomplete="off"
      aria-describedby="name-hint${f.fieldErrors?.name ? ' name-error' : ''}"${f.fieldErrors?.name ? ' aria-invalid="true"' : ''}>
  </label>
  <p id="name-hint" class="muted">${escapeHtml(words.nameHint)}</p>
  ${fieldError('name-error', f.fieldErrors?.name)}
  <p class="muted">${escapeHtml(words.noCharge)}</p>
  <div class="order-actions">
    <button type="submit" class="btn btn-primary">${escapeHtml(words.confirm)}</button>
    <a class="btn btn-secondary" href="${escapeHtml(f.cancelHref)}">${escapeHtml(words.cancel)}</a>
  </div>
</form>
</section>`;
}

/** An order that was confirmed already: where its server is. */
export function orderDoneBody(words: OrderText, serverName: string, serviceId: string): string {
  return `<h1>${escapeHtml(words.orderTitle)}</h1>
<p class="alert alert-info" role="status">${escapeHtml(fill(words.orderDone, { name: serverName }))}</p>
<p><a href="/services?ordered=${encodeURIComponent(serviceId)}">${escapeHtml(words.goToServices)}</a></p>`;
}

/** No such order, or not this user's, or expired: one answer for all three. */
export function orderGoneBody(words: OrderText, text: ChromeText): string {
  return `<h1>${escapeHtml(words.orderGoneTitle)}</h1>
<p>${escapeHtml(words.orderGone)} <a href="/services">${escapeHtml(text.backToServices)}</a></p>`;
}
