import { describe, expect, it } from 'vitest';

import { parseChallenges } from './auth.js';

describe('parseChallenges', () => {
  it.each([
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
      [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull' } }],
    ],
    ['Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
    ['Bearer realm=http://127.0.0.1:1/t, service=reg', [{ scheme: 'bearer', params: { realm: 'http://127.0.0.1:1/t', service: 'reg' } }]],
    ['Bearer realm="a\\"b",error="insufficient_scope"', [{ scheme: 'bearer', params: { realm: 'a"b', error: 'insufficient_scope' } }]],
    ['Basic realm="x", Bearer realm="y"', [{ scheme: 'basic', params: { realm: 'x' } }, { scheme: 'bearer', params: { realm: 'y' } }]],
  ])('%s', (header, expected) => {
    expect(parseChallenges(header)).toEqual(expected);
  });
});
