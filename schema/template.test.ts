import { describe, expect, it } from 'vitest';

import { TscError } from '../lib/errors.js';
import { substitute } from './template.js';

const env: Record<string, string> = { FOO: 'first', BAR: '', NAME: 'web', TAG: '1.2' };
const lookup = (n: string): string | undefined => (Object.hasOwn(env, n) ? env[n] : undefined);

describe('substitute', () => {
  it.each([
    ['no variables', 'no variables'],
    ['$FOO', 'first'],
    ['${FOO}', 'first'],
    ['pre-${FOO}-post', 'pre-first-post'],
    ['$FOO$NAME', 'firstweb'],
    ['$FOO.x', 'first.x'],
    ['${UNSET}', ''],
    ['$UNSET', ''],
    ['${UNSET:-default}', 'default'],
    ['${BAR:-default}', 'default'],
    ['${BAR-default}', ''],
    ['${UNSET-default}', 'default'],
    ['${FOO:-default}', 'first'],
    ['${UNSET:-}', ''],
    ['${UNSET:-${NAME}}', 'web'],
    ['${UNSET:-${ALSO_UNSET:-deep}}', 'deep'],
    ['${UNSET:-a ${NAME} b}', 'a web b'],
    ['${UNSET:-x:y}', 'x:y'],
    ['${FOO:+alt}', 'alt'],
    ['${BAR:+alt}', ''],
    ['${BAR+alt}', 'alt'],
    ['${UNSET+alt}', ''],
    ['${FOO:+${NAME}}', 'web'],
    ['${FOO:?must be set}', 'first'],
    ['${BAR?must be set}', ''],
    ['$$FOO', '$FOO'],
    ['$${FOO}', '${FOO}'],
    ['a $ b', 'a $ b'],
    ['$1', '$1'],
    ['price: 5$', 'price: 5$'],
    ['image:${TAG:-latest}', 'image:1.2'],
  ])('%s → %s', (template, expected) => {
    expect(substitute(template, lookup)).toBe(expected);
  });

  it('reports unset variables it defaults to blank', () => {
    const unset: string[] = [];
    substitute('${A} $B ${C:-x} ${FOO}', lookup, { onUnset: (n) => unset.push(n) });
    expect(unset).toEqual(['A', 'B']);
  });

  it.each([
    ['${UNSET:?set UNSET please}', 'required variable UNSET is missing a value: set UNSET please'],
    ['${BAR:?empty is not enough}', 'required variable BAR is missing a value: empty is not enough'],
    ['${UNSET?}', 'required variable UNSET is missing a value'],
    ['${UNSET:?tag for ${NAME}}', 'required variable UNSET is missing a value: tag for web'],
    ['${', 'invalid interpolation format in "${"'],
    ['${FOO', 'invalid interpolation format in "${FOO"'],
    ['${}', 'invalid interpolation format in "${}"'],
    ['${1A}', 'invalid interpolation format in "${1A}"'],
    ['${FOO BAR}', 'invalid interpolation format in "${FOO BAR}"'],
    ['${FOO:x}', 'invalid interpolation format in "${FOO:x}"'],
  ])('%s fails with "%s"', (template, message) => {
    let err: unknown;
    try {
      substitute(template, lookup);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TscError);
    expect((err as TscError).message).toBe(message);
    expect((err as TscError).code).toBe('ERR_COMPOSE_INTERPOLATION');
  });
});
