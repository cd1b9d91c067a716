/**
 * Coded errors of the debugger layer (transport, replay, target memory, connect).
 * Messages are redacted on construction, so no connection secret can leak through one.
 *
 * @see ../../docs/targets.md
 */
import { redactSecrets } from './redact.js';

/** Every code the debugger layer throws (sorted). */
export type DebuggerErrorCode =
  | 'BREAK_IN_FAILED'
  | 'BREAK_IN_UNSUPPORTED'
  | 'DEBUGGER_EXITED'
  | 'DEBUGGER_NOT_FOUND'
  | 'FACTS_UNAVAILABLE'
  | 'INVALID_COMMAND'
  | 'INVALID_TARGET_SPEC'
  | 'MEMORY_ACCESS_FAILED'
  | 'MEMORY_VERIFY_FAILED'
  | 'REPLAY_DIVERGED'
  | 'RUN_LIMIT_REACHED'
  | 'SESSION_ABORTED'
  | 'SESSION_CLOSED'
  | 'SESSION_TIMEOUT'
  | 'TARGET_HALTED'
  | 'TARGET_RUNNING'
  | 'TRANSCRIPT_INVALID'
  | 'UNDO_LOG_INVALID'
  | 'UNSAFE_VALUE';

/** Runtime list of the codes; a Record so a new code fails compilation until listed. */
export const debuggerErrorCodes: Readonly<Record<DebuggerErrorCode, 1>> = {
  BREAK_IN_FAILED: 1,
  BREAK_IN_UNSUPPORTED: 1,
  DEBUGGER_EXITED: 1,
  DEBUGGER_NOT_FOUND: 1,
  FACTS_UNAVAILABLE: 1,
  INVALID_COMMAND: 1,
  INVALID_TARGET_SPEC: 1,
  MEMORY_ACCESS_FAILED: 1,
  MEMORY_VERIFY_FAILED: 1,
  REPLAY_DIVERGED: 1,
  RUN_LIMIT_REACHED: 1,
  SESSION_ABORTED: 1,
  SESSION_CLOSED: 1,
  SESSION_TIMEOUT: 1,
  TARGET_HALTED: 1,
  TARGET_RUNNING: 1,
  TRANSCRIPT_INVALID: 1,
  UNDO_LOG_INVALID: 1,
  UNSAFE_VALUE: 1,
};

/** Extra data a debugger error may carry. */
export interface DebuggerErrorDetails {
  hint?: string;
  /** What the debugger had printed when the error happened (redacted). */
  output?: string;
  /** The command in flight, if any (redacted). */
  command?: string;
  /** REPLAY_DIVERGED: position of the first divergent command (0-based) and both texts. */
  index?: number;
  expected?: string;
  got?: string;
  cause?: unknown;
}

const brand = Symbol.for('leakhunt.DebuggerError');

/** An error of the debugger layer: a stable code and a message that quotes its subject. */
export class DebuggerError extends Error {
  readonly code: DebuggerErrorCode;
  hint?: string;
  output?: string;
  command?: string;
  index?: number;
  expected?: string;
  got?: string;

  constructor(code: DebuggerErrorCode, message: string, details: DebuggerErrorDetails = {}) {
    super(redactSecrets(message), details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    const { cause: _cause, ...rest } = details;
    for (const [key, value] of Object.entries(rest)) {
      if (value !== undefined) (this as Record<string, unknown>)[key] = typeof value === 'string' ? redactSecrets(value) : value;
    }
    Object.defineProperty(this, brand, { value: true });
  }

  /** A plain object for JSON events and files (no stack). */
  toJSON(): Record<string, unknown> {
    const { code, message, hint, command, index, expected, got } = this;
    return Object.fromEntries(Object.entries({ code, message, hint, command, index, expected, got }).filter(([, v]) => v !== undefined));
  }
}
DebuggerError.prototype.name = 'DebuggerError';

/** True for a DebuggerError from any copy of this module (checked by brand, not instanceof). */
export function isDebuggerError(value: unknown): value is DebuggerError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true;
}
