#!/usr/bin/env node
/**
 * The `leakhunt` command line: argv → calls into the core. Each command lives in its own
 * module exporting `register(program)`, imported only when that command runs (start-up time:
 * docs/benchmarks.md); `--help` lists every command from the table below without loading any.
 * Add new commands to `commands`.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command, Help } from 'commander';
import { dropOutputOnBrokenPipe } from './broken-pipe.js';
import { onStopSignals } from './signals.js';

/** A command module: adds its subcommand to the program. */
export interface CommandModule {
  register(program: Command): void;
}

/** A command as `--help` lists it before its module is loaded. */
export interface CommandEntry {
  name: string;
  /** The command's line in `--help`: name, `[options]`, arguments (as commander prints the loaded command). */
  term: string;
  /** The loaded command's description, word for word (test/cli/lazy-commands.test.ts compares them). */
  description: string;
  load(): Promise<CommandModule>;
}

/** Every command, in help order. Other areas add theirs here. */
export const commands: readonly CommandEntry[] = [
  { name: 'run', term: 'run [options] <playbook>', description: 'Run a playbook against a target (default: the built-in simulator)', load: () => import('./commands/run.js') },
  { name: 'resume', term: 'resume [options] <run-dir>', description: 'Continue an interrupted run after its last finished step, reusing what it collected', load: () => import('./commands/resume.js') },
  { name: 'validate', term: 'validate [options] [file...]', description: 'Check playbooks (YAML, schema, step names, with:, expressions, includes) and simulator scenarios without a target', load: () => import('./commands/validate.js') },
  { name: 'plan', term: 'plan [options] [playbook]', description: 'Show which plugin/provider runs each step on a Windows version, without a target', load: () => import('./commands/plan.js') },
  { name: 'plugins', term: 'plugins [options]', description: 'List plugins, their steps, version ranges, outputs and with: schemas', load: () => import('./commands/plugins.js') },
  { name: 'schema', term: 'schema [options]', description: "Print the playbook JSON Schema with every installed provider's with: folded in", load: () => import('./commands/schema.js') },
  { name: 'report', term: 'report [options] <run-dir...>', description: 'Rebuild report.md, report.html and junit.xml from a run directory (report.json, stacks.jsonl, transcript.jsonl)', load: () => import('./commands/report.js') },
  { name: 'lab', term: 'lab', description: 'Lab inventories: the CI matrix of their targets (runs: leakhunt run <playbook> --inventory lab.yaml)', load: () => import('./commands/lab.js') },
  { name: 'analyze', term: 'analyze [options] <kd-log>', description: 'Analyze a saved kd log offline: !poolused samples, PoolHitTag stacks by call site, the same reports as a hunt', load: () => import('./commands/analyze.js') },
  { name: 'sim', term: 'sim [options]', description: "Run the simulated Windows kernel target behind kd's console on stdin/stdout", load: () => import('./commands/sim.js') },
  { name: 'sim-host', term: 'sim-host [options] <command...>', description: 'Run a command on the simulated target machine (gflags /r, reg query/add GlobalFlag)', load: () => import('./commands/sim-host.js') },
  { name: 'parse', term: 'parse [options] <kind> [file]', description: 'Parse saved kd output (a file, or - for standard input) and print it as JSON', load: () => import('./commands/parse.js') },
];

// The command argv names: the first operand, or the one after `help` (the program's own
// options, -h and -V, take no value, so the first word without a dash is the command).
function requestedCommand(argv: readonly string[]): string | undefined {
  const words = argv.slice(2).filter((arg) => !arg.startsWith('-'));
  return words[0] === 'help' ? words[1] : words[0];
}

/**
 * Build the program: the command argv names (every command with `load: 'all'`) is loaded and
 * registered by its module; the others are listed by name and description only.
 */
export async function buildProgram(argv: readonly string[] = process.argv, load: 'requested' | 'all' = 'requested'): Promise<Command> {
  const wanted = load === 'all' ? undefined : requestedCommand(argv);
  const loading = commands.filter((entry) => (wanted === undefined ? load === 'all' : entry.name === wanted));
  // commander and the command's modules load side by side (start-up time).
  const [{ Command, Help }, ...modules] = await Promise.all([import('commander'), ...loading.map((entry) => entry.load())]);
  const loaded = new Map(loading.map((entry, index) => [entry.name, modules[index]!]));
  const stubTerms = new WeakMap<Command, string>();
  const program = new Command('leakhunt')
    .description('Find Windows kernel pool leaks with kd, from YAML playbooks run by a version-aware plugin engine.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({
      // A listed-only command has no options or arguments of its own: print its entry's term.
      subcommandTerm(this: Help, command: Command): string {
        return stubTerms.get(command) ?? Help.prototype.subcommandTerm.call(this, command);
      },
    })
    .addHelpText(
      'after',
      `
Examples:
  $ leakhunt run playbooks/find-pool-leak.yaml                 hunt on the built-in simulator
  $ leakhunt run playbooks/find-pool-leak.yaml --check         list the kd commands, send none
  $ leakhunt validate playbooks/*.yaml                         check playbooks without a target
  $ leakhunt plan playbooks/find-pool-leak.yaml --os xp --explain
  $ leakhunt plugins                                           every step, provider and version range

Exit codes: 0 success, 1 the run failed, 2 invalid playbook or usage.`,
    );
  program.exitOverride();
  for (const entry of commands) {
    const module = loaded.get(entry.name);
    if (module) {
      module.register(program);
    } else {
      stubTerms.set(program.command(entry.name).description(entry.description), entry.term);
    }
  }
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Run the CLI with argv; resolves to the exit code. */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  const [program, { CommanderError }, { exitCodes }] = await Promise.all([buildProgram(argv), import('commander'), import('./output.js')]);
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return exitCodes.ok;
      return exitCodes.invalid;
    }
    throw error;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : exitCodes.ok;
}

// Run when executed as the bin (also through npm's symlink), not when imported by tests.
const invokedDirectly = (() => {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();

/** Where `run` and `resume` find how to remove the handler that took signals while they loaded, to replace it with their own. */
export const earlySignalHandler = Symbol.for('leakhunt.earlySignal');

if (invokedDirectly) {
  // `leakhunt … | head`: a reader that goes away ends the output, not the run (src/cli/broken-pipe.ts).
  dropOutputOnBrokenPipe(process.stdout);
  dropOutputOnBrokenPipe(process.stderr);
  const command = requestedCommand(process.argv);
  if (command === 'run' || command === 'resume') {
    // A Ctrl+C while the command loads (before it takes signals itself) ends it with one line, not a
    // kill: nothing has been sent to a target yet. Exit code 1 (exitCodes.runFailed), written out.
    const early = (signal: NodeJS.Signals) => {
      process.stderr.write(`error RUN_ABORTED: ${signal} before the ${command} started; nothing was sent to a target\n`);
      process.exit(1);
    };
    (process as unknown as Record<symbol, unknown>)[earlySignalHandler] = onStopSignals(early);
  }
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`internal error (please report it): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      // exitCodes.runFailed, written out: what failed may be the import of output.js itself.
      process.exitCode = 1;
    },
  );
}
