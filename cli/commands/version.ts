import { readFileSync } from 'node:fs';

import type { Command } from 'commander';

import { packageFile } from '../../lib/package-file.js';

/** The package version, from the package's package.json. */
export function packageVersion(): string {
  const file = packageFile('package.json');
  try {
    const pkg = JSON.parse(readFileSync(file ?? '', 'utf8')) as { name?: string; version?: string };
    if (pkg.name === 'tsc-compose' && pkg.version !== undefined) return pkg.version;
  } catch {
    // no readable package.json: say so below
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
