import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts', '**/*.test.tsx'],
    exclude: ['node_modules/**', 'dist/**'],
    // Privileged tests share the kernel (bridges, nftables, cgroups): they name their
    // resources uniquely, but forks keep a crashed test from taking the runner down.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
