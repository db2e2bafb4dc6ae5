/**
 * Privileged tests need root and kernel features (namespaces, cgroups, bridges, nftables).
 * Where they cannot run they say so loudly; with CI=true a privileged test that cannot run
 * fails instead, so that CI never passes by skipping.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

import { describe, it } from 'vitest';

export interface Requirement {
  /** What is needed, in words: "root", "nft", "runc". */
  name: string;
  check: () => boolean;
}

export const root: Requirement = {
  name: 'root',
  check: () => typeof process.getuid === 'function' && process.getuid() === 0,
};

/** A command on PATH, e.g. `command('nft')`. */
export function command(name: string): Requirement {
  return {
    name,
    check: () => {
      try {
        execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    },
  };
}

/** A file or device that must exist, e.g. `path('/sys/fs/cgroup/blkio')`. */
export function path(p: string): Requirement {
  return { name: p, check: () => existsSync(p) };
}

/** The requirements that are not met, by name. */
export function missing(reqs: readonly Requirement[]): string[] {
  return reqs.filter((r) => !r.check()).map((r) => r.name);
}

/**
 * `describe` for a privileged suite. When a requirement is missing: under CI=true the
 * suite fails with the list; elsewhere it is skipped with a warning on stderr.
 */
export function describePrivileged(title: string, reqs: readonly Requirement[], body: () => void): void {
  const lacking = missing(reqs);
  if (lacking.length === 0) {
    describe(title, body);
    return;
  }
  const why = `privileged suite "${title}" cannot run: missing ${lacking.join(', ')}`;
  if (process.env['CI'] === 'true') {
    describe(title, () => {
      it('has what it needs to run', () => {
        throw new Error(`${why} (CI=true: a skipped privileged test fails)`);
      });
    });
    return;
  }
  process.stderr.write(`\n!!! SKIPPED ${why}\n`);
  describe.skipIf(true)(title, body);
}
