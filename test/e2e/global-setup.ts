import type { TestProject } from 'vitest/node';
import { chromiumPath, missingBrowserMessage } from './helpers/chromium.js';
import { startDemoPanel } from './helpers/demo-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Base URL of the demo panel, or '' when no browser is available (tests skip). */
    demoUrl: string;
  }
}

/** One demo panel for the whole e2e run. Without chromium: fail under CI, skip elsewhere. */
export default async function setup(project: TestProject) {
  if (!chromiumPath()) {
    if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`${missingBrowserMessage()} (CI=true: browser tests are required)`);
    console.warn(`${missingBrowserMessage()}: the browser tests are skipped.`);
    project.provide('demoUrl', '');
    return;
  }
  const demo = await startDemoPanel();
  project.provide('demoUrl', demo.url);
  return async () => demo.stop();
}
