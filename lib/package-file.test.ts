import { readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { packageFile, packageRoot } from './package-file.js';

describe('packageFile', () => {
  it('finds the package this module belongs to', () => {
    const pkg = packageFile('package.json');
    expect(pkg).toBeDefined();
    expect((JSON.parse(readFileSync(pkg as string, 'utf8')) as { name: string }).name).toBe('tsc-compose');
    expect(packageFile('agent', 'runtime', 'native')).toBe(`${packageRoot() as string}/agent/runtime/native`);
  });
});
