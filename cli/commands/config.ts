/**
 * `tsc-compose config`: load the project and print its canonical model, or parts of it, as
 * `docker compose config` does. Warnings go to stderr, the model to stdout (or `-o FILE`).
 */
import { writeFileSync } from 'node:fs';

import { Option, type Command } from 'commander';

import { TscError } from '../../lib/errors.js';
import {
  renderConfig,
  serviceImages,
  serviceNamesInDependencyOrder,
} from '../../schema/config-output.js';
import { loadProject } from '../../schema/load.js';
import { configHash } from '../../schema/project.js';
import { globalOptions, loadOptionsFrom } from '../global-options.js';

export interface ConfigOptions {
  format: 'yaml' | 'json';
  services?: boolean;
  volumes?: boolean;
  networks?: boolean;
  profiles?: boolean;
  images?: boolean;
  hash?: string;
  quiet?: boolean;
  interpolate: boolean;
  normalize: boolean;
  output?: string;
}

export function registerConfig(program: Command): void {
  program
    .command('config')
    .description('Parse, resolve and render compose file in canonical format')
    .argument('[services...]', 'Services to print (and what they depend on)')
    .addOption(new Option('--format <FORMAT>', 'Format the output').choices(['yaml', 'json']).default('yaml'))
    .option('--services', 'Print the service names, one per line')
    .option('--volumes', 'Print the volume names, one per line')
    .option('--networks', 'Print the network names, one per line')
    .option('--profiles', 'Print the profile names, one per line')
    .option('--images', 'Print the image names, one per line')
    .option('--hash <SERVICES>', 'Print the service config hash, one per line ("*" for all)')
    .option('-q, --quiet', 'Only validate the configuration, print nothing')
    .option('--no-interpolate', "Don't interpolate environment variables")
    .option('--no-normalize', "Don't normalize compose model")
    .option('-o, --output <FILE>', 'Save to file (default to stdout)')
    .action((services: string[], opts: ConfigOptions, cmd: Command) => {
      const g = globalOptions(cmd);
      const result = loadProject(loadOptionsFrom(g, { services, interpolate: opts.interpolate, normalize: opts.normalize }));
      for (const w of result.warnings) process.stderr.write(`WARN[0000] ${w}\n`);
      if (opts.quiet === true) return;
      const text = renderConfigCommand(result.tree, result.allProfiles, opts, (name) => configHash(result.project, name));
      if (opts.output !== undefined) writeFileSync(opts.output, text);
      else process.stdout.write(text);
    });
}

/** The text `config` prints for the loaded tree and the chosen options. */
/** `hashOf` gives a service's config hash: the one the reconciler labels containers with. */
export function renderConfigCommand(tree: Record<string, unknown>, allProfiles: string[], opts: ConfigOptions, hashOf: (service: string) => string): string {
  const lines = (xs: string[]): string => xs.map((x) => `${x}\n`).join('');
  const keysOf = (k: string): string[] => {
    const v = tree[k];
    return v !== null && typeof v === 'object' ? Object.keys(v).sort() : [];
  };
  if (opts.services === true) return lines(serviceNamesInDependencyOrder(tree));
  if (opts.volumes === true) return lines(keysOf('volumes'));
  if (opts.networks === true) return lines(keysOf('networks'));
  if (opts.profiles === true) return lines(allProfiles);
  if (opts.images === true) return lines(serviceImages(tree).map((i) => i.image));
  if (opts.hash !== undefined) {
    const services = (tree.services ?? {}) as Record<string, unknown>;
    const wanted = opts.hash === '*' ? Object.keys(services).sort() : opts.hash.split(',').map((s) => s.trim());
    return lines(
      wanted.map((name) => {
        if (!Object.hasOwn(services, name)) throw new TscError('ERR_NOT_FOUND', `no such service: ${name}`);
        return `${name} ${hashOf(name)}`;
      }),
    );
  }
  return renderConfig(tree, opts.format);
}
