/**
 * Where `npm install` built the bundled runtime binary, found from this module's location
 * whether it runs from source or from dist/.
 */
import { existsSync } from 'node:fs';

import { TscError } from '../../lib/errors.js';
import { packageFile } from '../../lib/package-file.js';

export function bundledRuntimePath(): string {
  const bin = packageFile('agent', 'runtime', 'native', 'build', 'tsc-runtime');
  if (bin === undefined) throw new TscError('ERR_NOT_FOUND', 'cannot find the package root to locate the bundled runtime');
  if (existsSync(bin)) return bin;
  throw new TscError('ERR_NOT_FOUND', `the bundled runtime ${bin} has not been built`, {
    hint: 'run `npm run build` (it needs a C compiler and make)',
  });
}
