import { defineConfig } from 'vitest/config';

// Two projects: unit tests (pure logic, fakes, run in parallel) and lab tests
// (real kernel, namespaces, daemons; run one file at a time so that traffic
// figures and timeouts are not distorted by each other).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/rules/**/*.test.ts', 'test/api/**/*.test.ts'],
          testTimeout: 20_000,
        },
      },
      {
        test: {
          name: 'lab',
          include: ['test/lab/**/*.test.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
