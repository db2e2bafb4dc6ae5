import { describe, expect, it } from 'vitest';

import { packageImports, packageName, preloads, withPreloads, type ImportsMeta } from './bundle-plan.js';

const meta: ImportsMeta = {
  inputs: {
    'dist/cli/run.js': { imports: [{ path: 'dist/cli/program.js', kind: 'import-statement' }, { path: 'node:fs', kind: 'import-statement', external: true }] },
    'dist/cli/program.js': {
      imports: [
        { path: 'commander', kind: 'import-statement', external: true },
        { path: 'dist/cli/progress/reporter.js', kind: 'import-statement' },
        { path: 'dist/cli/commands/watch.js', kind: 'dynamic-import' },
      ],
    },
    'dist/cli/progress/reporter.js': { imports: [{ path: 'dist/cli/progress/tty-view.js', kind: 'dynamic-import' }] },
    'dist/cli/progress/tty-view.js': {
      imports: [
        { path: 'ink', kind: 'import-statement', external: true },
        { path: 'react/jsx-runtime', kind: 'import-statement', external: true },
        { path: 'dist/cli/progress/tty-model.js', kind: 'import-statement' },
      ],
    },
    'dist/cli/progress/tty-model.js': { imports: [{ path: 'dist/cli/progress/tty-view.js', kind: 'import-statement' }] },
    'dist/cli/commands/watch.js': { imports: [{ path: 'dist/reconciler/watch-session.js', kind: 'import-statement' }] },
    'dist/reconciler/watch-session.js': { imports: [{ path: 'chokidar', kind: 'import-statement', external: true }, { path: '<runtime>', kind: 'import-statement', external: true }] },
  },
};
const esmOnly = (s: string): boolean => s === 'ink' || s === 'chokidar';

describe('the CLI bundle plan', () => {
  it('names the package of a specifier', () => {
    expect(packageName('react/jsx-runtime')).toBe('react');
    expect(packageName('@grpc/grpc-js/build/src')).toBe('@grpc/grpc-js');
    expect([...packageImports(meta, (s) => s.startsWith('node:'))].sort()).toEqual(['chokidar', 'commander', 'ink', 'react/jsx-runtime']);
  });

  it('loads an ESM-only package before each lazily imported module that reaches it, through cycles and indirection', () => {
    expect(preloads(meta, 'dist/cli/run.js', esmOnly)).toEqual(
      new Map([
        ['dist/cli/commands/watch.js', ['chokidar']],
        ['dist/cli/progress/tty-view.js', ['ink']],
      ]),
    );
  });

  it('refuses an ESM-only package the entry reaches without a dynamic import', () => {
    expect(() => preloads(meta, 'dist/cli/progress/tty-model.js', esmOnly)).toThrow(/reaches the ESM-only ink/);
  });

  it('rewrites the import() calls of those modules, and only those', () => {
    const source = "const a = import('./tty-view.js');\nconst b = import(\"./plain.js\");\n";
    const r = withPreloads(source, 'dist/cli/progress/reporter.js', preloads(meta, 'dist/cli/run.js', esmOnly));
    expect(r.rewritten).toEqual(['dist/cli/progress/tty-view.js']);
    expect(r.source).toBe("const a = __tscEsmOnly.preload([\"ink\"]).then(() => import('./tty-view.js'));\nconst b = import(\"./plain.js\");\n");
  });
});
