#!/usr/bin/env node
/**
 * The `leakhunt` command line: argv → calls into the core. Each command lives in its own
 * module exporting `register(program)`; add new commands to `commandModules`.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import * as analyze from './commands/analyze.js';
import * as parse from './commands/parse.js';
import * as plan from './commands/plan.js';
import * as plugins from './commands/plugins.js';
import * as report from './commands/report.js';
import * as resume from './commands/resume.js';
import * as run from './commands/run.js';
import * as schema from './commands/schema.js';
import * as sim from './commands/sim.js';
import * as simHost from './commands/sim-host.js';
import * as validate from './commands/validate.js';
import { exitCodes } from './output.js';

/** A command module: adds its subcommand to the program. */
export interface CommandModule {
  register(program: Command): void;
}

/** Every command, in help order. Other areas add theirs here (parse, sim, sim-host, report, analyze). */
export const commandModules: CommandModule[] = [run, resume, validate, plan, plugins, schema, report, analyze, sim, simHost, parse];

/** Build the program with every registered command. */
export function buildProgram(): Command {
  const program = new Command('leakhunt')
    .description('Find Windows kernel pool leaks with kd, from YAML playbooks run by a version-aware plugin engine.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
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
  for (const module of commandModules) module.register(program);
  for (const command of program.commands) command.exitOverride();
  return program;
}

/** Run the CLI with argv; resolves to the exit code. */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  const program = buildProgram();
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

if (invokedDirectly) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`internal error (please report it): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = exitCodes.runFailed;
    },
  );
}
