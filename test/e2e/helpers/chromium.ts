import { existsSync } from 'node:fs';
import { chromium, type BrowserContext, type BrowserContextOptions } from 'playwright-core';

const DEFAULT_PATH = '/usr/bin/chromium';

/** Debian's chromium (never a downloaded browser); CHROMIUM_PATH overrides. Null when absent. */
export function chromiumPath(): string | null {
  const candidate = process.env.CHROMIUM_PATH || DEFAULT_PATH;
  return existsSync(candidate) ? candidate : null;
}

export function missingBrowserMessage(): string {
  return `chromium not found at ${process.env.CHROMIUM_PATH || DEFAULT_PATH} (apt-get install chromium fonts-noto-cjk, or set CHROMIUM_PATH)`;
}

// The machine is offline and shared: no network chatter, no GPU, no sandbox (containers run as root),
// no QUIC, and no reliance on a container's tiny /dev/shm.
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

export interface Chromium {
  newContext: (options?: BrowserContextOptions) => Promise<BrowserContext>;
  close: () => Promise<void>;
}

/**
 * Launches chromium. Playwright gives every launch a fresh temporary profile (--user-data-dir) and
 * removes it on close; each `newContext` is an isolated session (own cookies), so tests log in as
 * different users side by side.
 */
export async function launchChromium(): Promise<Chromium> {
  const executablePath = chromiumPath();
  if (!executablePath) throw new Error(missingBrowserMessage());
  const browser = await chromium.launch({ executablePath, args: ARGS, timeout: 60_000 });
  return { newContext: (options) => browser.newContext(options), close: () => browser.close() };
}
