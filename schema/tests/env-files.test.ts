import { describe, expect, it } from 'vitest';

import { isTscError } from '../../lib/errors.js';
import { resolveEnvFiles } from '../env-files.js';
import { WORKDIR, loadModel, parseYaml } from './helpers.js';

const files: Record<string, Record<string, string>> = {
  [`${WORKDIR}/a.env`]: { A: 'from-a', SHARED: 'a', BARE: 'file' },
  [`${WORKDIR}/b.env`]: { SHARED: 'b' },
};
const read = (path: string): Record<string, string> | undefined => files[path];

describe('env_file contents', () => {
  it('go into environment: later files win, the service\'s own entries win over files', () => {
    const yaml = 'services:\n  app:\n    image: a\n    env_file: [a.env, b.env]\n    environment: [A=own, BARE, UNSET]\n';
    const { tree } = loadModel(yaml);
    const { positions } = parseYaml(yaml);
    const out = resolveEnvFiles(tree, { positions, workingDir: WORKDIR, projectName: 'proj', environment: {} }, read);
    const app = (out.services as Record<string, Record<string, unknown>>).app;
    expect(app?.environment).toEqual({ A: 'own', SHARED: 'b', BARE: 'file', UNSET: null });
    expect(app?.env_file).toEqual([
      { path: `${WORKDIR}/a.env`, required: true },
      { path: `${WORKDIR}/b.env`, required: true },
    ]);
  });

  it('drops env_file when asked, as docker compose config does', () => {
    const yaml = 'services:\n  app:\n    image: a\n    env_file: b.env\n';
    const { tree } = loadModel(yaml);
    const { positions } = parseYaml(yaml);
    const out = resolveEnvFiles(tree, { positions, workingDir: WORKDIR, projectName: 'p', environment: {} }, read, { discard: true });
    expect((out.services as Record<string, unknown>).app).toEqual({ image: 'a', environment: { SHARED: 'b' }, networks: { default: null } });
  });

  it('skips a missing optional file and rejects a missing required one, at its entry', () => {
    const yaml = 'services:\n  app:\n    image: a\n    env_file:\n      - path: opt.env\n        required: false\n      - gone.env\n';
    const { tree } = loadModel(yaml);
    const { positions } = parseYaml(yaml);
    let error: unknown;
    try {
      resolveEnvFiles(tree, { positions, workingDir: WORKDIR, projectName: 'p', environment: {} }, read);
    } catch (e) {
      error = e;
    }
    expect(isTscError(error, 'ERR_COMPOSE_NOT_FOUND') && error.format()).toBe(
      `compose.yaml:7:9 services.app.env_file[1]: env file ${WORKDIR}/gone.env not found`,
    );
  });
});
