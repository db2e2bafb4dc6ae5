/**
 * The compose corpus: the seed projects (copied into fixtures/compose/) checked against what
 * their READMEs say a correct loader does, and every docker/awesome-compose sample from
 * ../shared/corpus/compose/awesome loading and printing without error.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { renderConfig } from '../schema/config-output.js';
import { loadProject, type LoadOptions } from '../schema/load.js';
import { bindsOf, buildContextOf, commandOf, envOf, networksOf, portsOf, serviceOf } from './support/compose-shapes.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const seeds = join(repoRoot, 'fixtures', 'compose');

function load(dir: string, opts: Partial<LoadOptions> = {}) {
  return loadProject({ cwd: dir, shell: {}, ...opts });
}

function services(dir: string, opts: Partial<LoadOptions> = {}): string[] {
  return Object.keys(load(dir, opts).tree.services as object).sort();
}

const VERSION_WARNING = (file: string): string =>
  `${file}: the attribute \`version\` is obsolete, it will be ignored, please remove it to avoid potential confusion`;

describe('seed: profiles', () => {
  const dir = join(seeds, 'profiles');
  it.each([
    [{}, []],
    [{ profiles: ['development'] }, ['app']],
    [{ profiles: ['staging'] }, ['app']],
    [{ shell: { COMPOSE_PROFILES: 'staging' } }, ['app']],
    [{ profiles: ['production'] }, ['app-prod']],
    [{ profiles: ['development', 'production'] }, ['app', 'app-prod']],
    [{ shell: { COMPOSE_PROFILES: 'development,production' } }, ['app', 'app-prod']],
    [{ services: ['app-prod'] }, ['app-prod']],
    [{ profiles: ['development'], services: ['app-prod'] }, ['app-prod']],
  ] as Array<[Partial<LoadOptions>, string[]]>)('%j enables %j', (opts, expected) => {
    expect(services(dir, opts)).toEqual(expected);
  });

  it('lists every profile for config --profiles', () => {
    expect(load(dir).allProfiles).toEqual(['development', 'production', 'staging']);
  });
});

describe('seed: override-auto', () => {
  const dir = join(seeds, 'override-auto');
  const base = join(dir, 'docker-compose.yml');
  const override = join(dir, 'docker-compose.override.yml');

  it('reads docker-compose.override.yml after docker-compose.yml when no -f is given', () => {
    const r = load(dir);
    expect(r.files).toEqual([base, override]);
    const app = serviceOf(r.tree, 'app');
    expect(buildContextOf(app, dir)).toBe(dir);
    expect(portsOf(app)).toEqual(['3000:3000/tcp']);
    expect(bindsOf(app, dir)).toEqual([`${dir}:/app`]);
    expect(envOf(app)).toEqual({ DEBUG: 'true' });
    expect(r.tree.name).toBe('override-auto');
    expect(r.warnings).toEqual([VERSION_WARNING('docker-compose.yml'), VERSION_WARNING('docker-compose.override.yml')]);
  });

  it('does not read the override with -f docker-compose.yml', () => {
    const app = serviceOf(load(dir, { files: ['docker-compose.yml'] }).tree, 'app');
    expect(app.volumes).toBeUndefined();
    expect(app.environment).toBeUndefined();
  });

  it('gives the same result with both files named', () => {
    const both = load(dir, { files: ['docker-compose.yml', 'docker-compose.override.yml'] });
    expect(both.tree).toEqual(load(dir).tree);
  });
});

describe('seed: env-split', () => {
  const dir = join(seeds, 'env-split');
  const withEnv = (env: string, shell: Record<string, string> = {}) =>
    load(dir, { files: ['docker-compose.yml', `docker-compose.${env}.yml`], shell }).tree;

  it('base + dev', () => {
    const app = serviceOf(withEnv('dev'), 'app');
    expect(buildContextOf(app, dir)).toBe(dir);
    expect(portsOf(app)).toEqual(['3000:3000/tcp']);
    expect(bindsOf(app, dir)).toEqual([`${dir}:/app`]);
    expect(envOf(app)).toEqual({ DEBUG: 'true', NODE_ENV: 'development' });
  });

  it('base + prod: ports appended, image tag interpolated', () => {
    const app = serviceOf(withEnv('prod'), 'app');
    expect(buildContextOf(app, dir)).toBe(dir);
    expect(app.image).toBe('registry.example.com/app:latest');
    expect(app.restart).toBe('always');
    expect(envOf(app)).toEqual({ NODE_ENV: 'production' });
    expect(portsOf(app)).toEqual(['3000:3000/tcp', '80:3000/tcp']);
    expect(serviceOf(withEnv('prod', { TAG: '1.2' }), 'app').image).toBe('registry.example.com/app:1.2');
  });

  it('base + test: command replaced, a second service', () => {
    const tree = withEnv('test');
    const app = serviceOf(tree, 'app');
    expect(commandOf(app)).toEqual(['npm', 'test']);
    expect(envOf(app)).toEqual({ NODE_ENV: 'test' });
    const db = serviceOf(tree, 'db');
    expect(db.image).toBe('postgres:15-alpine');
    expect(envOf(db)).toEqual({ POSTGRES_PASSWORD: 'test' });
  });

  it('reads only docker-compose.yml without -f', () => {
    expect(load(dir).files).toEqual([join(dir, 'docker-compose.yml')]);
  });
});

describe('seed: three-tier', () => {
  const dir = join(seeds, 'three-tier');

  it('enables all three services, names the project after the directory, warns about version', () => {
    const r = load(dir);
    expect(Object.keys(r.tree.services as object).sort()).toEqual(['app', 'db', 'web']);
    expect(r.tree.name).toBe('three-tier');
    expect(r.warnings).toEqual([VERSION_WARNING('compose.yaml')]);
    expect(r.tree.version).toBeUndefined();
  });

  it('applies the defaults of ${VAR:-default} when nothing is set', () => {
    const tree = load(dir).tree;
    expect(envOf(serviceOf(tree, 'app'))).toEqual({ NODE_ENV: 'development', DB_HOST: 'db' });
    expect(envOf(serviceOf(tree, 'db'))).toEqual({ POSTGRES_DB: 'myapp', POSTGRES_USER: 'user', POSTGRES_PASSWORD: 'password' });
  });

  it('takes NODE_ENV from the shell', () => {
    expect(envOf(serviceOf(load(dir, { shell: { NODE_ENV: 'staging' } }).tree, 'app')).NODE_ENV).toBe('staging');
  });

  it('keeps the structure the README describes', () => {
    const tree = load(dir).tree;
    const web = serviceOf(tree, 'web');
    expect(web.image).toBe('nginx:alpine');
    expect(portsOf(web)).toEqual(['80:80/tcp']);
    expect(networksOf(web)).toEqual(['frontend']);
    expect(networksOf(serviceOf(tree, 'app'))).toEqual(['backend', 'frontend']);
    expect(buildContextOf(serviceOf(tree, 'app'), dir)).toBe(join(dir, 'app'));
    expect(Object.keys(tree.networks as object).sort()).toEqual(['backend', 'frontend']);
    expect(Object.keys(tree.volumes as object)).toEqual(['postgres_data']);
  });
});

describe('seed: three-tier-dotenv', () => {
  const dir = join(seeds, 'three-tier-dotenv');
  const tmp = mkdtempSync(join(tmpdir(), 'tsc-corpus-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('interpolates from the .env next to the compose file', () => {
    const tree = load(dir).tree;
    expect(envOf(serviceOf(tree, 'app'))).toEqual({ NODE_ENV: 'production', DB_HOST: 'db' });
    expect(envOf(serviceOf(tree, 'db'))).toEqual({ POSTGRES_DB: 'myapp', POSTGRES_USER: 'admin', POSTGRES_PASSWORD: 'secret123' });
    expect(load(dir).tree.name).toBe('three-tier-dotenv');
  });

  it('lets the shell win over .env', () => {
    expect(envOf(serviceOf(load(dir, { shell: { DB_USER: 'ops' } }).tree, 'db')).POSTGRES_USER).toBe('ops');
  });

  it('replaces .env entirely with --env-file', () => {
    const other = join(tmp, 'other.env');
    writeFileSync(other, 'DB_USER=other\n');
    const tree = load(dir, { envFiles: [other] }).tree;
    expect(envOf(serviceOf(tree, 'db'))).toEqual({ POSTGRES_DB: 'myapp', POSTGRES_USER: 'other', POSTGRES_PASSWORD: 'password' });
    expect(envOf(serviceOf(tree, 'app')).NODE_ENV).toBe('development');
  });

  it('does not put .env values in any container environment by themselves', () => {
    const tree = load(dir).tree;
    for (const name of ['web', 'app', 'db']) expect(envOf(serviceOf(tree, name)).DB_USER).toBeUndefined();
  });
});

describe('seed: anchors and x- blocks', () => {
  it('x-base-service: << puts the anchor keys into each service, local keys win', () => {
    const dir = join(seeds, 'x-base-service');
    const tree = load(dir).tree;
    for (const name of ['web', 'app', 'worker']) {
      const s = serviceOf(tree, name);
      expect(s.restart).toBe('unless-stopped');
      expect(networksOf(s)).toEqual(['frontend']);
      expect(s.logging).toEqual({ driver: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } });
    }
    expect(serviceOf(tree, 'web').image).toBe('nginx:alpine');
    expect(portsOf(serviceOf(tree, 'web'))).toEqual(['80:80/tcp']);
    expect(envOf(serviceOf(tree, 'app')).NODE_ENV).toBe('production');
    expect(envOf(serviceOf(load(dir, { shell: { NODE_ENV: 'test' } }).tree, 'app')).NODE_ENV).toBe('test');
    expect(buildContextOf(serviceOf(tree, 'worker'), dir)).toBe(join(dir, 'worker'));
    expect(commandOf(serviceOf(tree, 'worker'))).toEqual(['node', 'worker.js']);
  });

  it('x-common-env: merged environment mapping, the extension is not a service', () => {
    const tree = load(join(seeds, 'x-common-env')).tree;
    expect(Object.keys(tree.services as object).sort()).toEqual(['api', 'web']);
    expect(envOf(serviceOf(tree, 'web'))).toEqual({ NODE_ENV: 'production', LOG_LEVEL: 'info', PORT: '3000' });
    expect(envOf(serviceOf(tree, 'api'))).toEqual({ NODE_ENV: 'production', LOG_LEVEL: 'info', PORT: '4000' });
  });

  it('x-logging-deploy: both services share logging and deploy through aliases', () => {
    const tree = load(join(seeds, 'x-logging-deploy')).tree;
    for (const name of ['web', 'app']) {
      expect(serviceOf(tree, name).logging).toEqual({ driver: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } });
    }
  });
});

describe('seed: names and resources', () => {
  it('internal-network: a network keyed "internal" with internal: true', () => {
    const tree = load(join(seeds, 'internal-network')).tree;
    expect((tree.networks as Record<string, { internal: unknown }>).internal?.internal).toBe(true);
    expect(tree.name).toBe('internal-network');
  });

  it('custom-bridge-ipam: one network with its subnet, joined by both services', () => {
    const tree = load(join(seeds, 'custom-bridge-ipam')).tree;
    expect(Object.keys(tree.networks as object)).toEqual(['backend_net']);
    expect(networksOf(serviceOf(tree, 'web'))).toEqual(['backend_net']);
    expect(networksOf(serviceOf(tree, 'db'))).toEqual(['backend_net']);
    expect(JSON.stringify(tree.networks)).toContain('192.168.20.0/24');
  });

  it('private-registry: container names and values with spaces kept', () => {
    const tree = load(join(seeds, 'private-registry')).tree;
    expect(serviceOf(tree, 'registry').container_name).toBe('registry');
    expect(serviceOf(tree, 'registry-ui').container_name).toBe('registry-ui');
    expect(envOf(serviceOf(tree, 'registry')).REGISTRY_AUTH_HTPASSWD_REALM).toBe('Registry Realm');
    expect(envOf(serviceOf(tree, 'registry-ui')).REGISTRY_TITLE).toBe('My Private Registry');
    expect(envOf(serviceOf(tree, 'registry-ui')).TAGLIST_PAGE_SIZE).toBe('100');
  });

  it('kraken-p2p: version 3 is a warning only', () => {
    const r = load(join(seeds, 'kraken-p2p'));
    expect(r.warnings).toEqual([VERSION_WARNING('compose.yaml')]);
    expect(Object.keys(r.tree.services as object).sort()).toEqual(['kraken-origin', 'kraken-peer', 'kraken-tracker']);
  });

  it('restart-policies: restart kept as written', () => {
    const tree = load(join(seeds, 'restart-policies')).tree;
    expect(serviceOf(tree, 'nginx').restart).toBe('always');
    expect(serviceOf(tree, 'app').restart).toBe('on-failure:5');
  });

  it('tiered-isolation: -p and COMPOSE_PROJECT_NAME name the project', () => {
    const dir = join(seeds, 'tiered-isolation');
    expect(load(dir).tree.name).toBe('tiered-isolation');
    expect(load(dir, { projectName: 'other' }).tree.name).toBe('other');
    expect(load(dir, { shell: { COMPOSE_PROJECT_NAME: 'fromenv' } }).tree.name).toBe('fromenv');
  });
});

/** ../shared/corpus beside the repository (CI clones it there), or beside the worktree folder. */
function findAwesome(): string | undefined {
  const candidates = [process.env.TSC_SHARED_DIR, resolve(repoRoot, '..', 'shared'), resolve(repoRoot, '..', '..', 'shared')];
  for (const c of candidates) {
    if (c === undefined) continue;
    const dir = join(c, 'corpus', 'compose', 'awesome');
    if (existsSync(dir)) return dir;
  }
  return undefined;
}

const awesome = findAwesome();
if (awesome === undefined && process.env.CI === 'true') {
  describe('awesome-compose corpus', () => {
    it('is present beside the repository under CI', () => {
      throw new Error(`../shared/corpus/compose/awesome not found beside ${repoRoot}`);
    });
  });
} else if (awesome === undefined) {
  process.stderr.write(`corpus.test: ../shared/corpus/compose/awesome not found beside ${repoRoot}; its tests are not run\n`);
} else {
  describeAwesome(awesome);
}

function describeAwesome(awesome: string): void {
  describe('awesome-compose corpus', () => {
    const samples = readdirSync(awesome, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();

    it('holds the 39 samples', () => {
      expect(samples).toHaveLength(39);
    });

    it.each(samples)('%s loads and prints config as YAML and JSON', (name) => {
      const r = load(join(awesome, name));
      expect(Object.keys(r.tree.services as object).length).toBeGreaterThan(0);
      expect(r.tree.name).toBe(name === 'react-rust-postgres' ? 'react-rust-postgres' : name.toLowerCase().replace(/[^a-z0-9_-]/g, ''));
      expect(renderConfig(r.tree, 'yaml')).toContain('services:');
      expect(JSON.parse(renderConfig(r.tree, 'json'))).toHaveProperty('services');
    });

    it('wireguard: an inline " #" comment in .env is not part of the value', () => {
      const env = envOf(serviceOf(load(join(awesome, 'wireguard')).tree, 'wireguard'));
      expect(env.SERVERURL).toBe('your-domain.dyndns.com');
      expect(env.TZ).toBe('Etc/UTC');
      expect(env.SERVERPORT).toBe('51820');
    });

    it('pihole-cloudflared-DoH: an empty .env value interpolates to ""', () => {
      const env = envOf(serviceOf(load(join(awesome, 'pihole-cloudflared-DoH')).tree, 'pihole'));
      expect(env.ServerIPv6).toBe('');
      expect(env.ServerIP).toBe('192.168.178.X');
      expect(env.PIHOLE_DNS_).toBe('172.20.0.2#5054;1.1.1.1');
    });

    it('postgresql-pgadmin: a .env without a final newline', () => {
      expect(envOf(serviceOf(load(join(awesome, 'postgresql-pgadmin')).tree, 'pgadmin')).PGADMIN_DEFAULT_PASSWORD).toBe('changeit');
    });

    it('plex: a volume source from .env', () => {
      // docker compose cleans the target to /media
      expect(bindsOf(serviceOf(load(join(awesome, 'plex')).tree, 'plex'), '/')).toEqual([
        expect.stringMatching(/^\/media\/your\/plex\/path:\/media\/?$/),
      ]);
    });

    it('wasmedge-*: compose.yml is found', () => {
      expect(load(join(awesome, 'wasmedge-mysql-nginx')).files).toEqual([join(awesome, 'wasmedge-mysql-nginx', 'compose.yml')]);
    });
  });
}
