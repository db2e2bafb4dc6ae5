import { describe, expect, it } from 'vitest';

import { parseCompose } from './parse.js';
import { applyProfiles, listProfiles } from './profiles.js';
import { errorOf } from '../test/support/error-of.js';

const yaml = `services:
  app:
    image: busybox
    profiles: [development, staging]
  app-prod:
    image: busybox
    profiles: [production]
  always:
    image: busybox
  web:
    image: busybox
    profiles: [web]
    depends_on:
      db:
        condition: service_started
      metrics:
        condition: service_started
        required: false
  db:
    image: busybox
    profiles: [debug]
  metrics:
    image: busybox
    profiles: [metrics]
`;

function enabled(profiles: string[], services?: string[]): string[] {
  const [doc] = parseCompose(yaml, 'compose.yaml');
  const ctx = { positions: doc!.positions, workingDir: '/p', projectName: 'p', environment: {} };
  const tree = applyProfiles(doc!.tree, ctx, { profiles, services });
  return Object.keys(tree.services as object).sort();
}

describe('applyProfiles', () => {
  it.each([
    [[], ['always']],
    [['development'], ['always', 'app']],
    [['staging'], ['always', 'app']],
    [['production'], ['always', 'app-prod']],
    [['development', 'production'], ['always', 'app', 'app-prod']],
    [['web', 'debug'], ['always', 'db', 'web']],
    [['web', 'debug', 'metrics'], ['always', 'db', 'metrics', 'web']],
    [['*'], ['always', 'app', 'app-prod', 'db', 'metrics', 'web']],
    [['nothing-uses-this'], ['always']],
  ])('profiles %j enable %j', (profiles, expected) => {
    expect(enabled(profiles)).toEqual(expected);
  });

  it('enables a service named on the command line, with its required dependencies', () => {
    expect(enabled([], ['app-prod'])).toEqual(['app-prod']);
    expect(enabled([], ['web'])).toEqual(['db', 'web']);
    expect(enabled(['metrics'], ['web'])).toEqual(['db', 'metrics', 'web']);
  });

  it('drops a disabled dependency that is not required', () => {
    const [doc] = parseCompose(yaml, 'compose.yaml');
    const ctx = { positions: doc!.positions, workingDir: '/p', projectName: 'p', environment: {} };
    const tree = applyProfiles(doc!.tree, ctx, { profiles: ['web', 'debug'] });
    expect((tree.services as Record<string, { depends_on: object }>).web?.depends_on).toEqual({ db: { condition: 'service_started' } });
  });

  it('rejects an enabled service depending on a disabled one', () => {
    expect(errorOf(() => enabled(['web']))).toBe(
      'compose.yaml:14:7 services.web.depends_on.db: service "web" depends on service "db", which is disabled by its profiles (debug)\nhint: enable it with --profile debug, or mark the dependency required: false',
    );
  });

  it('rejects an unknown service named on the command line', () => {
    expect(errorOf(() => enabled([], ['nope']))).toBe('no such service: nope');
  });

  it('lists every profile', () => {
    const [doc] = parseCompose(yaml, 'compose.yaml');
    expect(listProfiles(doc!.tree)).toEqual(['debug', 'development', 'metrics', 'production', 'staging', 'web']);
  });
});
