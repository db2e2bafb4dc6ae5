import { describe, expect, it } from 'vitest';

import { loadError, service } from './helpers.js';

describe('deploy', () => {
  it('prints cpus as numbers and memory as byte counts (deploy-resources seed)', () => {
    const yaml = [
      'services:',
      '  app:',
      '    image: myapp:latest',
      '    deploy:',
      '      resources:',
      '        limits:',
      "          cpus: '0.5'",
      '          memory: 512M',
      '        reservations:',
      "          cpus: '0.25'",
      '          memory: 256M',
      '',
    ].join('\n');
    expect(service(yaml, 'app').deploy).toEqual({
      resources: { limits: { cpus: 0.5, memory: '536870912' }, reservations: { cpus: 0.25, memory: '268435456' } },
    });
  });

  it('reads restart_policy, update_config, rollback_config and placement', () => {
    const yaml = [
      'services:',
      '  app:',
      '    image: a',
      '    deploy:',
      '      mode: replicated',
      '      replicas: "3"',
      '      endpoint_mode: dnsrr',
      '      restart_policy: {condition: on-failure, delay: 5s, max_attempts: 3, window: 120s}',
      '      update_config: {parallelism: 2, delay: 10s, failure_action: rollback, monitor: 60s, max_failure_ratio: 0.3, order: start-first}',
      '      rollback_config: {parallelism: 1, delay: 0s}',
      '      placement:',
      '        constraints: [node.role == manager]',
      '        preferences: [{spread: node.labels.zone}]',
      '        max_replicas_per_node: 1',
      '',
    ].join('\n');
    expect(service(yaml, 'app').deploy).toEqual({
      mode: 'replicated',
      replicas: 3,
      endpoint_mode: 'dnsrr',
      restart_policy: { condition: 'on-failure', delay: '5s', max_attempts: 3, window: '2m0s' },
      update_config: { parallelism: 2, delay: '10s', failure_action: 'rollback', monitor: '1m0s', max_failure_ratio: 0.3, order: 'start-first' },
      rollback_config: { parallelism: 1, delay: '0s' },
      placement: { constraints: ['node.role == manager'], preferences: [{ spread: 'node.labels.zone' }], max_replicas_per_node: 1 },
    });
  });

  it('rejects an unknown order and a bad memory size', () => {
    expect(loadError('services:\n  a:\n    image: a\n    deploy:\n      update_config:\n        order: random\n')).toBe(
      'compose.yaml:6:9 services.a.deploy.update_config.order: must be one of the following: "start-first", "stop-first"',
    );
    expect(loadError('services:\n  a:\n    image: a\n    deploy:\n      resources:\n        limits:\n          memory: lots\n')).toBe(
      'compose.yaml:7:11 services.a.deploy.resources.limits.memory: invalid size: "lots"',
    );
  });
});

describe('mem_limit and cpus short form', () => {
  it('keeps them as docker compose prints them (resources-short seed)', () => {
    const s = service("services:\n  app:\n    image: myapp:latest\n    mem_limit: 512m\n    cpus: 0.5\n    shm_size: '1gb'\n    memswap_limit: -1\n", 'app');
    expect(s.mem_limit).toBe('536870912');
    expect(s.cpus).toBe(0.5);
    expect(s.shm_size).toBe('1073741824');
    expect(s.memswap_limit).toBe('-1');
  });

  it('reads an interpolated cpus and rejects one that is not a number', () => {
    expect(service("services:\n  app:\n    image: a\n    cpus: '1.5'\n", 'app').cpus).toBe(1.5);
    expect(loadError("services:\n  app:\n    image: a\n    cpus: 'half'\n")).toBe('compose.yaml:4:5 services.app.cpus: invalid number: "half"');
  });

  it('prints stop_grace_period as a Go duration', () => {
    expect(service('services:\n  app:\n    image: a\n    stop_grace_period: 1m30s\n', 'app').stop_grace_period).toBe('1m30s');
    expect(service('services:\n  app:\n    image: a\n    stop_grace_period: 90s\n', 'app').stop_grace_period).toBe('1m30s');
  });
});
