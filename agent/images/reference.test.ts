import { describe, expect, it } from 'vitest';

import { isTscError } from '../../lib/errors.js';
import { familiarReference, formatReference, normalizeReference, parseReference } from './reference.js';

const D = 'sha256:' + 'a'.repeat(64);

describe('parseReference', () => {
  // Rows from distribution/reference's normalize_test.go and reference_test.go.
  it.each([
    ['nginx', 'docker.io/library/nginx:latest', 'nginx:latest'],
    ['nginx:1.25', 'docker.io/library/nginx:1.25', 'nginx:1.25'],
    ['library/nginx', 'docker.io/library/nginx:latest', 'nginx:latest'],
    ['docker.io/nginx', 'docker.io/library/nginx:latest', 'nginx:latest'],
    ['index.docker.io/library/nginx:alpine', 'docker.io/library/nginx:alpine', 'nginx:alpine'],
    ['dmcgowan/myapp', 'docker.io/dmcgowan/myapp:latest', 'dmcgowan/myapp:latest'],
    ['dmcgowan/myapp/sub', 'docker.io/dmcgowan/myapp/sub:latest', 'dmcgowan/myapp/sub:latest'],
    ['docker.io/library/foo/bar', 'docker.io/library/foo/bar:latest', 'library/foo/bar:latest'],
    ['localhost/app', 'localhost/app:latest', 'localhost/app:latest'],
    ['localhost:5000/app:v1', 'localhost:5000/app:v1', 'localhost:5000/app:v1'],
    ['127.0.0.1:5000/team/api', '127.0.0.1:5000/team/api:latest', '127.0.0.1:5000/team/api:latest'],
    ['registry.example.com:5000/team/api@' + D, 'registry.example.com:5000/team/api@' + D, 'registry.example.com:5000/team/api@' + D],
    ['nginx:1.25@' + D, 'docker.io/library/nginx:1.25@' + D, 'nginx:1.25@' + D],
    ['nginx@' + D, 'docker.io/library/nginx@' + D, 'nginx@' + D],
    ['[::1]:5000/app', '[::1]:5000/app:latest', '[::1]:5000/app:latest'],
    ['Example.COM/app', 'Example.COM/app:latest', 'Example.COM/app:latest'],
    ['a_b-c__d/e.f', 'docker.io/a_b-c__d/e.f:latest', 'a_b-c__d/e.f:latest'],
    ['foo_bar.com:8080', 'docker.io/library/foo_bar.com:8080', 'foo_bar.com:8080'],
    ['localhost:5000', 'docker.io/library/localhost:5000', 'localhost:5000'],
    ['ubuntu:' + 'x'.repeat(128), 'docker.io/library/ubuntu:' + 'x'.repeat(128), 'ubuntu:' + 'x'.repeat(128)],
  ])('%s -> %s', (input, full, familiar) => {
    const r = parseReference(input);
    expect(formatReference(r)).toBe(full);
    expect(familiarReference(r)).toBe(familiar);
    expect(normalizeReference(full)).toBe(full);
  });

  it('splits the parts', () => {
    expect(parseReference('localhost:5000/team/api:v2')).toEqual({ domain: 'localhost:5000', path: 'team/api', tag: 'v2', digest: undefined });
    expect(parseReference('busybox@' + D)).toEqual({ domain: 'docker.io', path: 'library/busybox', tag: undefined, digest: D });
  });

  it.each([
    ['', 'empty reference'],
    ['Nginx', 'repository name (library/Nginx) must be lowercase'],
    ['docker.io/Team/app', 'must be lowercase'],
    ['a'.repeat(64), 'cannot specify 64-byte hexadecimal strings'],
    ['nginx:', 'invalid reference format'],
    [':tag', 'invalid reference format'],
    ['nginx:-bad', 'invalid reference format'],
    ['nginx:' + 'x'.repeat(129), 'invalid reference format'],
    ['nginx@sha256:abc', 'invalid reference format'],
    ['nginx@md5:' + 'a'.repeat(32), 'unsupported digest algorithm'],
    ['nginx@sha256:' + 'A'.repeat(64), 'invalid checksum digest format'],
    ['-nginx', 'invalid reference format'],
    ['nginx-/app', 'invalid reference format'],
    ['a//b', 'invalid reference format'],
    ['a/b/', 'invalid reference format'],
    ['host:port/app', 'invalid reference format'],
    ['has space', 'invalid reference format'],
    ['under_score.io/f', 'invalid reference format'],
    ['aa/asdf$$^/aa', 'invalid reference format'],
    ['a'.repeat(256), 'not be more than 255 characters'],
  ])('rejects %j', (input, message) => {
    let err: unknown;
    try {
      parseReference(input);
    } catch (e) {
      err = e;
    }
    expect(isTscError(err, 'ERR_IMAGE')).toBe(true);
    expect((err as Error).message).toContain(message);
  });
});
