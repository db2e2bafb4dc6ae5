import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts', '**/*.test.tsx'],
    exclude: ['node_modules/**', 'dist/**'],
    // Privileged tests share the kernel (bridges, nftables, cgroups): they name their
    // resources uniquely, but forks keep a crashed test from taking the runner down.
    pool: 'forks',
    // A guard against hangs, not a speed check: CLI tests spawn processes and a busy 2-core
    // machine can take seconds per spawn.
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
