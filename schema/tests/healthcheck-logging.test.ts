import { describe, expect, it } from 'vitest';

import { loadError, service } from './helpers.js';

describe('healthcheck', () => {
  it('keeps the test list and prints durations as Go does (three-tier seed)', () => {
    const yaml = 'services:\n  db:\n    image: p\n    healthcheck:\n      test: ["CMD-SHELL", "pg_isready -U postgres"]\n      interval: 10s\n      timeout: 5s\n      retries: 5\n      start_period: 90s\n      start_interval: 1h\n';
    expect(service(yaml, 'db').healthcheck).toEqual({
      test: ['CMD-SHELL', 'pg_isready -U postgres'],
      interval: '10s',
      timeout: '5s',
      retries: 5,
      start_period: '1m30s',
      start_interval: '1h0m0s',
    });
  });

  it('runs a string test through the shell and reads interpolated numbers', () => {
    const yaml = 'services:\n  a:\n    image: a\n    healthcheck:\n      test: curl -f http://localhost\n      retries: "3"\n      disable: "false"\n';
    expect(service(yaml, 'a').healthcheck).toEqual({ test: ['CMD-SHELL', 'curl -f http://localhost'], retries: 3, disable: false });
  });

  it('rejects a duration without a unit, at its key', () => {
    expect(loadError('services:\n  a:\n    image: a\n    healthcheck:\n      interval: "10"\n')).toBe(
      'compose.yaml:5:7 services.a.healthcheck.interval: invalid duration: "10"',
    );
    expect(loadError('services:\n  a:\n    image: a\n    healthcheck:\n      intervall: 10s\n')).toBe(
      'compose.yaml:5:7 services.a.healthcheck: Additional property intervall is not allowed',
    );
  });
});

describe('logging', () => {
  it('keeps the driver and prints options as strings (x-logging-deploy seed)', () => {
    const yaml = 'x-common-logging: &l\n  driver: "json-file"\n  options:\n    max-size: "10m"\n    max-file: 3\nservices:\n  web:\n    image: nginx\n    logging: *l\n';
    expect(service(yaml, 'web').logging).toEqual({ driver: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } });
  });
});

describe('command and entrypoint', () => {
  it('splits a string command shell-style (x-base-service seed)', () => {
    expect(service('services:\n  w:\n    image: n\n    command: node worker.js\n', 'w').command).toEqual(['node', 'worker.js']);
    expect(service(`services:\n  w:\n    image: n\n    entrypoint: sh -c 'echo "a b"'\n`, 'w').entrypoint).toEqual(['sh', '-c', 'echo "a b"']);
    expect(service('services:\n  w:\n    image: n\n    command: ["npm", "test"]\n', 'w').command).toEqual(['npm', 'test']);
  });
});
