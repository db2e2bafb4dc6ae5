import { describe, expect, it } from 'vitest';

import { COMMANDS, buildProgram, commandWord, shortLived } from './program.js';

const names = (p: { command: { commands: readonly { name(): string; aliases(): string[] }[] } }): string[] =>
  p.command.commands.flatMap((c) => [c.name(), ...c.aliases()]);

describe('buildProgram', () => {
  it('lists every command of every line, in order, when no command is named (help)', async () => {
    const all = await buildProgram([]);
    expect(names(all)).toEqual(COMMANDS.flatMap(([n]) => n));
  });

  it('registers, per line, exactly the commands that line names (a lazy line cannot go stale)', async () => {
    for (const [lineNames] of COMMANDS) {
      const p = await buildProgram([lineNames[0] as string]);
      expect(names(p)).toEqual(lineNames);
    }
  });

  it('finds the command after global options and their values', async () => {
    const p = await buildProgram(['-f', 'a.yaml', '--project-name=x', '--profile', 'p', '--verbose', 'version', '--short']);
    expect(names(p)).toEqual(['version']);
  });
});

describe('commandWord', () => {
  const program = async () => (await buildProgram(['version'])).command;
  it.each([
    [['config'], 'config'],
    [['-f', 'x.yaml', 'up', '-d'], 'up'],
    [['-fx.yaml', '-p', 'proj', 'ps'], 'ps'],
    [['--env-file', '.env', '--env-file=.env2', '--progress', 'plain', 'down'], 'down'],
    [['--verbose', 'image', 'ls'], 'image'],
    [['-f', 'x.yaml'], undefined],
    [['--help'], undefined],
    [['-h', 'config'], undefined],
    [['--bogus', 'config'], undefined],
    [['--verbose=yes', 'config'], undefined],
    [['--', 'config'], undefined],
  ])('%j names %s', async (argv, word) => {
    expect(commandWord(await program(), argv)).toBe(word);
  });
});

describe('shortLived', () => {
  it('is true of one-shot commands and false of the agent and the followers, read after the global options', () => {
    expect(shortLived(['config'])).toBe(true);
    expect(shortLived(['-p', 'agent', 'up', '-d'])).toBe(true); // a project named agent
    expect(shortLived(['agent'])).toBe(false);
    expect(shortLived(['-f', 'compose.yaml', 'logs', '-f'])).toBe(false);
    expect(shortLived(['watch'])).toBe(false);
    expect(shortLived(['up'])).toBe(false); // attached: follows the logs
    expect(shortLived(['up', '--wait'])).toBe(true);
    expect(shortLived(['-f', 'c.yaml', 'up', 'web', '-d', '--build'])).toBe(true);
  });
});
