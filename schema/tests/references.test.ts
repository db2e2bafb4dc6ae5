import { describe, expect, it } from 'vitest';

import { findPortConflicts } from '../validate.js';
import { loadError, loadModel } from './helpers.js';

describe('cross-field rules', () => {
  it('rejects a duplicate container_name', () => {
    expect(loadError('services:\n  a:\n    image: x\n    container_name: box\n  b:\n    image: x\n    container_name: box\n')).toBe(
      'compose.yaml:7:5 services.b.container_name: container name "box" is already in use by "services.a": invalid compose project',
    );
  });

  it('rejects links and volumes_from naming unknown services', () => {
    expect(loadError('services:\n  a:\n    image: x\n    links: ["db:database"]\n')).toBe(
      'compose.yaml:4:13 services.a.links[0]: service "a" depends on undefined service "db": invalid compose project',
    );
    expect(loadError('services:\n  a:\n    image: x\n    volumes_from: ["data:ro"]\n')).toBe(
      'compose.yaml:4:20 services.a.volumes_from[0]: service "a" depends on undefined service "data": invalid compose project',
    );
  });

  it('finds published ports two services would both bind', () => {
    const { tree } = loadModel(
      'services:\n  a:\n    image: x\n    ports: ["80:80", "127.0.0.1:53:53/udp"]\n  b:\n    image: x\n    ports: ["8080:80", "0.0.0.0:80:8000", "127.0.0.2:53:53/udp"]\n  c:\n    image: x\n    ports: ["53:53/udp"]\n',
    );
    expect(findPortConflicts(tree)).toEqual([
      { binding: '0.0.0.0:80/tcp', services: ['a', 'b'] },
      { binding: '0.0.0.0:53/udp', services: ['a', 'c'] },
    ]);
  });
});
