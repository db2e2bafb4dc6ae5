import { describe, expect, it } from 'vitest';

import { TscError } from '../lib/errors.js';
import { normalizeProjectName, resolveProjectName } from './project-name.js';

describe('project name', () => {
  it.each([
    ['myapp', 'myapp'],
    ['My App', 'myapp'],
    ['three-tier_v2', 'three-tier_v2'],
    ['__x', 'x'],
    ['-x.y', 'xy'],
    ['Über.App', 'berapp'],
  ])('normalizes %j to %j', (input, expected) => {
    expect(normalizeProjectName(input)).toBe(expected);
  });

  it('prefers -p, then COMPOSE_PROJECT_NAME, then name:, then the directory', () => {
    const fromFile = { name: 'From File', file: 'compose.yaml' };
    expect(resolveProjectName({ flag: 'cli', env: 'env', fromFile, workingDir: '/x/Dir' })).toBe('cli');
    expect(resolveProjectName({ env: 'env', fromFile, workingDir: '/x/Dir' })).toBe('env');
    expect(resolveProjectName({ fromFile, workingDir: '/x/Dir' })).toBe('fromfile');
    expect(resolveProjectName({ workingDir: '/x/My.Dir' })).toBe('mydir');
    expect(resolveProjectName({ fromFile: { name: '', file: 'c' }, workingDir: '/x/d' })).toBe('d');
  });

  it.each([
    [{ flag: 'My App', workingDir: '/x' }, 'invalid project name "My App" (from the -p option): must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number'],
    [{ env: '_x', workingDir: '/x' }, 'invalid project name "_x" (from COMPOSE_PROJECT_NAME): must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number'],
    [{ workingDir: '/x/___' }, 'project name must not be empty: the directory name "___" has no usable character\nhint: name the project with -p NAME, COMPOSE_PROJECT_NAME or a top-level name: in the compose file'],
  ])('rejects %j', (src, message) => {
    let err: unknown;
    try {
      resolveProjectName(src);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TscError);
    expect((err as TscError).format()).toBe(message);
    expect((err as TscError).code).toBe('ERR_PROJECT_NAME');
  });
});
