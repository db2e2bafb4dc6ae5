import { describe, expect, it } from 'vitest';

import { findPortConflicts, validateProject } from '../validate.js';
import { loadError, loadModel, parseYaml } from './helpers.js';

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
      {
        binding: '0.0.0.0:80/tcp',
        services: ['a', 'b'],
        message: 'Bind for 0.0.0.0:80 failed: port is already allocated (services "a" and "b")',
      },
      {
        binding: '0.0.0.0:53/udp',
        services: ['a', 'c'],
        message: 'Bind for 0.0.0.0:53 failed: port is already allocated (services "a" and "c")',
      },
    ]);
  });
});

describe('service essentials', () => {
  it('needs an image or a build', () => {
    expect(loadError('services:\n  web:\n    restart: always\n')).toBe(
      'compose.yaml:2:3 services.web: service "web" has neither an image nor a build context specified: invalid compose project',
    );
  });

  it('rejects scale and deploy.replicas that disagree', () => {
    expect(loadError('services:\n  web:\n    image: x\n    scale: 2\n    deploy: {replicas: 3}\n')).toBe(
      "compose.yaml:4:5 services.web.scale: can't set distinct values on 'scale' and 'deploy.replicas': invalid compose project",
    );
  });
});

describe('validateProject before canonicalize', () => {
  it('reads short forms too, and returns the tree unchanged', () => {
    const { tree, positions } = parseYaml('services:\n  web:\n    image: x\n    depends_on: [db]\n    networks: [front]\n');
    const ctx = { positions, workingDir: '/w', projectName: 'p', environment: {} };
    expect(() => validateProject(tree, ctx)).toThrow('service "web" depends on undefined service "db": invalid compose project');
    const ok = parseYaml('services:\n  web:\n    image: x\n    depends_on: [db]\n  db:\n    image: y\n');
    expect(validateProject(ok.tree, { ...ctx, positions: ok.positions })).toBe(ok.tree);
  });
});
