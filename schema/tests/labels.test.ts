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
