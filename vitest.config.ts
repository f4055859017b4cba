import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    environment: 'node',
    // What the composition root sets for the process: V8's linear-time fallback for runaway regexes.
    setupFiles: ['shared/adapters/regexp-guard.ts'],
    pool: 'forks',
    // Generous: a CDK synth takes 20–40 s on a busy 2-core machine; a test must not fail for being slow.
    testTimeout: 90_000,
    hookTimeout: 60_000,
  },
});
