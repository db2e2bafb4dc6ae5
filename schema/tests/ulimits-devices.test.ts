import { describe, expect, it } from 'vitest';

import { loadError, loadModel, service } from './helpers.js';

describe('ulimits', () => {
  it('keeps a single limit as a number and soft/hard as numbers, as docker compose prints them', () => {
    const yaml = 'services:\n  a:\n    image: a\n    ulimits:\n      nproc: 65535\n      nofile:\n        soft: "20000"\n        hard: 40000\n';
    expect(service(yaml, 'a').ulimits).toEqual({ nproc: 65535, nofile: { soft: 20000, hard: 40000 } });
  });

  it('gives the typed model soft and hard for both forms', () => {
    const { project } = loadModel('services:\n  a:\n    image: a\n    ulimits:\n      nproc: 65535\n      nofile: {soft: 1, hard: 2}\n');
    expect(project.services.a?.ulimits).toEqual({ nproc: { soft: 65535, hard: 65535 }, nofile: { soft: 1, hard: 2 } });
  });

  it('rejects a limit missing hard, and a value that is not a number', () => {
    expect(loadError('services:\n  a:\n    image: a\n    ulimits:\n      nofile: {soft: 1}\n')).toBe(
      'compose.yaml:5:7 services.a.ulimits.nofile: hard is required',
    );
    expect(loadError('services:\n  a:\n    image: a\n    ulimits:\n      nproc: lots\n')).toBe(
      'compose.yaml:5:7 services.a.ulimits.nproc: invalid integer: "lots"',
    );
  });
});

describe('devices', () => {
  it('turns host:container[:permissions] into long syntax with rwm by default', () => {
    const yaml = 'services:\n  a:\n    image: a\n    devices:\n      - /dev/ttyUSB0\n      - /dev/sda:/dev/xvda\n      - /dev/snd:/dev/snd:r\n      - {source: /dev/fuse, target: /dev/fuse, permissions: rw}\n';
    expect(service(yaml, 'a').devices).toEqual([
      { source: '/dev/ttyUSB0', target: '/dev/ttyUSB0', permissions: 'rwm' },
      { source: '/dev/sda', target: '/dev/xvda', permissions: 'rwm' },
      { source: '/dev/snd', target: '/dev/snd', permissions: 'r' },
      { source: '/dev/fuse', target: '/dev/fuse', permissions: 'rw' },
    ]);
  });

  it('rejects a confusing mapping', () => {
    expect(loadError('services:\n  a:\n    image: a\n    devices: ["a:b:c:d"]\n')).toBe(
      'compose.yaml:4:15 services.a.devices[0]: confusing device mapping, please use long syntax: a:b:c:d',
    );
  });
});
