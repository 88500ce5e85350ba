import type { BrowserContextOptions, Page } from 'playwright-core';
import type { Chromium } from './chromium.js';

export type Lang = 'en' | 'ko' | 'ja';

// The login form's words, written out here (not imported from the demo) so a wrong translation fails.
export const LOGIN_WORDS: Record<Lang, { username: string; password: string; submit: string }> = {
  en: { username: 'Username', password: 'Password', submit: 'Log in' },
  ko: { username: '사용자 이름', password: '비밀번호', submit: '로그인' },
  ja: { username: 'ユーザー名', password: 'パスワード', submit: 'ログイン' },
};
const BROWSER_LOCALE: Record<Lang, string> = { en: 'en-US', ko: 'ko-KR', ja: 'ja-JP' };

export interface Session {
  page: Page;
  close: () => Promise<void>;
}

/**
 * A fresh browser context (own cookies) for one demo user, logged in through the login form the way a
 * person would: open a protected page, get sent to the login page, type, submit, land back there.
 */
export async function loginAs(browser: Chromium, demoUrl: string, user: string, opts: {
  lang?: Lang; goto?: string; context?: BrowserContextOptions;
} = {}): Promise<Session> {
  const lang = opts.lang ?? 'en';
  const context = await browser.newContext({ baseURL: demoUrl, locale: BROWSER_LOCALE[lang], ...opts.context });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const target = opts.goto ?? '/services';
  await page.goto(target);
  if (!new URL(page.url()).pathname.startsWith('/login')) throw new Error(`expected the login page, got ${page.url()}`);
  const words = LOGIN_WORDS[lang];
  await page.getByLabel(words.username).fill(user);
  await page.getByLabel(words.password).fill('demo');
  await page.getByRole('button', { name: words.submit, exact: true }).click();
  await page.waitForURL((url) => url.pathname === target.split('?')[0]);
  return { page, close: () => context.close() };
}

/** The URL path of a service's Snapshots page. */
export const snapshotsPage = (serviceId: string) => `/services/${serviceId}/snapshots`;
