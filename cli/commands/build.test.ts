import { describe, expect, it } from 'vitest';

import { parseBuildArgs } from './build.js';

describe('--build-arg', () => {
  it('takes KEY=VALUE, and KEY alone from the environment (skipped when unset)', () => {
    expect(parseBuildArgs(['A=1', 'B=x=y', 'HOME_DIR', 'UNSET'], { HOME_DIR: '/root' })).toEqual({ A: '1', B: 'x=y', HOME_DIR: '/root' });
    expect(() => parseBuildArgs(['=1'])).toThrow(/expected KEY=VALUE/);
  });
});
