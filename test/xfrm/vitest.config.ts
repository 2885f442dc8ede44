// vitest for the lab tests inside the test:xfrm guest: the lab project's
// settings (one file at a time) with per-test and per-hook limits fit for an
// emulated CPU (qemu TCG on a shared host, 15-30x slower: Junction alone
// takes a minute or more to start). The tests' own bounds on what they
// measure are unchanged.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    root: fileURLToPath(new URL('../..', import.meta.url)),
    include: ['test/lab/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 900_000,
    hookTimeout: 900_000,
  },
});
