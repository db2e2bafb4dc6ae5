import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { TscError } from '../../lib/errors.js';
import { loadProject } from '../../schema/load.js';
import type { Project } from '../../schema/project.js';
import { createChangeBatcher } from './change-batcher.js';
import { planBatch } from './plan-batch.js';
import { compileWatchRules, ruleTakes, shouldWatchDir } from './watch-rules.js';

const dir = mkdtempSync(join(tmpdir(), 'tsc-watch-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function project(yaml: string): Project {
  const file = join(dir, `compose-${++n}.yaml`);
  writeFileSync(file, yaml);
  return loadProject({ cwd: dir, files: [file], projectName: 'p' }).project;
}

const SEED = [
  'services:',
  '  web:',
  '    build: ./app',
  '    develop:',
  '      watch:',
  '        - { path: ./app/src, target: /var/www, action: sync, ignore: ["*.tmp", "cache/"] }',
  '        - { path: ./app/package.json, action: rebuild }',
  '        - { path: ./app/config, target: /etc/web, action: sync+restart }',
  '        - path: ./app/hooks',
  '          target: /hooks',
  '          action: sync+exec',
  '          exec: { command: kill -HUP 1 }',
  '  db:',
  '    image: busybox',
  '',
].join('\n');

/** The error as the CLI prints it. */
function caught(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof TscError) return e.format();
    throw e;
  }
  throw new Error('did not throw');
}

const noIgnoreFile = { readDockerignore: () => undefined };

describe('compileWatchRules', () => {
  it('keeps every rule of the services that have some, with absolute paths and targets', () => {
    const { rules, warnings } = compileWatchRules(project(SEED), noIgnoreFile);
    expect(warnings).toEqual([]);
    expect(rules.map((r) => [r.service, r.action, r.path, r.target])).toEqual([
      ['web', 'sync', `${dir}/app/src`, '/var/www'],
      ['web', 'rebuild', `${dir}/app/package.json`, undefined],
      ['web', 'sync+restart', `${dir}/app/config`, '/etc/web'],
      ['web', 'sync+exec', `${dir}/app/hooks`, '/hooks'],
    ]);
    expect(rules[3]?.exec?.command).toEqual(['kill', '-HUP', '1']);
  });

  it('lists the services that follow a watched one (depends_on with restart: true)', () => {
    const yaml = `${SEED}  worker:\n    image: busybox\n    depends_on: { web: { condition: service_started, restart: true } }\n  cron:\n    image: busybox\n    depends_on: [web]\n`;
    expect(compileWatchRules(project(yaml), noIgnoreFile).restartWith).toEqual({ web: ['worker'] });
  });

  it('says which rule lacks a target, or lies outside the context', () => {
    const noTarget = 'services:\n  web:\n    image: busybox\n    develop:\n      watch:\n        - { path: ./src, action: sync }\n';
    expect(caught(() => compileWatchRules(project(noTarget), noIgnoreFile))).toBe(
      `services.web.develop.watch[0].target: action "sync" needs a target (the path in the container to sync ${dir}/src to)`,
    );
    const outside = 'services:\n  web:\n    build: ./app\n    develop:\n      watch:\n        - { path: ./other, target: /x, action: sync }\n';
    expect(caught(() => compileWatchRules(project(outside), noIgnoreFile))).toBe(
      `services.web.develop.watch[0].path: path ${dir}/other is outside the context of service web (${dir}/app)\nhint: watch paths must lie inside the service's build context`,
    );
    // With the loader's positions, the message says where the rule is written.
    const file = join(dir, 'positions.yaml');
    writeFileSync(file, noTarget);
    const loaded = loadProject({ cwd: dir, files: [file], projectName: 'p' });
    expect(caught(() => compileWatchRules(loaded.project, { ...noIgnoreFile, position: (p) => loaded.positions.nearest(p) }))).toBe(
      `positions.yaml:6:11 services.web.develop.watch[0].target: action "sync" needs a target (the path in the container to sync ${dir}/src to)`,
    );
    const rebuildNoBuild = 'services:\n  web:\n    image: busybox\n    develop:\n      watch:\n        - { path: ./a, action: rebuild }\n';
    expect(caught(() => compileWatchRules(project(rebuildNoBuild), noIgnoreFile))).toBe(
      'services.web.develop.watch[0].action: can\'t watch with action "rebuild" on service web without a build context',
    );
    expect(() => compileWatchRules(project('services:\n  web:\n    image: busybox\n'), noIgnoreFile)).toThrow(
      "none of the selected services is configured for watch, consider setting a 'develop' section",
    );
    expect(() => compileWatchRules(project(SEED), { ...noIgnoreFile, services: ['nope'] })).toThrow('no such service: nope');
  });

  it('skips a sync rule inside a bind mount, and a bind mount inside a rule, with a warning', () => {
    const yaml = [
      'services:',
      '  web:',
      '    image: busybox',
      '    volumes: ["./src/vendor:/vendor", "./data:/data"]',
      '    develop:',
      '      watch:',
      '        - { path: ./src, target: /app, action: sync }',
      '        - { path: ./data/seed, target: /seed, action: sync }',
      '',
    ].join('\n');
    const { rules, warnings } = compileWatchRules(project(yaml), noIgnoreFile);
    expect(rules).toHaveLength(1);
    expect(warnings).toEqual([
      `path '${dir}/src/vendor' is bind mounted in service web: changes below it are not synced by services.web.develop.watch[0]`,
      `path '${dir}/data/seed' also declared by a bind mount volume, this path won't be monitored!`,
    ]);
    const rule = rules[0];
    if (rule === undefined) throw new Error('no rule');
    expect(ruleTakes(rule, `${dir}/src/vendor/lib.js`)).toBeUndefined();
    expect(ruleTakes(rule, `${dir}/src/main.js`)).toEqual({ containerPath: '/app/main.js' });
  });
});

describe('ruleTakes and shouldWatchDir', () => {
  it('maps host paths to the target, applying ignore, include, the context .dockerignore and editor files', () => {
    const yaml = [
      'services:',
      '  web:',
      '    build: ./app',
      '    develop:',
      '      watch:',
      '        - { path: ./app/src, target: /var/www, action: sync, ignore: ["*.tmp", "cache/"] }',
      '        - { path: ./app/conf, target: /etc/web, action: sync, include: ["*.conf"] }',
      '',
    ].join('\n');
    const { rules } = compileWatchRules(project(yaml), { readDockerignore: (d) => (d === `${dir}/app` ? 'src/secret*\n!src/secret-ok\n' : undefined) });
    const [src, conf] = rules;
    if (src === undefined || conf === undefined) throw new Error('rules missing');
    expect(ruleTakes(src, `${dir}/app/src`)).toEqual({ containerPath: '/var/www' });
    expect(ruleTakes(src, `${dir}/app/src/a/index.html`)).toEqual({ containerPath: '/var/www/a/index.html' });
    expect(ruleTakes(src, `${dir}/app/src/x.tmp`)).toBeUndefined();
    expect(ruleTakes(src, `${dir}/app/src/cache/blob`)).toBeUndefined();
    expect(ruleTakes(src, `${dir}/app/src/secret.key`)).toBeUndefined();
    expect(ruleTakes(src, `${dir}/app/src/secret-ok`)).toEqual({ containerPath: '/var/www/secret-ok' });
    expect(ruleTakes(src, `${dir}/app/src/.index.html.swp`)).toBeUndefined();
    expect(ruleTakes(src, `${dir}/app/src/.git/HEAD`)).toBeUndefined();
    expect(ruleTakes(src, `${dir}/app/srcx/a`)).toBeUndefined();
    expect(ruleTakes(conf, `${dir}/app/conf/a.conf`)).toEqual({ containerPath: '/etc/web/a.conf' });
    expect(ruleTakes(conf, `${dir}/app/conf/a.txt`)).toBeUndefined();
    expect(ruleTakes(conf, `${dir}/app/conf/sub`, true)).toEqual({ containerPath: '/etc/web/sub' });

    expect(shouldWatchDir(rules, `${dir}/app`)).toBe(true);
    expect(shouldWatchDir(rules, `${dir}/app/src/a`)).toBe(true);
    expect(shouldWatchDir(rules, `${dir}/app/src/cache`)).toBe(false);
    expect(shouldWatchDir(rules, `${dir}/app/src/.git`)).toBe(false);
    expect(shouldWatchDir(rules, `${dir}/app/other`)).toBe(false);
  });
});

describe('planBatch', () => {
  const { rules } = compileWatchRules(project(SEED), noIgnoreFile);

  it('syncs each path once, in the order last seen, and counts the changes', () => {
    const plan = planBatch(rules, [{ path: `${dir}/app/src/a` }, { path: `${dir}/app/src/b` }, { path: `${dir}/app/src/a` }, { path: `${dir}/app/src/x.tmp` }]);
    expect(plan).toEqual([
      {
        service: 'web',
        changes: 2,
        rebuild: false,
        sync: [
          { source: `${dir}/app/src/b`, target: '/var/www/b' },
          { source: `${dir}/app/src/a`, target: '/var/www/a' },
        ],
        restart: false,
        exec: [],
      },
    ]);
  });

  it('restarts after a sync+restart rule fires, runs the exec hook of sync+exec', () => {
    const [plan] = planBatch(rules, [{ path: `${dir}/app/config/web.conf` }, { path: `${dir}/app/hooks/h` }]);
    expect(plan?.restart).toBe(true);
    expect(plan?.sync.map((s) => s.target)).toEqual(['/etc/web/web.conf', '/hooks/h']);
    expect(plan?.exec).toEqual([{ command: ['kill', '-HUP', '1'] }]);
  });

  it('lets a rebuild replace the sync of the same batch', () => {
    const [plan] = planBatch(rules, [{ path: `${dir}/app/src/a` }, { path: `${dir}/app/package.json` }]);
    expect(plan).toMatchObject({ service: 'web', changes: 2, rebuild: true, sync: [], restart: false, exec: [] });
    expect(planBatch(rules, [{ path: `${dir}/elsewhere` }])).toEqual([]);
  });
});

describe('createChangeBatcher', () => {
  it('is due after the quiet period, or at the cap under a steady stream of events', () => {
    const b = createChangeBatcher<string>({ quietMs: 20, maxDelayMs: 100 });
    expect(b.dueAt()).toBeUndefined();
    b.add('a', 1000);
    expect(b.dueAt()).toBe(1020);
    expect(b.take(1019)).toBeUndefined();
    b.add('b', 1010);
    expect(b.dueAt()).toBe(1030);
    expect(b.take(1030)).toEqual(['a', 'b']);
    expect(b.dueAt()).toBeUndefined();
    for (let t = 2000; t <= 2090; t += 10) b.add(String(t), t);
    expect(b.dueAt()).toBe(2100);
    expect(b.take(2100)).toHaveLength(10);
  });
});
