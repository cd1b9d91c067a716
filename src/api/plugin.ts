/**
 * `leakhunt/plugin`: everything a plugin author imports — the identity helpers, the whole
 * contract's types, the helpers every provider needs, and the coded errors they throw.
 * Nothing else of the engine is reachable from a plugin.
 *
 * @see ../../docs/plugins.md
 */
export { definePlugin, defineProvider } from '../core/plugin.js';
export { poolTagsUnavailable } from '../core/kd-command.js';
export { isRunLimitReached } from '../debuggers/run-limit.js';
export { isPlaybookError, PlaybookError } from '../core/errors.js';
export type { ErrorCode, ErrorDetails, SelectionCandidate, SelectionTrace } from '../core/errors.js';
export type {
  AppliesTo,
  Arch,
  BreakEvent,
  BreakKind,
  CheckContext,
  CommandResult,
  ConnectedTarget,
  ConnectOptions,
  DebuggerFacts,
  DebuggerSession,
  Facts,
  GoCommand,
  JsonSchema,
  KdCommand,
  KdCommandOptions,
  KdReply,
  OsFacts,
  OutputDeclaration,
  Plugin,
  PluginErrorDeclaration,
  PoolFacts,
  Progress,
  ResumeOptions,
  RunFiles,
  SourceLocation,
  StepContext,
  StepDefinition,
  StepLog,
  StepOutcome,
  StepProvider,
  StepResult,
  StepStatus,
  TargetFacts,
  TargetMemory,
  UndoRecord,
  WaitOptions,
} from '../core/types.js';
export type { KdErrorInfo, KdErrorKind } from '../kd/errors.js';
export type { KdKind, KdResultByKind } from '../kd/index.js';

import { isPlaybookError, type PlaybookError } from '../core/errors.js';

/** True for the error `ctx.kd` throws when kd answered with an error reply; its `kdReply` says which. */
export function isKdCommandError(value: unknown): value is PlaybookError & { code: 'KD_COMMAND_FAILED'; kdReply: import('../kd/errors.js').KdErrorInfo } {
  return isPlaybookError(value) && value.code === 'KD_COMMAND_FAILED' && value.kdReply !== undefined;
}
