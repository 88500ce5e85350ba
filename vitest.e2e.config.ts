import { defineConfig } from 'vitest/config';

// Browser tests against the demo panel (npm run test:e2e). One demo panel for the whole run, started by
// the global setup; files run one after another so they never race over a service's quota.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    globalSetup: ['test/e2e/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 90_000,
    hookTimeout: 90_000,
    pool: 'forks',
  },
});
