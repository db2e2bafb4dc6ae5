import { describe, expect, it } from 'vitest';

import { configHash } from '../project.js';
import { loadModel } from './helpers.js';

const base = 'services:\n  web:\n    image: nginx\n    ports: ["80:80"]\n    environment: {A: "1", B: "2"}\n';

describe('the typed Project', () => {
  it('has every section, services named by their key, and x- blocks', () => {
    const { project } = loadModel(`x-top: 1\n${base}volumes:\n  data:\n`, { projectName: 'shop' });
    expect(project.name).toBe('shop');
    expect(project.services.web?.name).toBe('web');
    expect(project.services.web?.ports).toEqual([{ mode: 'ingress', target: 80, published: '80', protocol: 'tcp' }]);
    expect(project.networks).toEqual({ default: { name: 'shop_default' } });
    expect(project.volumes).toEqual({ data: { name: 'shop_data' } });
    expect(project.extensions).toEqual({ 'x-top': 1 });
    expect(JSON.parse(JSON.stringify(project))).toEqual(project);
  });
});

describe('configHash', () => {
  const hash = (yaml: string): string => configHash(loadModel(yaml).project, 'web');

  it('is a sha256 that does not depend on key order', () => {
    const h = hash(base);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(hash('services:\n  web:\n    environment: {B: "2", A: "1"}\n    ports: ["80:80"]\n    image: nginx\n')).toBe(h);
  });

  it('changes with what the container is, not with replicas, build, depends_on or profiles', () => {
    const h = hash(base);
    expect(hash(base.replace('nginx', 'nginx:1.27'))).not.toBe(h);
    expect(hash(base.replace('"80:80"', '"8080:80"'))).not.toBe(h);
    expect(hash(`${base}    deploy: {replicas: 3}\n`)).toBe(hash(`${base}    deploy: {replicas: 1}\n`));
    expect(hash(`${base}    build: ./web\n`)).toBe(h);
    expect(hash(`${base}    pull_policy: always\n`)).toBe(h);
    expect(hash(`${base}    profiles: [dev]\n`)).toBe(h);
    expect(hash(`${base}    depends_on: [db]\n  db:\n    image: p\n`)).toBe(h);
    expect(hash(`${base}    deploy: {replicas: 3, resources: {limits: {memory: 1g}}}\n`)).not.toBe(hash(`${base}    deploy: {replicas: 3}\n`));
  });

  it('refuses a service that is not in the project', () => {
    expect(() => configHash(loadModel(base).project, 'nope')).toThrow('configHash: no service nope in project proj');
  });
});
