import { describe, expect, it } from 'vitest';

import { WORKDIR, loadError, service } from './helpers.js';

describe('develop.watch', () => {
  it('keeps every rule, with absolute paths (watch-actions seed)', () => {
    const yaml = [
      'services:',
      '  app:',
      '    build: .',
      '    develop:',
      '      watch:',
      '        - path: ./src',
      '          target: /app/src',
      '          action: sync',
      '        - path: package.json',
      '          action: rebuild',
      '        - path: ./config',
      '          target: /app/config',
      '          action: sync+restart',
      '        - path: ./src',
      '          target: /app/src',
      '          action: sync',
      '          ignore: [node_modules/, .git/, dist/]',
      '',
    ].join('\n');
    expect(service(yaml, 'app').develop).toEqual({
      watch: [
        { path: `${WORKDIR}/src`, action: 'sync', target: '/app/src' },
        { path: `${WORKDIR}/package.json`, action: 'rebuild' },
        { path: `${WORKDIR}/config`, action: 'sync+restart', target: '/app/config' },
        { path: `${WORKDIR}/src`, action: 'sync', target: '/app/src', ignore: ['node_modules/', '.git/', 'dist/'] },
      ],
    });
  });

  it('makes one rule per path when path is a list', () => {
    const yaml = 'services:\n  app:\n    image: a\n    develop:\n      watch:\n        - path: [a, b]\n          action: restart\n';
    expect(service(yaml, 'app').develop).toEqual({
      watch: [
        { path: `${WORKDIR}/a`, action: 'restart' },
        { path: `${WORKDIR}/b`, action: 'restart' },
      ],
    });
  });

  it('gives exec, ignore, include and initial_sync their canonical types', () => {
    const yaml = [
      'services:',
      '  app:',
      '    image: a',
      '    develop:',
      '      watch:',
      '        - path: ./config',
      '          target: /etc/app',
      '          action: sync+exec',
      '          ignore: "*.tmp"',
      '          include: "*.conf"',
      '          initial_sync: "true"',
      '          exec:',
      '            command: kill -HUP "1"',
      '            environment: [MODE=dev, BARE]',
      '            privileged: "false"',
      '',
    ].join('\n');
    expect(service(yaml, 'app').develop).toEqual({
      watch: [
        {
          path: `${WORKDIR}/config`,
          action: 'sync+exec',
          target: '/etc/app',
          exec: { command: ['kill', '-HUP', '1'], environment: { MODE: 'dev', BARE: null }, privileged: false },
          include: ['*.conf'],
          ignore: ['*.tmp'],
          initial_sync: true,
        },
      ],
    });
  });

  it('rejects an unknown action and a rule without one', () => {
    expect(loadError('services:\n  app:\n    image: a\n    develop:\n      watch:\n        - path: a\n          action: copy\n')).toBe(
      'compose.yaml:7:11 services.app.develop.watch[0].action: must be one of the following: "rebuild", "sync", "restart", "sync+restart", "sync+exec"',
    );
    expect(loadError('services:\n  app:\n    image: a\n    develop:\n      watch:\n        - path: a\n')).toBe(
      'compose.yaml:6:11 services.app.develop.watch[0]: action is required',
    );
  });
});
