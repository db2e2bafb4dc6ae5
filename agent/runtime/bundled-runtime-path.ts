/**
 * Where `npm install` built the bundled runtime binary, found from this module's location
 * whether it runs from source or from dist/.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { TscError } from '../../lib/errors.js';

const RELATIVE = join('agent', 'runtime', 'native', 'build', 'tsc-runtime');

export function bundledRuntimePath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) {
      const bin = join(dir, RELATIVE);
      if (existsSync(bin)) return bin;
      throw new TscError('ERR_NOT_FOUND', `the bundled runtime ${bin} has not been built`, {
        hint: 'run `npm run build` (it needs a C compiler and make)',
      });
    }
    const up = dirname(dir);
    if (up === dir) throw new TscError('ERR_NOT_FOUND', 'cannot find the package root to locate the bundled runtime');
    dir = up;
  }
}
