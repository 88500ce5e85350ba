import { defineConfig } from 'vitest/config';

/**
 * The QEMU driver against real QEMU (TCG, no KVM needed): `npm run test:qemu`. Separate from the
 * default suite because it needs Debian's qemu-system-x86 and qemu-utils.
 */
export default defineConfig({
  test: {
    include: ['test/qemu/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Every file boots its own VMs; one at a time keeps TCG from starving the other tests' timers.
    maxWorkers: 1,
  },
});
