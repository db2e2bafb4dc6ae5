import { readFileSync } from 'node:fs';

import type { Command } from 'commander';

/** The package version, read once from package.json next to the built tree. */
export function packageVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'tsc-compose' && pkg.version !== undefined) return pkg.version;
    } catch {
      // try the next candidate: the source tree and dist/ sit at different depths
    }
  }
  return 'unknown';
}

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('Show the tsc-compose version information')
    .option('--short', 'Shows only the version number')
    .action((opts: { short?: boolean }) => {
      const v = packageVersion();
      process.stdout.write(opts.short === true ? `${v}\n` : `tsc-compose version v${v}\n`);
    });
}
