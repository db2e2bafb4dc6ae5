import { describe, expect, it } from 'vitest';

import { loadError, loadModel } from './helpers.js';

describe('schema validation', () => {
  it('rejects unknown keys at every level, with the line of the key', () => {
    expect(loadError('services:\n  web:\n    image: nginx\n    foo: bar\n')).toBe(
      'compose.yaml:4:5 services.web: Additional property foo is not allowed',
    );
    expect(loadError('servics:\n  web:\n    image: nginx\n')).toBe('compose.yaml:1:1 (root): Additional property servics is not allowed');
    expect(loadError('services:\n  web:\n    image: nginx\nnetworks:\n  n:\n    drivr: bridge\n')).toBe(
      'compose.yaml:6:5 networks.n: Additional property drivr is not allowed',
    );
  });

  it('allows x- extensions everywhere and the obsolete version', () => {
    const { tree } = loadModel('version: "3.8"\nx-top: {a: 1}\nservices:\n  web:\n    image: nginx\n    x-meta: 1\n');
    expect(tree['x-top']).toEqual({ a: 1 });
    expect((tree.services as Record<string, Record<string, unknown>>).web?.['x-meta']).toBe(1);
  });

  it('says which type was expected', () => {
    expect(loadError('services:\n  web:\n    image: [nginx]\n')).toBe('compose.yaml:3:5 services.web.image: must be a string');
    expect(loadError('services:\n  web:\n    image: nginx\n    volumes: ./a:/a\n')).toBe('compose.yaml:4:5 services.web.volumes: must be a list');
    expect(loadError('services:\n  web:\n    image: nginx\n    deploy:\n      placement: []\n')).toBe(
      'compose.yaml:5:7 services.web.deploy.placement: must be a mapping',
    );
    expect(loadError('services: []\n')).toBe('compose.yaml:1:1 services: must be a mapping');
  });

  it('rejects an invalid service name and duplicate list items', () => {
    expect(loadError('services:\n  "web app":\n    image: nginx\n')).toBe('compose.yaml:2:3 services: Additional property web app is not allowed');
    expect(loadError('services:\n  web:\n    image: nginx\n    cap_add: [NET_ADMIN, NET_ADMIN]\n')).toBe(
      'compose.yaml:4:26 services.web.cap_add: contains duplicate items: "NET_ADMIN"',
    );
  });
});
