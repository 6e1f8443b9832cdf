import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Sandbox suites create real namespaces and cgroups; two cores do not need more than two workers.
    maxWorkers: 2,
  },
});
