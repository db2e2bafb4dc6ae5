import { describe, expect, it } from 'vitest';

import { processWord, processWords } from './shell-words.js';

const env: Record<string, string> = { PWD: '/home', SHELL: 'bash', NULL: '', FILE: 'dir/app.tar.gz' };
const lookup = (n: string): string | undefined => env[n];
const run = (w: string): string => {
  try {
    return processWord(w, lookup);
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
};

describe('processWord (BuildKit shell lexer)', () => {
  it.each([
    ['hello', 'hello'],
    ["he'll'o", 'hello'],
    ["he'llo", 'error: unexpected end of statement while looking for matching single-quote'],
    ["he\\'llo", "he'llo"],
    ["he\\\\'llo", 'error: unexpected end of statement while looking for matching single-quote'],
    ['abc\\tdef', 'abctdef'],
    ['"abc\\tdef"', 'abc\\tdef'],
    ['"abc\\\\tdef"', 'abc\\tdef'],
    ["'abc\\tdef'", 'abc\\tdef'],
    ['hello\\', 'hello'],
    ['hello\\\\', 'hello\\'],
    ['"hello', 'error: unexpected end of statement while looking for matching double-quote'],
    ['"hello\\"', 'error: unexpected end of statement while looking for matching double-quote'],
    ['"hel\'lo"', "hel'lo"],
    ["'hello\\'", 'hello\\'],
    ['"\'\'"', "''"],
    ['$.', '$.'],
    ['he$1x', 'hex'],
    ['he$.x', 'he$.x'],
    ['he$pwd.', 'he.'],
    ['he$PWD', 'he/home'],
    ['he\\$PWD', 'he$PWD'],
    ['he\\\\$PWD', 'he\\/home'],
    ['"he\\$PWD"', 'he$PWD'],
    ['"he\\\\$PWD"', 'he\\/home'],
    ['\\${}', '${}'],
    ['he\\${}xx', 'he${}xx'],
    ['${}', 'error: syntax error: bad substitution'],
    ['he${:x}', 'error: syntax error: bad substitution'],
    ['he${', "error: syntax error: missing '}'"],
    ['he${PWD', "error: syntax error: missing '}'"],
    ['he${PWD:-x', "error: syntax error: missing '}'"],
    ['he${hi}xx', 'hexx'],
    ['he${PWD}', 'he/home'],
    ['he${.}', 'error: unsupported modifier (.) in substitution'],
    ['he${XXX:-000}xx', 'he000xx'],
    ['he${PWD:-000}xx', 'he/homexx'],
    ['he${XXX:-$PWD}xx', 'he/homexx'],
    ['he${XXX:-${PWD:-yyy}}xx', 'he/homexx'],
    ['he${XXX:-${YYY:-yyy}}xx', 'heyyyxx'],
    ['he${NULL:-def}', 'hedef'],
    ['he${NULL-def}', 'he'],
    ['he${XXX-def}', 'hedef'],
    ['he${XXX:YYY}', 'error: unsupported modifier (:Y) in substitution'],
    ['he${XXX?}', 'error: XXX: is not allowed to be unset'],
    ['he${XXX:?must be set}', 'error: XXX: must be set'],
    ['he${NULL:?}', 'error: NULL: is not allowed to be empty'],
    ['he${NULL?}', 'he'],
    ['he${PWD:?}', 'he/home'],
    ['he${XXX:+${PWD}}xx', 'hexx'],
    ['he${PWD:+${SHELL}}xx', 'hebashxx'],
    ['he${NULL:+x}', 'he'],
    ['he${NULL+x}', 'hex'],
    ['he${PWD=000}xx', 'error: unsupported modifier (=) in substitution'],
    ["'he${XX}'", 'he${XX}'],
    ['"he${PWD}"', 'he/home'],
    ['"he\'$PWD\'"', "he'/home'"],
    ["'\\$PWD'", '\\$PWD'],
    ['${FILE%.*}', 'dir/app.tar'],
    ['${FILE%%.*}', 'dir/app'],
    ['${FILE#*/}', 'app.tar.gz'],
    ['${FILE##*.}', 'gz'],
    ['${FILE:%x}', 'error: unsupported modifier (:%) in substitution'],
    ['${FILE/a/A}', 'dir/App.tar.gz'],
    ['${FILE//a/A}', 'dir/App.tAr.gz'],
    ['$$', ''],
  ])('%s → %s', (word, want) => {
    expect(run(word)).toBe(want);
  });

  it('uses the escape directive token', () => {
    expect(processWord('C:\\path`$PWD', lookup, { escape: '`' })).toBe('C:\\path$PWD');
    expect(processWord('"a`"b"', lookup, { escape: '`' })).toBe('a"b');
  });

  it('leaves unset variables alone when asked (heredoc delimiters)', () => {
    expect(processWord('$A ${B} ${C:-x}', lookup, { skipUnsetEnv: true })).toBe('$A ${B} ${C:-x}');
  });

  it('keeps quotes when quotes are not processed (heredoc bodies)', () => {
    expect(processWord('echo "$PWD" \'$SHELL\'', lookup, { skipProcessQuotes: true })).toBe('echo "/home" \'bash\'');
  });
});

describe('processWords (word splitting)', () => {
  const wenv: Record<string, string> = { hi: 'hi', space: 'abc  def', leading: '  ab c' };
  const words = (w: string): string[] => processWords(w, (n) => wenv[n]);
  it.each<[string, string[]]>([
    ['hello', ['hello']],
    ['hello${nope}bye', ['hellobye']],
    ['hello${hi}bye', ['hellohibye']],
    ['hello${space}bye', ['helloabc', 'defbye']],
    ['hello"${space}"bye', ['helloabc  defbye']],
    ['hello "${space}"bye', ['hello', 'abc  defbye']],
    ['hello${leading}def', ['hello', 'ab', 'cdef']],
    ['hello"${leading}" def', ['hello  ab c', 'def']],
    ['80/tcp   $space', ['80/tcp', 'abc', 'def']],
    ['a\\ b c', ['a b', 'c']],
    ['"" x', ['x']],
  ])('%s', (w, want) => {
    expect(words(w)).toEqual(want);
  });
});
