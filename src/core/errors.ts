/**
 * The closed, sorted vocabulary of leakhunt's coded errors, one factory per code.
 * Every code has a row in docs/errors.md that says what to do about it.
 *
 * @see ../../docs/errors.md
 */
import { redactSecrets } from '../debuggers/redact.js';
import type { KdErrorInfo } from '../kd/errors.js';
import type { SourceLocation } from './types.js';

/** Every stable error code leakhunt reports (sorted; each one documented in docs/errors.md). */
export type ErrorCode =
  | 'AMBIGUOUS_PROVIDER'
  | 'DUPLICATE_PLUGIN'
  | 'DUPLICATE_STEP_ID'
  | 'EXPRESSION_ERROR'
  | 'INCLUDE_CYCLE'
  | 'INCLUDE_NOT_FOUND'
  | 'INVALID_CONFIG'
  | 'INVALID_INPUT'
  | 'INVALID_INVENTORY'
  | 'INVALID_PLAYBOOK'
  | 'INVALID_SCENARIO'
  | 'INVALID_WITH'
  | 'KD_COMMAND_FAILED'
  | 'KD_COMMAND_INCOMPLETE'
  | 'KD_OUTPUT_UNREADABLE'
  | 'NO_PROVIDER'
  | 'PLAYBOOK_NOT_FOUND'
  | 'PLUGIN_ERROR'
  | 'PLUGIN_LOAD_FAILED'
  | 'POOL_TAGS_UNAVAILABLE'
  | 'RUN_ABORTED'
  | 'SESSION_FAILED'
  | 'STEP_FAILED'
  | 'TIMEOUT'
  | 'UNDECLARED_OUTPUT'
  | 'UNKNOWN_INPUT'
  | 'UNKNOWN_KEY'
  | 'UNKNOWN_OS'
  | 'UNKNOWN_STEP'
  | 'UNKNOWN_STEP_ID'
  | 'USAGE'
  | 'YAML_SYNTAX';

/** Runtime list of the codes; typed as a Record so a new code fails compilation until listed. */
export const errorCodes: Readonly<Record<ErrorCode, 1>> = {
  AMBIGUOUS_PROVIDER: 1,
  DUPLICATE_PLUGIN: 1,
  DUPLICATE_STEP_ID: 1,
  EXPRESSION_ERROR: 1,
  INCLUDE_CYCLE: 1,
  INCLUDE_NOT_FOUND: 1,
  INVALID_CONFIG: 1,
  INVALID_INPUT: 1,
  INVALID_INVENTORY: 1,
  INVALID_PLAYBOOK: 1,
  INVALID_SCENARIO: 1,
  INVALID_WITH: 1,
  KD_COMMAND_FAILED: 1,
  KD_COMMAND_INCOMPLETE: 1,
  KD_OUTPUT_UNREADABLE: 1,
  NO_PROVIDER: 1,
  PLAYBOOK_NOT_FOUND: 1,
  PLUGIN_ERROR: 1,
  PLUGIN_LOAD_FAILED: 1,
  POOL_TAGS_UNAVAILABLE: 1,
  RUN_ABORTED: 1,
  SESSION_FAILED: 1,
  STEP_FAILED: 1,
  TIMEOUT: 1,
  UNDECLARED_OUTPUT: 1,
  UNKNOWN_INPUT: 1,
  UNKNOWN_KEY: 1,
  UNKNOWN_OS: 1,
  UNKNOWN_STEP: 1,
  UNKNOWN_STEP_ID: 1,
  USAGE: 1,
  YAML_SYNTAX: 1,
};

/** One candidate provider considered for a step, and why it was or was not chosen. */
export interface SelectionCandidate {
  plugin: string;
  provider: string;
  os?: string;
  arch?: readonly string[];
  priority: number;
  accepted: boolean;
  /** Why: `accepted`, `os 5.1.2600 (xp) is outside win7 (>=6.1.0 <6.2.0)`, `outranked by …`. */
  reason: string;
}

/** Why each candidate provider was or was not chosen for one step. */
export interface SelectionTrace {
  uses: string;
  os: { version: string; alias: string; arch: string };
  candidates: SelectionCandidate[];
}

/** Extra data an error may carry. */
export interface ErrorDetails {
  location?: SourceLocation;
  /** A code frame: source lines with a caret under the column. */
  frame?: string;
  hint?: string;
  plugin?: string;
  step?: string;
  /** The plugin's own code when a plugin error was re-coded as PLUGIN_ERROR or STEP_FAILED. */
  pluginCode?: string;
  trace?: SelectionTrace;
  /** kd's error reply, for KD_COMMAND_FAILED. */
  kdReply?: KdErrorInfo;
  cause?: unknown;
}

const brand = Symbol.for('leakhunt.PlaybookError');

/** An error a user can act on: a stable code, a message that quotes its subject, and where. */
export class PlaybookError extends Error {
  readonly code: ErrorCode;
  location?: SourceLocation;
  frame?: string;
  hint?: string;
  plugin?: string;
  step?: string;
  pluginCode?: string;
  trace?: SelectionTrace;
  kdReply?: KdErrorInfo;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    const { cause: _cause, ...rest } = details;
    Object.assign(this, rest);
    Object.defineProperty(this, brand, { value: true });
  }

  /** A plain object for JSON events and files (no stack). */
  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.location && { location: this.location }),
      ...(this.hint && { hint: this.hint }),
      ...(this.plugin && { plugin: this.plugin }),
      ...(this.step && { step: this.step }),
      ...(this.pluginCode && { pluginCode: this.pluginCode }),
    };
  }
}
PlaybookError.prototype.name = 'PlaybookError';

/** True for a PlaybookError from any copy of this module (checked by brand, not instanceof). */
export function isPlaybookError(value: unknown): value is PlaybookError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}

// Quote a value for a message the way execa does: "Expected …, got … (type)".
function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${JSON.stringify(value)} (${typeof value})`;
}

/** Two providers tie at the top priority for one step. */
export function errAmbiguousProvider(uses: string, trace: SelectionTrace, details: ErrorDetails = {}): PlaybookError {
  const tied = trace.candidates.filter((c) => c.accepted).map((c) => `${c.plugin}/${c.provider}`);
  return new PlaybookError('AMBIGUOUS_PROVIDER', `Step "${uses}" has ${tied.length} providers at the same priority on ${trace.os.alias} ${trace.os.version} ${trace.os.arch}: ${tied.join(', ')}`, {
    hint: 'give one provider a higher `priority`, or narrow its `os`/`arch`; run `leakhunt plan --explain` to see every candidate',
    trace,
    ...details,
  });
}

/** Two plugins share one name. */
export function errDuplicatePlugin(name: string, first: string, second: string): PlaybookError {
  return new PlaybookError('DUPLICATE_PLUGIN', `Plugin name "${name}" is used twice: ${first} and ${second}`, {
    hint: 'rename one plugin or drop one --plugins folder',
    plugin: name,
  });
}

/** A step id is used twice in one playbook. */
export function errDuplicateStepId(id: string, details: ErrorDetails = {}): PlaybookError {
  return new PlaybookError('DUPLICATE_STEP_ID', `Step id "${id}" is used more than once`, { hint: 'give every step a unique `id`', ...details });
}

/** An expression does not parse or cannot be evaluated. */
export function errExpression(expression: string, reason: string, details: ErrorDetails = {}): PlaybookError {
  return new PlaybookError('EXPRESSION_ERROR', `Expression "${expression}": ${reason}`, details);
}

/** Playbooks include each other in a cycle. */
export function errIncludeCycle(chain: readonly string[], details: ErrorDetails = {}): PlaybookError {
  return new PlaybookError('INCLUDE_CYCLE', `Include cycle: ${chain.join(' → ')}`, { hint: 'remove one of the includes in the chain', ...details });
}

/** An included playbook file does not exist or cannot be read. */
export function errIncludeNotFound(path: string, details: ErrorDetails = {}): PlaybookError {
  return new PlaybookError('INCLUDE_NOT_FOUND', `Included playbook "${path}" cannot be read`, { hint: 'an include is a path relative to the including file, or a file of an installed package (@team/leak-recipes/nic.yaml)', ...details });
}

/** `leakhunt.config.yaml` breaks its schema. */
export function errInvalidConfig(message: string, details: ErrorDetails = {}): PlaybookError {
  return new PlaybookError('INVALID_CONFIG', message, { hint: 'schemas/leakhunt-config.schema.json describes the file: plugins and playbooks, lists of strings', ...details });
}

/** A playbook input is missing, unknown, or of the wrong type. */
export function errInvalidInput(name: string, problem: string, details: ErrorDetails = {}): PlaybookError {
  return new PlaybookError('INVALID_INPUT', `Input "${name}": ${problem}`, details);
}

/** A lab inventory (lab.yaml) breaks its schema, or names a group or target twice or not at all. */
export function errInvalidInventory(message: string, details: ErrorDetails = {}): PlaybookError {
  return new PlaybookError('INVALID_INVENTORY', message, { hint: 'schemas/lab-inventory.schema.json describes the file: defaults, groups and targets (name, target, inputs, labels, runner)', ...details });
}

/** The playbook's structure breaks the playbook schema. */
export function errInvalidPlaybook(message: string, details: ErrorDetails = {}): PlaybookError {
  return new PlaybookError('INVALID_PLAYBOOK', message, details);
}

/** A simulator scenario file has a problem (`scenarioCode` is its SCENARIO_* code). */
export function errInvalidScenario(message: string, scenarioCode: string, details: ErrorDetails = {}): PlaybookError {
  return new PlaybookError('INVALID_SCENARIO', `${message} (${scenarioCode})`, details);
}

/** A step's `with:` fails its provider's schema. */
export function errInvalidWith(uses: string, message: string, details: ErrorDetails = {}): PlaybookError {
  return new PlaybookError('INVALID_WITH', `"${uses}" with: ${message}`, details);
}

/** kd answered a command with an error reply (`Couldn't resolve error at 'nt!Foo'`); the reply is kept as `kdReply`. */
export function errKdCommandFailed(command: string, reply: KdErrorInfo, details: ErrorDetails = {}): PlaybookError {
  return new PlaybookError('KD_COMMAND_FAILED', `kd refused "${command}": ${reply.message}`, {
    kdReply: reply,
    ...(reply.kind === 'resolve' && { hint: 'check that nt symbols are loaded (symbols.reload) and the expression is spelled right' }),
    ...(reply.kind === 'no-export' && { hint: `the debugger extension that provides "${reply.subject}" is not loaded (kdexts for this Windows version)` }),
    ...details,
  });
}

/** A command's output was cut by its timeout (or a break-in) before kd's prompt came back. */
export function errKdCommandIncomplete(command: string, timeoutMs: number | undefined, details: ErrorDetails = {}): PlaybookError {
  return new PlaybookError('KD_COMMAND_INCOMPLETE', `"${command}" did not finish within ${timeoutMs === undefined ? "the session's timeout" : `${timeoutMs} ms`}`, {
    hint: 'give the command a longer timeout (ctx.kd(command, { timeoutMs })), or accept a partial reply with allowIncomplete',
    ...details,
  });
}

/** A command's output is not what its kind's parser reads (`u` printing no instructions). */
export function errKdOutputUnreadable(command: string, kind: string, reason: string, details: ErrorDetails = {}): PlaybookError {
  return new PlaybookError('KD_OUTPUT_UNREADABLE', `The output of "${command}" is not ${kind} output: ${reason}`, {
    hint: 'run the command at a kd prompt to see what it prints; `leakhunt parse ' + kind + ' <file>` reads a saved copy',
    ...details,
  });
}

/** No provider applies to a step on this target. */
export function errNoProvider(uses: string, trace: SelectionTrace, details: ErrorDetails = {}): PlaybookError {
  const n = trace.candidates.length;
  return new PlaybookError('NO_PROVIDER', `No provider for "${uses}" on ${trace.os.alias} ${trace.os.version} ${trace.os.arch} (${n} candidate${n === 1 ? '' : 's'} rejected)`, {
    hint: 'run `leakhunt plan --explain` to see why each candidate was rejected, or add a plugin with --plugins',
    trace,
    ...details,
  });
}

/** The playbook file given on the command line cannot be read. */
export function errPlaybookNotFound(path: string, cause?: unknown): PlaybookError {
  return new PlaybookError('PLAYBOOK_NOT_FOUND', `Playbook "${path}" cannot be read`, { hint: 'check the path', cause });
}

/** A provider threw something that is not a coded error; the original is kept as `cause`. */
export function errPlugin(plugin: string, step: string, cause: unknown, details: ErrorDetails = {}): PlaybookError {
  const text = cause instanceof Error ? cause.message : String(cause);
  return new PlaybookError('PLUGIN_ERROR', `Plugin "${plugin}" failed in step "${step}": ${text}`, { plugin, step, cause, ...details });
}

/** A plugin module cannot be loaded or does not describe a valid plugin. */
export function errPluginLoad(where: string, reason: string, cause?: unknown): PlaybookError {
  return new PlaybookError('PLUGIN_LOAD_FAILED', `Plugin at ${where}: ${reason}`, { cause });
}

/**
 * `!poolused` showed no tag counters. Why depends on the target: pool tagging off in this boot
 * (Windows 2000/XP without GlobalFlag 0x400 at boot) or nt symbols missing; the hint says which.
 */
export function errPoolTagsUnavailable(reason: string, taggingEnabled: boolean, details: ErrorDetails = {}): PlaybookError {
  return new PlaybookError('POOL_TAGS_UNAVAILABLE', `!poolused showed no pool tags: ${reason}`, {
    hint: taggingEnabled ? 'check nt symbols (run symbols.reload first)' : 'pool tagging is off in this boot: run pool-tagging.enable, then target.reboot',
    ...details,
  });
}

/** The run was stopped by SIGINT / SIGTERM. */
export function errRunAborted(reason: string): PlaybookError {
  return new PlaybookError('RUN_ABORTED', `Run aborted (${reason}); cleanup steps ran`);
}

/** Connecting to the target failed; a coded cause (DEBUGGER_NOT_FOUND, BREAK_IN_FAILED, …) keeps its code in the message and its hint. */
export function errSession(spec: string, cause: unknown): PlaybookError {
  const text = cause instanceof Error ? cause.message : String(cause);
  const coded = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown; hint?: unknown }) : {};
  const code = typeof coded.code === 'string' && /^[A-Z][A-Z_]+$/.test(coded.code) ? `${coded.code}: ` : '';
  const hint = typeof coded.hint === 'string' ? coded.hint : 'check --target; `sim:` runs the built-in simulator';
  // A kd: or process: spec may carry a KDNET key; the message never shows it.
  return new PlaybookError('SESSION_FAILED', redactSecrets(`Cannot connect to target "${spec}": ${code}${text}`), { cause, hint: redactSecrets(hint) });
}

/** A provider reported failure through ctx.fail(). */
export function errStepFailed(step: string, message: string, details: ErrorDetails = {}): PlaybookError {
  return new PlaybookError('STEP_FAILED', `Step "${step}" failed: ${message}`, { step, ...details });
}

/** A step ran past its timeout. */
export function errTimeout(step: string, timeoutMs: number, details: ErrorDetails = {}): PlaybookError {
  return new PlaybookError('TIMEOUT', `Step "${step}" timed out after ${timeoutMs} ms`, { step, hint: 'raise the step\'s `timeout:`', ...details });
}

/** An expression reads an output that the step's provider does not declare. */
export function errUndeclaredOutput(step: string, output: string, declared: readonly string[], details: ErrorDetails = {}): PlaybookError {
  return new PlaybookError('UNDECLARED_OUTPUT', `Step "${step}" declares no output "${output}" (declared: ${declared.length ? declared.join(', ') : 'none'})`, details);
}

/** An expression reads an input the playbook does not declare. */
export function errUnknownInput(name: string, details: ErrorDetails = {}): PlaybookError {
  return new PlaybookError('UNKNOWN_INPUT', `Unknown input "${name}"`, details);
}

/** A mapping has a key its schema does not allow. */
export function errUnknownKey(key: string, where: string, details: ErrorDetails = {}): PlaybookError {
  return new PlaybookError('UNKNOWN_KEY', `Unknown key "${key}" in ${where}`, details);
}

/** `plan --os` names no known version, alias or profile. */
export function errUnknownOs(value: string): PlaybookError {
  return new PlaybookError('UNKNOWN_OS', `Expected a version (5.1.2600), an alias (xp, win7, win11) or a simulator profile id for --os, got ${describeValue(value)}`, {
    hint: 'run `leakhunt plan --help` for the list of aliases and profiles',
  });
}

/** A step names a step that no plugin provides. */
export function errUnknownStep(uses: string, details: ErrorDetails = {}): PlaybookError {
  return new PlaybookError('UNKNOWN_STEP', `Unknown step "${uses}"`, details);
}

/** An expression reads a step id that does not exist (or has not run yet). */
export function errUnknownStepId(id: string, details: ErrorDetails = {}): PlaybookError {
  return new PlaybookError('UNKNOWN_STEP_ID', `Unknown step id "${id}"`, details);
}

/** The command line is wrong. */
export function errUsage(message: string, hint?: string): PlaybookError {
  return new PlaybookError('USAGE', message, { hint });
}

/** The YAML does not parse. */
export function errYamlSyntax(message: string, details: ErrorDetails = {}): PlaybookError {
  return new PlaybookError('YAML_SYNTAX', message, details);
}

/** Describe a value for an "Expected …, got …" message. */
export { describeValue };
