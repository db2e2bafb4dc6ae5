import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { bindsOf, buildContextOf, commandOf, envOf, serviceOf } from '../test/support/compose-shapes.js';
import { loadProject, type LoadOptions } from './load.js';
import { errorOf } from '../test/support/error-of.js';

const root = mkdtempSync(join(tmpdir(), 'tsc-load-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

/** A fresh project directory holding `files` (path → content). */
function project(files: Record<string, string>): string {
  const dir = join(root, `p${++counter}`);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

function load(dir: string, opts: Partial<LoadOptions> = {}) {
  return loadProject({ cwd: dir, shell: {}, ...opts });
}

describe('loadProject', () => {
  it('puts name first and takes it from a top-level name:, interpolated', () => {
    const dir = project({ 'compose.yaml': 'services:\n  web:\n    image: x\nname: ${APP:-my_app}\n' });
    const r = load(dir);
    expect(Object.keys(r.tree)[0]).toBe('name');
    expect(r.tree.name).toBe('my_app');
    expect(r.project.name).toBe('my_app');
    expect(load(dir, { shell: { APP: 'other' } }).tree.name).toBe('other');
    expect(load(dir, { projectName: 'cli' }).tree.name).toBe('cli');
  });

  it('offers the project name to interpolation as COMPOSE_PROJECT_NAME', () => {
    const dir = project({ 'compose.yaml': 'name: ${N:-named}\nservices:\n  web:\n    image: "img-${COMPOSE_PROJECT_NAME}"\n' });
    expect(serviceOf(load(dir).tree, 'web').image).toBe('img-named');
    expect(serviceOf(load(dir, { projectName: 'cli' }).tree, 'web').image).toBe('img-cli');
    expect(serviceOf(load(dir, { shell: { N: 'shell' } }).tree, 'web').image).toBe('img-shell');
  });

  it('reads COMPOSE_FILE and COMPOSE_PROJECT_NAME from .env', () => {
    const dir = project({
      '.env': 'COMPOSE_FILE=a.yml:b.yml\nCOMPOSE_PROJECT_NAME=fromdotenv\n',
      'a.yml': 'services:\n  web:\n    image: a\n',
      'b.yml': 'services:\n  web:\n    image: b\n',
    });
    const r = load(dir);
    expect(r.files).toEqual([join(dir, 'a.yml'), join(dir, 'b.yml')]);
    expect(r.tree.name).toBe('fromdotenv');
    expect(serviceOf(r.tree, 'web').image).toBe('b');
  });

  it('reads -f - from standard input, in the current directory', () => {
    const dir = project({});
    const r = load(dir, { files: ['-'], stdin: () => 'services:\n  web:\n    image: from-stdin\n' });
    expect(r.tree.name).toBe(`p${counter}`);
    expect(serviceOf(r.tree, 'web').image).toBe('from-stdin');
  });

  it('leaves ${...} alone with interpolation off', () => {
    const dir = project({ 'compose.yaml': 'services:\n  web:\n    image: "nginx:${TAG:?}"\n' });
    expect(serviceOf(load(dir, { interpolate: false }).tree, 'web').image).toBe('nginx:${TAG:?}');
    expect(errorOf(() => load(dir))).toBe('compose.yaml:3:5 services.web.image: required variable TAG is missing a value');
  });

  it('warns once per unset variable', () => {
    const dir = project({ 'compose.yaml': 'services:\n  web:\n    image: $IMG\n    command: echo $IMG $OTHER\n' });
    expect(load(dir).warnings).toEqual([
      'The "IMG" variable is not set. Defaulting to a blank string.',
      'The "OTHER" variable is not set. Defaulting to a blank string.',
    ]);
  });

  it('merges several documents of one file in order', () => {
    const dir = project({ 'compose.yaml': 'services:\n  web:\n    image: a\n---\nservices:\n  web:\n    restart: always\n' });
    const web = serviceOf(load(dir).tree, 'web');
    expect([web.image, web.restart]).toEqual(['a', 'always']);
  });

  it('locates an error in an override file at its own line', () => {
    const dir = project({
      'compose.yaml': 'services:\n  web:\n    image: a\n',
      'compose.override.yaml': '\n\nservices:\n  web:\n    environment:\n      - X=${X:?X is needed}\n',
    });
    expect(errorOf(() => load(dir))).toBe(
      'compose.override.yaml:6:9 services.web.environment[0]: required variable X is missing a value: X is needed',
    );
  });

  it('names the file of a YAML error when run from another directory', () => {
    const dir = project({ 'sub/compose.yaml': 'services:\n  web:\n    image: a\n    image: b\n' });
    expect(errorOf(() => load(dir, { files: ['sub/compose.yaml'] }))).toBe(
      'sub/compose.yaml:4:5 services.web.image: mapping key "image" already defined at line 3',
    );
  });
});

describe('extends', () => {
  it('extends a service of the same file, own keys winning', () => {
    const dir = project({
      'compose.yaml': [
        'services:',
        '  base:',
        '    image: base',
        '    environment: [A=1, B=1]',
        '    command: [base]',
        '  web:',
        '    extends: base',
        '    environment: [B=2]',
        '    command: [web]',
        '  api:',
        '    extends: {service: web}',
        '',
      ].join('\n'),
    });
    const tree = load(dir).tree;
    for (const name of ['web', 'api']) {
      const s = serviceOf(tree, name);
      expect(s.image).toBe('base');
      expect(envOf(s)).toEqual({ A: '1', B: '2' });
      expect(commandOf(s)).toEqual(['web']);
      expect(s.extends).toBeUndefined();
    }
  });

  it('extends a service of another file, rebasing its relative paths', () => {
    const dir = project({
      'compose.yaml': 'services:\n  web:\n    extends:\n      file: common/base.yaml\n      service: app\n    image: web\nvolumes:\n  named: {}\n',
      'common/base.yaml': 'services:\n  app:\n    build: ./app\n    volumes: ["./data:/data", "named:/named"]\n    env_file: app.env\n',
      'common/app.env': 'FROM_BASE=yes\n',
    });
    const web = serviceOf(load(dir).tree, 'web');
    expect(web.image).toBe('web');
    expect(buildContextOf(web, dir)).toBe(join(dir, 'common', 'app'));
    expect(bindsOf(web, dir)).toEqual([`${join(dir, 'common', 'data')}:/data`]);
    // the env file was found next to base.yaml; docker compose prints its contents, not the file
    expect(web.environment).toEqual({ FROM_BASE: 'yes' });
    expect(web.env_file).toBeUndefined();
  });

  it('names the cycle', () => {
    const dir = project({ 'compose.yaml': 'services:\n  a:\n    extends: b\n  b:\n    extends: a\n' });
    expect(errorOf(() => load(dir))).toBe(
      'compose.yaml:3:5 services.a.extends: circular reference in extends: compose.yaml:a -> compose.yaml:b -> compose.yaml:a',
    );
  });

  it('names a missing base service', () => {
    const dir = project({ 'compose.yaml': 'services:\n  a:\n    image: x\n    extends: nope\n' });
    expect(errorOf(() => load(dir))).toBe('compose.yaml:4:5 services.a.extends: cannot extend service "a": service "nope" not found');
  });
});

describe('include', () => {
  it('brings in another project with its own directory and .env', () => {
    const dir = project({
      'compose.yaml': 'include:\n  - sub/compose.yaml\nservices:\n  web:\n    image: web\n    depends_on: [db]\n',
      'sub/compose.yaml': 'services:\n  db:\n    image: "postgres:${PG:-15}"\n    volumes: ["./data:/data"]\nvolumes:\n  dbdata: {}\n',
      'sub/.env': 'PG=16\n',
    });
    const tree = load(dir).tree;
    expect(Object.keys(tree.services as object).sort()).toEqual(['db', 'web']);
    const db = serviceOf(tree, 'db');
    expect(db.image).toBe('postgres:16');
    expect(Object.keys(tree.volumes as object)).toEqual(['dbdata']);
  });

  it('takes the env_file of an include, the shell still winning', () => {
    const dir = project({
      'compose.yaml': 'include:\n  - path: [lib/a.yaml, lib/b.yaml]\n    env_file: lib/vars.env\nservices: {}\n',
      'lib/a.yaml': 'services:\n  db:\n    image: "pg:${PG}"\n    environment: ["WHO=${WHO}"]\n',
      'lib/b.yaml': 'services:\n  db:\n    restart: always\n',
      'lib/vars.env': 'PG=17\nWHO=file\n',
    });
    const db = serviceOf(load(dir, { shell: { WHO: 'shell' } }).tree, 'db');
    expect([db.image, db.restart, envOf(db).WHO]).toEqual(['pg:17', 'always', 'shell']);
  });

  it('rejects a conflicting definition', () => {
    const dir = project({
      'compose.yaml': 'include:\n  - path: sub/compose.yaml\nservices:\n  db:\n    image: mine\n',
      'sub/compose.yaml': 'services:\n  db:\n    image: theirs\n',
    });
    expect(errorOf(() => load(dir))).toBe('compose.yaml:4:3 services.db: imported compose file sub/compose.yaml defines conflicting service db');
  });

  it('names an include cycle', () => {
    const dir = project({
      'compose.yaml': 'include: [a/compose.yaml]\nservices: {}\n',
      'a/compose.yaml': 'include: [../compose.yaml]\nservices: {}\n',
    });
    expect(errorOf(() => load(dir))).toBe(
      'a/compose.yaml:1:11 include[0]: include cycle detected: compose.yaml -> a/compose.yaml -> compose.yaml',
    );
  });
});

describe('label_file', () => {
  it('reads KEY=VALUE files relative to the project directory, later files and then labels: winning; config drops label_file', () => {
    const dir = project({
      'compose.yaml': [
        'services:',
        '  web:',
        '    image: x',
        '    label_file: [conf/base.labels, ./extra.labels]',
        '    labels:',
        '      com.example.owner: compose',
        '  one:',
        '    image: x',
        '    label_file: conf/base.labels',
        '',
      ].join('\n'),
      'conf/base.labels': '# team labels\ncom.example.tier=web\ncom.example.owner=file\nexport com.example.quoted="a b"\nTEAM=core\n',
      'extra.labels': 'com.example.tier=front\ncom.example.ref=${TEAM}!\n',
    });
    const r = load(dir);
    const services = r.tree.services as Record<string, Record<string, unknown>>;
    expect(services.web?.labels).toEqual({
      'com.example.owner': 'compose',
      'com.example.quoted': 'a b',
      'com.example.ref': 'core!',
      'com.example.tier': 'front',
      TEAM: 'core',
    });
    expect(services.web).not.toHaveProperty('label_file');
    expect(services.one?.labels).toEqual({ 'com.example.tier': 'web', 'com.example.owner': 'file', 'com.example.quoted': 'a b', TEAM: 'core' });
    expect(r.project.services.one?.labels).toEqual(services.one?.labels);
  });

  it('names a missing label file at its entry', () => {
    const dir = project({ 'compose.yaml': 'services:\n  web:\n    image: x\n    label_file:\n      - gone.labels\n' });
    expect(errorOf(() => load(dir))).toBe(`compose.yaml:5:9 services.web.label_file[0]: label file ${join(dir, 'gone.labels')} not found`);
  });

  it('takes an extended service\'s label_file relative to that file', () => {
    const dir = project({
      'compose.yaml': 'services:\n  web:\n    extends: {file: lib/base.yaml, service: base}\n',
      'lib/base.yaml': 'services:\n  base:\n    image: x\n    label_file: base.labels\n',
      'lib/base.labels': 'from=lib\n',
    });
    expect((load(dir).tree.services as Record<string, Record<string, unknown>>).web?.labels).toEqual({ from: 'lib' });
  });
});

describe('env_file', () => {
  it('goes into environment (files in order, environment: winning, ${VAR} from the project), and config drops env_file', () => {
    const dir = project({
      'compose.yaml': [
        'services:',
        '  web:',
        '    image: x',
        '    env_file:',
        '      - a.env',
        '      - path: raw.env',
        '        format: raw',
        '      - path: missing.env',
        '        required: false',
        '    environment:',
        '      OWN: compose',
        '      SHARED: compose',
        '',
      ].join('\n'),
      'a.env': 'SHARED=file\nGREETING="hello ${WHO}"\nOWN=file\n',
      'raw.env': 'RAW=${NOT_EXPANDED} "kept"\n',
      '.env': 'WHO=world\n',
    });
    const web = serviceOf(load(dir).tree, 'web');
    expect(web.environment).toEqual({ SHARED: 'compose', GREETING: 'hello world', OWN: 'compose', RAW: '${NOT_EXPANDED} "kept"' });
    expect(web.env_file).toBeUndefined();
    expect(load(dir).project.services.web?.environment).toEqual(web.environment);
  });

  it('names a missing required env file at its entry', () => {
    const dir = project({ 'compose.yaml': 'services:\n  web:\n    image: x\n    env_file: gone.env\n' });
    expect(errorOf(() => load(dir))).toBe(`compose.yaml:4:5 services.web.env_file[0]: env file ${join(dir, 'gone.env')} not found`);
  });
});
