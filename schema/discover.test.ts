import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import type { TscError } from '../lib/errors.js';
import { discoverFiles, envDirectory } from './discover.js';

const root = mkdtempSync(join(tmpdir(), 'tsc-discover-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function project(name: string, files: string[]): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const f of files) writeFileSync(join(dir, f), 'services: {}\n');
  return dir;
}

describe('discoverFiles', () => {
  it.each([
    [['compose.yaml'], ['compose.yaml']],
    [['compose.yml'], ['compose.yml']],
    [['docker-compose.yml'], ['docker-compose.yml']],
    [['docker-compose.yaml'], ['docker-compose.yaml']],
    [['docker-compose.yml', 'docker-compose.override.yml'], ['docker-compose.yml', 'docker-compose.override.yml']],
    [['compose.yaml', 'compose.override.yaml'], ['compose.yaml', 'compose.override.yaml']],
    [['compose.yaml', 'docker-compose.override.yaml'], ['compose.yaml', 'docker-compose.override.yaml']],
    [['compose.yaml', 'docker-compose.yml'], ['compose.yaml']],
  ])('finds %j → %j', (present, expected) => {
    const dir = project(`p-${present.join('+')}`, present);
    const r = discoverFiles({ files: [], cwd: dir, environment: {} });
    expect(r.files).toEqual(expected.map((f) => join(dir, f)));
    expect(r.workingDir).toBe(dir);
  });

  it('warns when several default names are present', () => {
    const dir = project('several', ['compose.yaml', 'docker-compose.yml']);
    expect(discoverFiles({ files: [], cwd: dir, environment: {} }).warnings).toEqual([
      `Found multiple config files with supported names: ${join(dir, 'compose.yaml')}, ${join(dir, 'docker-compose.yml')}\nUsing ${join(dir, 'compose.yaml')}`,
    ]);
  });

  it('searches parent directories', () => {
    const dir = project('parent', ['compose.yaml']);
    const sub = join(dir, 'a', 'b');
    mkdirSync(sub, { recursive: true });
    const r = discoverFiles({ files: [], cwd: sub, environment: {} });
    expect(r.files).toEqual([join(dir, 'compose.yaml')]);
    expect(r.workingDir).toBe(dir);
  });

  it('takes -f files in order, relative to the current directory, and - for stdin', () => {
    const dir = project('dash-f', ['base.yml', 'other.yml']);
    const r = discoverFiles({ files: ['dash-f/base.yml', '-', join(dir, 'other.yml')], cwd: root, environment: {} });
    expect(r.files).toEqual([join(dir, 'base.yml'), '-', join(dir, 'other.yml')]);
    expect(r.workingDir).toBe(dir);
    expect(discoverFiles({ files: ['-'], cwd: root, environment: {} }).workingDir).toBe(root);
  });

  it('reads COMPOSE_FILE with COMPOSE_PATH_SEPARATOR', () => {
    const dir = project('compose-file', ['a.yml', 'b.yml']);
    expect(discoverFiles({ files: [], cwd: dir, environment: { COMPOSE_FILE: 'a.yml:b.yml' } }).files).toEqual([
      join(dir, 'a.yml'),
      join(dir, 'b.yml'),
    ]);
    const env = { COMPOSE_FILE: 'b.yml;a.yml', COMPOSE_PATH_SEPARATOR: ';' };
    expect(discoverFiles({ files: [], cwd: dir, environment: env }).files).toEqual([join(dir, 'b.yml'), join(dir, 'a.yml')]);
    // -f wins over COMPOSE_FILE
    expect(discoverFiles({ files: ['a.yml'], cwd: dir, environment: { COMPOSE_FILE: 'b.yml' } }).files).toEqual([
      join(dir, 'a.yml'),
    ]);
  });

  it('uses --project-directory as the working directory and the place to search', () => {
    const dir = project('projdir', ['compose.yaml']);
    const r = discoverFiles({ files: [], projectDirectory: 'projdir', cwd: root, environment: {} });
    expect(r).toEqual({ files: [join(dir, 'compose.yaml')], workingDir: dir, warnings: [] });
    const other = project('projdir-other', ['x.yml']);
    expect(discoverFiles({ files: [join(other, 'x.yml')], projectDirectory: dir, cwd: root, environment: {} }).workingDir).toBe(dir);
  });

  it('says where .env is read from', () => {
    expect(envDirectory({ files: [], cwd: '/a' })).toBe('/a');
    expect(envDirectory({ files: ['-', 'x/c.yml'], cwd: '/a' })).toBe('/a/x');
    expect(envDirectory({ files: ['x/c.yml'], projectDirectory: '../p', cwd: '/a' })).toBe('/p');
  });

  it('fails clearly when nothing is found or a named file is missing', () => {
    const empty = project('empty', []);
    let err: unknown;
    try {
      discoverFiles({ files: [], cwd: empty, environment: {} });
    } catch (e) {
      err = e;
    }
    expect((err as TscError).format()).toMatch(/^no configuration file provided: not found\nhint: looked for compose\.yaml, compose\.yml, docker-compose\.yml, docker-compose\.yaml in /);
    err = undefined;
    try {
      discoverFiles({ files: ['nope.yml'], cwd: empty, environment: {} });
    } catch (e) {
      err = e;
    }
    expect((err as TscError).format()).toBe(`${join(empty, 'nope.yml')}: open ${join(empty, 'nope.yml')}: no such file or directory`);
  });
});
