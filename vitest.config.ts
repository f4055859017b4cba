import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    environment: 'node',
    // What the composition root sets for the process: V8's linear-time fallback for runaway regexes.
    setupFiles: ['shared/adapters/regexp-guard.ts'],
    pool: 'forks',
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
