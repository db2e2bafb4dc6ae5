import { describe, expect, it } from 'vitest';

import { WORKDIR, loadError, service } from './helpers.js';

describe('env_file', () => {
  it('turns a string or list into required entries with absolute paths', () => {
    expect(service('services:\n  a:\n    image: a\n    env_file: .env\n', 'a').env_file).toEqual([
      { path: `${WORKDIR}/.env`, required: true },
    ]);
    expect(service('services:\n  a:\n    image: a\n    env_file: [a.env, /etc/b.env]\n', 'a').env_file).toEqual([
      { path: `${WORKDIR}/a.env`, required: true },
      { path: '/etc/b.env', required: true },
    ]);
  });

  it('keeps required: false and the format of long entries', () => {
    const yaml = 'services:\n  a:\n    image: a\n    env_file:\n      - path: ./opt.env\n        required: false\n      - path: x.env\n        format: raw\n';
    expect(service(yaml, 'a').env_file).toEqual([
      { path: `${WORKDIR}/opt.env`, required: false },
      { path: `${WORKDIR}/x.env`, required: true, format: 'raw' },
    ]);
  });

  it('rejects an entry without a path', () => {
    expect(loadError('services:\n  a:\n    image: a\n    env_file:\n      - required: true\n')).toBe(
      'compose.yaml:5:9 services.a.env_file[0]: path is required',
    );
  });
});
