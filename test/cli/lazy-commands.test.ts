// The CLI imports only the command it runs: its table of names, help terms and descriptions
// must say exactly what the command modules register, so `--help` reads the same either way.
import { describe, expect, test } from 'vitest';
import { buildProgram, commands } from '../../src/cli/main.js';

const argv = (...args: string[]) => ['node', 'leakhunt', ...args];

describe('lazy command modules', () => {
  test('--help without loading any module equals --help with every module loaded', async () => {
    const lazy = await buildProgram(argv('--help'));
    const eager = await buildProgram(argv('--help'), 'all');
    expect(lazy.commands.every((command) => command.options.length === 0 && command.registeredArguments.length === 0)).toBe(true);
    expect(eager.commands.filter((command) => command.options.length > 0).length).toBeGreaterThan(5);
    expect(lazy.helpInformation()).toBe(eager.helpInformation());
    expect(lazy.helpInformation()).toContain('validate [options] [file...]     Check playbooks');
  });

  test('every table entry names a command its module registers, with the same description', async () => {
    const eager = await buildProgram(argv(), 'all');
    expect(eager.commands.map((command) => command.name())).toEqual(commands.map((entry) => entry.name));
    for (const entry of commands) {
      const command = eager.commands.find((c) => c.name() === entry.name)!;
      expect(command.description(), entry.name).toBe(entry.description);
    }
  });

  test('the command argv names is the one loaded, also after help and global flags', async () => {
    for (const [args, name] of [
      [['validate', 'playbooks/find-pool-leak.yaml'], 'validate'],
      [['help', 'plan'], 'plan'],
      [['--help', 'sim'], 'sim'],
    ] as const) {
      const program = await buildProgram(argv(...args));
      const loaded = program.commands.filter((command) => command.options.length > 0).map((command) => command.name());
      expect(loaded, args.join(' ')).toEqual([name]);
      expect(program.commands.map((command) => command.name())).toEqual(commands.map((entry) => entry.name));
    }
    const unknown = await buildProgram(argv('valdate', 'x.yaml'));
    expect(unknown.commands.filter((command) => command.options.length > 0)).toEqual([]);
  });
});
