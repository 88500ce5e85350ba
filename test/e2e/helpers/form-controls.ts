import type { Locator, Page } from 'playwright-core';

// The schedule form is built in another branch; these helpers accept the reasonable shapes of each
// field (radio or select, checkbox or select, number input or select) and find them by their words.

/** Picks `choice` for the field labelled `field`: a radio named `choice`, or a select's option. */
export async function choose(scope: Page | Locator, field: string | RegExp, choice: string): Promise<void> {
  const radio = scope.getByRole('radio', { name: choice, exact: true });
  if (await radio.count()) return radio.check();
  const checkbox = scope.getByRole('checkbox', { name: choice, exact: true });
  if (await checkbox.count()) return checkbox.check();
  await scope.getByLabel(field).first().selectOption({ label: choice });
}

/** Sets a numeric field, whether a text/number input or a select whose option values are numbers ("03"). */
export async function setNumber(scope: Page | Locator, field: string | RegExp, value: number): Promise<void> {
  const control = scope.getByLabel(field).first();
  const tag = await control.evaluate((el) => el.tagName);
  if (tag !== 'SELECT') return control.fill(String(value));
  const values = await control.locator('option').evaluateAll((options) => options.map((o) => (o as { value: string }).value));
  const match = values.find((v) => v !== '' && Number(v) === value);
  if (match === undefined) throw new Error(`no option ${value} in ${String(field)}: ${values.join(',')}`);
  await control.selectOption(match);
}

/** The link or button named `name` (schedules may use either for "Create New Schedule", "Edit", "Delete"). */
export function action(scope: Page | Locator, name: string | RegExp): Locator {
  return scope.getByRole('link', { name }).or(scope.getByRole('button', { name })).first();
}
