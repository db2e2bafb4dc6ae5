/**
 * The `yaml` package, loaded on first use. `config` on an ordinary project never needs it
 * (`fast-yaml.ts` reads the file, `yaml-emit.ts` writes the output) and loading it costs
 * ~40 ms of every start; unusual files and scalars still go to it.
 */
import { createRequire } from 'node:module';

import type * as Yaml from 'yaml';

let loaded: typeof Yaml | undefined;

export function yamlPackage(): typeof Yaml {
  loaded ??= createRequire(import.meta.url)('yaml') as typeof Yaml;
  return loaded;
}
