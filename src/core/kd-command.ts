/**
 * `ctx.kd(command)`, the one way a provider sends a non-go command and reads the reply: kd's
 * error replies (it has no status code) become coded errors, a reply cut short is an error
 * unless the provider accepts it, and the reply is read by its kind's parser (src/kd).
 *
 * @see ../../docs/plugins.md
 */
import { KdParseError, type ParseResultBase } from '../kd/common.js';
import { parseKdError } from '../kd/errors.js';
import type { KdKind } from '../kd/index.js';
import { kindForCommand } from '../kd/transcript.js';
import { errKdCommandFailed, errKdCommandIncomplete, errKdOutputUnreadable, errPoolTagsUnavailable } from './errors.js';
import type { Facts, KdCommand, KdCommandOptions, KdReply, StepContext } from './types.js';

/** What runKdCommand needs of a step context. */
export type KdCommandContext = Pick<StepContext, 'session' | 'signal' | 'facts' | 'step'>;

// The parser for a command: the one asked for, else the one the command calls for.
function kindFor(command: string, parse: KdCommandOptions['parse']): KdKind | undefined {
  if (parse === false) return undefined;
  return parse ?? (kindForCommand(command) as KdKind | undefined);
}

/** Run one command for a provider (the implementation behind `ctx.kd`). */
export async function runKdCommand(ctx: KdCommandContext, command: string, options: KdCommandOptions = {}): Promise<KdReply> {
  const result = await ctx.session.execute(command, { ...(options.timeoutMs !== undefined && { timeoutMs: options.timeoutMs }), signal: ctx.signal });
  const where = { step: ctx.step.id, location: ctx.step.location };
  const reply = parseKdError(result.output);
  if (reply) throw errKdCommandFailed(command, reply, where);
  if (!result.complete && !options.allowIncomplete) throw errKdCommandIncomplete(command, options.timeoutMs, where);
  const kind = kindFor(command, options.parse);
  if (kind === undefined) return { ...result, parsed: undefined };
  // The parsers load with the first command that needs one, not with every plugin (start-up time).
  const { parseKind } = await import('../kd/index.js');
  let parsed: ParseResultBase;
  try {
    parsed = parseKind(kind, result.output, kind === 'break' ? { command } : undefined);
  } catch (error) {
    if (!(error instanceof KdParseError)) throw error;
    if (kind === 'poolused') throw poolTagsUnavailable(ctx.facts, `it printed no tag table ("${firstLine(result.output)}")`, where);
    throw errKdOutputUnreadable(command, kind, error.message, where);
  }
  return { ...result, kind, parsed };
}

/** Bind runKdCommand to a context, as the engine does for `ctx.kd`. */
export function bindKdCommand(ctx: KdCommandContext): KdCommand {
  return ((command: string, options?: KdCommandOptions) => runKdCommand(ctx, command, options)) as KdCommand;
}

/**
 * The error for a `!poolused` that shows no tags, saying why from the facts: pool tagging off
 * in this boot (2000/XP without GlobalFlag 0x400 at boot) or nt symbols missing.
 */
export function poolTagsUnavailable(facts: Pick<Facts, 'pool'>, reason: string, details: { step?: string } = {}) {
  return errPoolTagsUnavailable(reason, facts.pool.taggingEnabled, details);
}

// The first non-blank line of an output, for messages.
function firstLine(output: string): string {
  return output.split('\n').find((line) => line.trim() !== '')?.trim() ?? '';
}
