import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { TscError } from '../../lib/errors.js';
import { parseDockerfile } from './dockerfile-parse.js';
import { parseDockerignore } from './dockerignore.js';
import { processWord } from './shell-words.js';

/** Pieces that exercise the parser's branches when glued together at random. */
const tokens = [
  'FROM ', 'RUN ', 'COPY ', 'ADD ', 'ENV ', 'ARG ', 'LABEL ', 'ONBUILD ', 'HEALTHCHECK ', 'CMD ', 'SHELL ', 'EXPOSE ',
  'VOLUME ', 'USER ', 'WORKDIR ', 'a', 'b=c', '"', "'", '\\', '`', '\n', ' ', '\t', '#', '# escape=`\n', '<<EOF', '<<-"X"',
  'EOF\n', '[', ']', '"x",', '--from=', '--link', '--interval=1s ', '$', '${', '}', ':-', 'AS ', '=', '!', '*', '**/', '?',
];
const text = fc.array(fc.constantFrom(...tokens), { maxLength: 40 }).map((a) => a.join(''));

/** Only TscError may escape: anything else is a bug in our code, not in the user's file. */
function onlyTscErrors(fn: () => unknown): boolean {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof TscError)) throw e;
  }
  return true;
}

describe('robustness on random input', () => {
  it('parseDockerfile returns or throws a TscError with a line', () => {
    fc.assert(
      fc.property(text, (src) => {
        try {
          const df = parseDockerfile(src);
          for (const i of df.instructions) expect(i.line).toBeGreaterThanOrEqual(1);
        } catch (e) {
          if (!(e instanceof TscError)) throw e;
          expect(e.line).toBeGreaterThanOrEqual(1);
        }
      }),
      { numRuns: 2000, seed: 8 },
    );
  });

  it('parseDockerignore returns or throws a TscError', () => {
    fc.assert(
      fc.property(text, (src) => onlyTscErrors(() => parseDockerignore(src).matches('a/b/c'))),
      { numRuns: 1000, seed: 8 },
    );
  });

  it('processWord returns a string or throws a plain message', () => {
    fc.assert(
      fc.property(text, (src) => {
        try {
          expect(typeof processWord(src, (n) => (n === 'a' ? 'x y' : undefined))).toBe('string');
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
          expect((e as Error).message).toMatch(/syntax error|unexpected end|unsupported modifier|is not allowed|: /);
        }
      }),
      { numRuns: 1000, seed: 8 },
    );
  });
});
