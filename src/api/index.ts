/**
 * `leakhunt`: the engine as a library — load plugins, validate and plan playbooks — with the
 * same coded errors (`PlaybookError`, `code`, `location`, `hint`) the command line prints.
 *
 * @see ../../docs/plugins.md
 */
import { loadPlaybook, sortErrors } from '../core/load.js';
import { planPlaybook as planLoaded, planToJson } from '../core/plan.js';
import { loadRegistry, type Registry } from '../core/registry.js';
import type { PlaybookError } from '../core/errors.js';
import type { Arch } from '../core/types.js';
import { factsForOs } from '../core/versions.js';
import { findProfile } from '../sim/profiles.js';

export { isPlaybookError, PlaybookError } from '../core/errors.js';
export type { ErrorCode } from '../core/errors.js';
export { formatError } from '../cli/output.js';
export type { Registry } from '../core/registry.js';
export type { Playbook } from '../core/playbook.js';

/** Options of loadPlugins. */
export interface LoadPluginsOptions {
  /** Plugin folders or installed package names, as `--plugins` takes them. */
  plugins?: readonly string[];
  /** Where relative folders and package names resolve from (default: the working directory). */
  cwd?: string;
}

/** Load the package's own plugins plus the ones named; rejects with a PlaybookError (PLUGIN_LOAD_FAILED, DUPLICATE_PLUGIN). */
export function loadPlugins(options: LoadPluginsOptions = {}): Promise<Registry> {
  return loadRegistry({ dirs: options.plugins ?? [], ...(options.cwd !== undefined && { cwd: options.cwd }) });
}

/** What validatePlaybook found: every problem at once, sorted by position. */
export interface ValidationResult {
  valid: boolean;
  errors: PlaybookError[];
  warnings: PlaybookError[];
}

/** Check a playbook completely without a target, as `leakhunt validate` does. */
export function validatePlaybook(file: string, registry: Registry, options: { cwd?: string } = {}): ValidationResult {
  const result = loadPlaybook(file, { registry, ...(options.cwd !== undefined && { cwd: options.cwd }) });
  const errors = sortErrors(result.errors);
  return { valid: errors.length === 0, errors, warnings: result.warnings };
}

/** Which provider runs each step on a Windows version (`xp`, `10.0.19045`, a profile id), as `leakhunt plan --json` prints it. */
export function planPlaybook(file: string, registry: Registry, options: { os: string; arch?: Arch; cwd?: string }): { plan?: Record<string, unknown>; errors: PlaybookError[] } {
  const facts = factsForOs(options.os, options.arch, findProfile(options.os));
  const loaded = loadPlaybook(file, { registry, ...(options.cwd !== undefined && { cwd: options.cwd }) });
  if (!loaded.playbook) return { errors: sortErrors(loaded.errors) };
  const { plan, errors } = planLoaded(loaded.playbook, facts, registry);
  return plan ? { plan: planToJson(plan), errors: [] } : { errors };
}
