import { describe, expect, it } from 'vitest';

import { WORKDIR, service } from './helpers.js';

// Resolving extends is the pipeline's; the model gives it the long form and absolute files.
describe('extends', () => {
  it('turns the short form into {service}', () => {
    expect(service('services:\n  base:\n    image: a\n  web:\n    image: a\n    extends: base\n', 'web').extends).toEqual({ service: 'base' });
  });

  it('makes the file absolute', () => {
    expect(service('services:\n  web:\n    image: a\n    extends:\n      file: common.yml\n      service: base\n', 'web').extends).toEqual({
      file: `${WORKDIR}/common.yml`,
      service: 'base',
    });
  });
});
