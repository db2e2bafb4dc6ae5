/**
 * The seed projects of the shared corpus through the model phases, checked against what their
 * READMEs say docker compose v2 prints. Interpolation is the pipeline's: where a seed uses
 * `${VAR:-default}` with nothing set, the test writes the default in (as interpolation would).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { describe, expect, it } from 'vitest';

import { formatComposeJson, toComposeJson, toComposeYaml } from '../compose-json.js';
import { loadModel } from './helpers.js';

const SEEDS = '/work/shared/corpus/compose/seeds';

function seed(name: string, file = 'compose.yaml'): ReturnType<typeof loadModel> & { dir: string } {
  const dir = join(SEEDS, name);
  const text = readFileSync(join(dir, file), 'utf8').replace(/\$\{\w+:-([^}]*)\}/g, '$1');
  return { ...loadModel(text, { projectName: name, workingDir: dir, file }), dir };
}

describe('seed projects', () => {
  it('three-tier: the whole config --format json', () => {
    const { tree, dir } = seed('three-tier');
    expect(JSON.parse(formatComposeJson(tree))).toEqual({
      name: 'three-tier',
      services: {
        app: {
          build: { context: `${dir}/app`, dockerfile: 'Dockerfile' },
          command: null,
          depends_on: { db: { condition: 'service_healthy', required: true } },
          entrypoint: null,
          environment: { DB_HOST: 'db', NODE_ENV: 'development' },
          networks: { backend: null, frontend: null },
        },
        db: {
          command: null,
          entrypoint: null,
          environment: { POSTGRES_DB: 'myapp', POSTGRES_PASSWORD: 'password', POSTGRES_USER: 'user' },
          healthcheck: { test: ['CMD-SHELL', 'pg_isready -U postgres'], timeout: '5s', interval: '10s', retries: 5 },
          image: 'postgres:15-alpine',
          networks: { backend: null },
          volumes: [{ type: 'volume', source: 'postgres_data', target: '/var/lib/postgresql/data', volume: {} }],
        },
        web: {
          command: null,
          depends_on: { app: { condition: 'service_started', required: true } },
          entrypoint: null,
          image: 'nginx:alpine',
          networks: { frontend: null },
          ports: [{ mode: 'ingress', target: 80, published: '80', protocol: 'tcp' }],
          volumes: [
            { type: 'bind', source: `${dir}/html`, target: '/usr/share/nginx/html', read_only: true, bind: { create_host_path: true } },
          ],
        },
      },
      networks: {
        backend: { name: 'three-tier_backend', driver: 'bridge', ipam: {} },
        frontend: { name: 'three-tier_frontend', driver: 'bridge', ipam: {} },
      },
      volumes: { postgres_data: { name: 'three-tier_postgres_data' } },
    });
  });

  it('prints keys in docker compose\'s order and escapes like Go', () => {
    const { tree } = seed('three-tier');
    const json = formatComposeJson(tree);
    // compose-go marshals the project as a map: top-level keys come out sorted
    expect(Object.keys(toComposeJson({ ...tree, 'x-a': 1 }))).toEqual(['name', 'networks', 'services', 'volumes', 'x-a']);
    expect(json.indexOf('"build"')).toBeLessThan(json.indexOf('"command"'));
    const amp = loadModel("services:\n  a:\n    image: x\n    command: sh -c 'a && b'\n").tree;
    expect(formatComposeJson(amp)).toContain('"a \\u0026\\u0026 b"');
  });

  it('x-logging-deploy: shared blocks land in both services, deploy structs always printed', () => {
    const { tree, dir } = seed('x-logging-deploy');
    const view = toComposeJson(tree) as { services: Record<string, Record<string, unknown>> };
    const deploy = {
      resources: { limits: { cpus: 0.5, memory: '536870912' }, reservations: { cpus: 0.25, memory: '268435456' } },
      placement: {},
    };
    const logging = { driver: 'json-file', options: { 'max-file': '3', 'max-size': '10m' } };
    expect(view.services.web?.deploy).toEqual(deploy);
    expect(view.services.app?.deploy).toEqual(deploy);
    expect(view.services.app?.logging).toEqual(logging);
    expect(view.services.app?.build).toEqual({ context: `${dir}/app`, dockerfile: 'Dockerfile' });
    expect(tree['x-common-logging']).toEqual({ driver: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } });
  });

  it('x-base-service: the anchor\'s keys in every service, a string command split', () => {
    const { tree, dir } = seed('x-base-service');
    const s = tree.services as Record<string, Record<string, unknown>>;
    for (const name of ['web', 'app', 'worker']) {
      expect(s[name]?.restart).toBe('unless-stopped');
      expect(s[name]?.networks).toEqual({ frontend: null });
    }
    expect(s.worker?.command).toEqual(['node', 'worker.js']);
    expect(s.worker?.build).toEqual({ context: `${dir}/worker`, dockerfile: 'Dockerfile' });
    expect(tree.networks).toEqual({ frontend: { name: 'x-base-service_frontend', driver: 'bridge' } });
  });

  it('private-registry: container names, read-only binds, environment strings', () => {
    const { tree, dir } = seed('private-registry');
    const s = tree.services as Record<string, Record<string, unknown>>;
    expect(s.registry?.container_name).toBe('registry');
    expect(s.registry?.volumes).toEqual([
      { type: 'bind', source: `${dir}/data/registry`, target: '/var/lib/registry', bind: { create_host_path: true } },
      { type: 'bind', source: `${dir}/data/certs`, target: '/certs', read_only: true, bind: { create_host_path: true } },
      { type: 'bind', source: `${dir}/data/auth`, target: '/auth', read_only: true, bind: { create_host_path: true } },
    ]);
    expect((s['registry-ui']?.environment as Record<string, string>).TAGLIST_PAGE_SIZE).toBe('100');
    expect(s['registry-ui']?.depends_on).toEqual({ registry: { condition: 'service_started', required: true } });
    expect((tree.networks as Record<string, { name: string }>)['registry-net']?.name).toBe('private-registry_registry-net');
  });

  it('restart-policies and tiered-isolation keep what they say', () => {
    const r = seed('restart-policies').tree.services as Record<string, Record<string, unknown>>;
    expect(r.nginx?.restart).toBe('always');
    expect(r.app?.restart).toBe('on-failure:5');
    expect(seed('tiered-isolation').tree.networks).toEqual({
      frontend: { name: 'tiered-isolation_frontend', driver: 'bridge' },
      backend: { name: 'tiered-isolation_backend', driver: 'bridge', internal: true },
    });
  });

  it('watch-practical and resources-per-service', () => {
    const { tree, dir } = seed('watch-practical');
    const app = (tree.services as Record<string, Record<string, unknown>>).app as Record<string, unknown>;
    expect((app.develop as { watch: Array<{ path: string }> }).watch.map((w) => w.path)).toEqual([
      `${dir}/src`,
      `${dir}/package.json`,
      `${dir}/public`,
    ]);
    const w = (seed('resources-per-service').tree.services as Record<string, { deploy: unknown }>).worker?.deploy;
    expect(w).toEqual({ resources: { limits: { cpus: 0.5, memory: '268435456' } } });
  });
});

describe('YAML view', () => {
  it('follows the Project\'s top-level order and prints no empty Go structs', () => {
    const { tree } = seed('x-logging-deploy');
    const y = toComposeYaml(tree) as { services: Record<string, Record<string, unknown>> };
    expect(Object.keys(y)).toEqual(['name', 'services', 'networks', 'x-common-deploy', 'x-common-logging']);
    expect(y.services.web?.command).toBeUndefined();
    expect(y.services.web?.deploy).toEqual({
      resources: { limits: { cpus: 0.5, memory: '536870912' }, reservations: { cpus: 0.25, memory: '268435456' } },
    });
  });
});

describe('extensions in the printed views', () => {
  it('JSON keeps only top-level x- keys, YAML keeps them all', () => {
    const { tree } = loadModel('x-top: 1\nservices:\n  web:\n    image: nginx\n    x-meta: 2\nnetworks:\n  n:\n    x-net: 3\n');
    const json = toComposeJson(tree) as { services: { web: Record<string, unknown> }; networks: { n: Record<string, unknown> } };
    expect(json['x-top' as keyof typeof json]).toBe(1);
    expect(json.services.web['x-meta']).toBeUndefined();
    expect(json.networks.n['x-net']).toBeUndefined();
    const yaml = toComposeYaml(tree) as { services: { web: Record<string, unknown> } };
    expect(yaml.services.web['x-meta']).toBe(2);
  });
});

describe('zero values in the JSON view', () => {
  it('omits false and empty values as Go\'s omitempty does, keeps the fields compose-go always prints', () => {
    const { tree } = loadModel(
      'services:\n  a:\n    image: x\n    privileged: false\n    init: false\n    environment: {}\n    depends_on:\n      b: {condition: service_started, required: false}\n  b:\n    image: y\nvolumes:\n  v:\n    external: false\n',
    );
    const a = (toComposeJson(tree) as { services: Record<string, Record<string, unknown>> }).services.a as Record<string, unknown>;
    expect(a.privileged).toBeUndefined();
    expect(a.environment).toBeUndefined();
    expect(a.init).toBe(false);
    expect(a.depends_on).toEqual({ b: { condition: 'service_started', required: false } });
    expect((toComposeJson(tree) as { volumes: unknown }).volumes).toEqual({ v: { name: 'proj_v' } });
  });
});
