import { describe, expect, it } from 'vitest';

import { service } from './helpers.js';

describe('labels', () => {
  it('turns a list into a map; a bare key is the empty string', () => {
    const yaml = 'services:\n  app:\n    image: a\n    labels:\n      - com.example.tier=web\n      - com.example.flag\n';
    expect(service(yaml, 'app').labels).toEqual({ 'com.example.tier': 'web', 'com.example.flag': '' });
  });

  it('prints values as strings, on services, build, deploy, networks and volumes', () => {
    const yaml = [
      'services:',
      '  app:',
      '    build: {context: ., labels: [a=1]}',
      '    labels: {n: 1, b: true}',
      '    deploy: {labels: [x=y]}',
      'networks:',
      '  n: {labels: [k=v]}',
      'volumes:',
      '  v: {labels: {size: 10}}',
      '',
    ].join('\n');
    const { tree } = { tree: service(yaml, 'app') };
    expect(tree.labels).toEqual({ n: '1', b: 'true' });
    expect((tree.build as { labels: unknown }).labels).toEqual({ a: '1' });
    expect((tree.deploy as { labels: unknown }).labels).toEqual({ x: 'y' });
  });
});

describe('extra_hosts', () => {
  it('prints host=ip entries, sorted, from a list or a mapping', () => {
    const list = 'services:\n  a:\n    image: a\n    extra_hosts:\n      - "somehost:162.242.195.82"\n      - "otherhost=50.31.209.229"\n      - "v6host:::1"\n';
    expect(service(list, 'a').extra_hosts).toEqual(['otherhost=50.31.209.229', 'somehost=162.242.195.82', 'v6host=::1']);
    const map = 'services:\n  a:\n    image: a\n    extra_hosts:\n      gw: host-gateway\n      multi: ["10.0.0.1", "10.0.0.2"]\n';
    expect(service(map, 'a').extra_hosts).toEqual(['gw=host-gateway', 'multi=10.0.0.1', 'multi=10.0.0.2']);
  });
});
