/**
 * What the CLI prints for coded errors, and the exit codes: 0 success, 1 the run failed,
 * 2 invalid playbook or usage. User errors never print a stack trace.
 *
 * @see ../../docs/errors.md
 */
import { relative } from 'node:path';
import { isPlaybookError } from '../core/errors.js';
import type { PlaybookError } from '../core/errors.js';
import { configPlaybooks, findPlaybook, loadProjectConfig } from '../core/config.js';
import { loadRegistry } from '../core/registry.js';
import type { Registry } from '../core/registry.js';

/** Exit codes of every command. */
export const exitCodes = { ok: 0, runFailed: 1, invalid: 2 } as const;

/** Render one coded error: `file:line:col error CODE: message`, the code frame, the hint. */
export function formatError(error: PlaybookError, severity: 'error' | 'warning' = 'error'): string {
  const where = error.location ? `${error.location.file}:${error.location.line}:${error.location.column} ` : '';
  const lines = [`${where}${severity} ${error.code}: ${error.message}`];
  if (error.frame) lines.push(error.frame);
  if (error.hint) lines.push(`  hint: ${error.hint}`);
  if (error.trace && error.trace.candidates.length > 0) {
    for (const c of error.trace.candidates) lines.push(`  - ${c.plugin}/${c.provider}: ${c.reason}`);
  }
  return lines.join('\n');
}

/** Print errors to stderr, one block each, and a count. */
export function printErrors(errors: readonly PlaybookError[], stream: NodeJS.WritableStream = process.stderr): void {
  for (const error of errors) stream.write(`${formatError(error)}\n\n`);
  if (errors.length > 1) stream.write(`${errors.length} problems\n`);
}

/** Turn anything thrown into a printed message and an exit code; stacks only for real bugs. */
export function reportFailure(error: unknown, exitCode: number = exitCodes.invalid): number {
  if (isPlaybookError(error)) {
    printErrors([error]);
    return exitCode;
  }
  process.stderr.write(`internal error (please report it): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return exitCodes.runFailed;
}

/** A playbook argument as given, or found by name in the project configuration's playbook folders. */
export function projectPlaybook(argument: string): string {
  return findPlaybook(argument, loadProjectConfig().config);
}

/** Every playbook in the project configuration's playbook folders (none without a configuration). */
export function projectPlaybooks(): string[] {
  const { config } = loadProjectConfig();
  // Shown as the user would type them: relative to the working directory when inside it.
  return config ? configPlaybooks(config).map((file) => (relative(process.cwd(), file).startsWith('..') ? file : relative(process.cwd(), file))) : [];
}

/** Collect a repeatable option's values. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * Load the package's plugins, the project configuration's (leakhunt.config.yaml in the working
 * directory) and the `--plugins` folders or packages; prints and returns undefined on failure.
 */
export async function loadPlugins(dirs: readonly string[] | undefined): Promise<Registry | undefined> {
  const { config, errors } = loadProjectConfig();
  if (errors.length > 0) {
    printErrors(errors);
    process.exitCode = exitCodes.invalid;
    return undefined;
  }
  try {
    return await loadRegistry({ dirs: [...(config?.plugins ?? []), ...(dirs ?? [])] });
  } catch (error) {
    process.exitCode = reportFailure(error, exitCodes.invalid);
    return undefined;
  }
}

/** `1 step`, `3 steps`: a count with its noun (plural by adding s). */
export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
