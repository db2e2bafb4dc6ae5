import { TscError } from '../../lib/errors.js';

/** The formatted TscError `fn` throws (`file:line:col path: message`); anything else fails the test. */
export function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof TscError) return e.format();
    throw e;
  }
  throw new Error('expected an error');
}
