/**
 * Reversible writes to target memory: every write reads the original first and appends an undo
 * record to the run directory's `undo.jsonl` before the bytes are written, so a crash at any
 * point leaves enough on disk to put the target back (`loadPendingUndo` in src/core/undo-log.ts). Restores run newest
 * first and are verified by reading back.
 *
 * @see ../../docs/targets.md
 */
import type { DebuggerSession, RunFiles, TargetMemory, UndoRecord } from '../core/types.js';
import { parseKdError } from '../kd/errors.js';
import { parseDb } from '../kd/memory.js';
import { undoLogName } from '../core/undo-log.js';
import { DebuggerError } from './errors.js';


/** Options for createTargetMemory. */
export interface TargetMemoryOptions {
  /** Writes left pending by an earlier run (from loadPendingUndo), to restore in this one. */
  pending?: readonly UndoRecord[];
  /** Timeout for each read and write command. */
  timeoutMs?: number;
}

// A hex address (`820f2ba4`, `fffff800`02c438e8`, `0x…`) or a symbol with an optional hex offset (`nt!PoolHitTag`, `abcflt!AbcAllocateContext+0x2a`).
const addressPattern = /^(?:(?:0x)?[0-9a-fA-F]{1,8}(?:`?[0-9a-fA-F]{8})?|(?:[A-Za-z_][A-Za-z0-9_]{0,63}!)?[A-Za-z_][A-Za-z0-9_@$?]{0,127}(?:\+(?:0x)?[0-9a-fA-F]{1,16})?)$/;

/** The most bytes one read or write may cover. */
export const maxMemoryLength = 0x1000;

/** Check an address or symbol expression before it reaches a debugger command (no `;`, quotes, spaces or newlines). */
export function validateAddress(address: string): string {
  if (typeof address !== 'string' || !addressPattern.test(address)) {
    throw new DebuggerError('UNSAFE_VALUE', `Expected a hex address or module!symbol[+0xoffset], got ${JSON.stringify(address)}`, { hint: 'examples: 820f2ba4, fffff800`02c438e8, nt!PoolHitTag, abcflt!AbcAllocateContext+0x2a' });
  }
  return address;
}

// Bytes must be integers 0–255, between 1 and maxMemoryLength of them.
function validateBytes(bytes: readonly number[]): void {
  if (!Array.isArray(bytes) || bytes.length === 0 || bytes.length > maxMemoryLength || !bytes.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    throw new DebuggerError('UNSAFE_VALUE', `Expected 1 to ${maxMemoryLength} bytes (integers 0–255), got ${JSON.stringify(bytes).slice(0, 80)}`);
  }
}

// Two-digit hex bytes separated by spaces, as `eb` takes them.
function hexBytes(bytes: readonly number[]): string {
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ');
}

/** A TargetMemory that can also close a pending record whose bytes were found already back. */
export interface RecoverableMemory extends TargetMemory {
  /** Log a pending record as restored without writing (the target already holds the original). */
  markRestored(record: UndoRecord, note: string): void;
}

/** Target memory over a session, logging undo records to `files` (undo.jsonl) before each write. */
export function createTargetMemory(session: DebuggerSession, files: RunFiles, stepId: string | (() => string), options: TargetMemoryOptions = {}): RecoverableMemory {
  const pending: UndoRecord[] = [...(options.pending ?? [])];
  let sequence = pending.reduce((max, record) => Math.max(max, record.seq), 0);
  const currentStep = (): string => (typeof stepId === 'function' ? stepId() : stepId);
  const commandOptions = options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs };

  // Run a command and turn an incomplete answer or a kd error reply into MEMORY_ACCESS_FAILED.
  async function run(command: string, address: string): Promise<string> {
    const result = await session.execute(command, commandOptions);
    const error = parseKdError(result.output);
    if (error) throw new DebuggerError('MEMORY_ACCESS_FAILED', `"${command}" failed: ${error.message}`, { command, output: result.output, hint: `check that ${address} is mapped and symbols are loaded (.reload)` });
    if (!result.complete) throw new DebuggerError('MEMORY_ACCESS_FAILED', `"${command}" did not finish`, { command, output: result.output });
    return result.output;
  }

  // Read bytes and the address kd resolved the expression to.
  async function readResolved(address: string, length: number): Promise<{ address: string; bytes: number[] }> {
    validateAddress(address);
    if (!Number.isInteger(length) || length < 1 || length > maxMemoryLength) {
      throw new DebuggerError('UNSAFE_VALUE', `Expected a length from 1 to ${maxMemoryLength}, got ${JSON.stringify(length)}`);
    }
    const command = `db ${address} L0x${length.toString(16)}`;
    const output = await run(command, address);
    const parsed = parseDb(output);
    const bytes = parsed.bytes ?? [];
    if (bytes.length < length) {
      throw new DebuggerError('MEMORY_ACCESS_FAILED', `"${command}" returned ${bytes.length} of ${length} bytes${parsed.unreadable ? ` (unreadable from ${parsed.unreadable})` : ''}`, { command, output });
    }
    return { address: parsed.address, bytes: bytes.slice(0, length) };
  }

  // Write bytes with `eb` and prove it by reading them back.
  async function writeVerified(address: string, bytes: readonly number[]): Promise<void> {
    await run(`eb ${address} ${hexBytes(bytes)}`, address);
    const back = (await readResolved(address, bytes.length)).bytes;
    if (back.some((b, i) => b !== bytes[i])) {
      throw new DebuggerError('MEMORY_VERIFY_FAILED', `Wrote ${hexBytes(bytes)} at ${address} but read back ${hexBytes(back)}`, { hint: 'the page may be read-only (HVCI/KDP) or the write raced the target' });
    }
  }

  // The bytes are back: a log that cannot be written must not make the restore count as failed
  // (the next run finds the original bytes there and closes the record itself).
  function logRestored(record: UndoRecord, note?: string): void {
    try {
      files.appendJsonLine(undoLogName, { event: 'restored', seq: record.seq, address: record.address, ts: new Date().toISOString(), step: currentStep(), ...(note !== undefined && { note }) });
    } catch {
      // reported by the run files' own error handler
    }
  }

  return {
    markRestored(record, note) {
      logRestored(record, note);
      const index = pending.findIndex((p) => p.seq === record.seq);
      if (index >= 0) pending.splice(index, 1);
    },
    async read(address, length) {
      return (await readResolved(address, length)).bytes;
    },
    async write(address, bytes, purpose) {
      validateBytes(bytes);
      const original = await readResolved(address, bytes.length);
      const record: UndoRecord = { seq: ++sequence, address: original.address, original: original.bytes, written: [...bytes], purpose, step: currentStep() };
      files.appendJsonLine(undoLogName, { event: 'write', ...record });
      pending.push(record);
      await writeVerified(record.address, bytes);
      return record;
    },
    async restore(records) {
      const chosen = [...(records ?? pending)].sort((a, b) => b.seq - a.seq);
      const restored: UndoRecord[] = [];
      let firstError: unknown;
      for (const record of chosen) {
        try {
          validateBytes(record.original);
          await writeVerified(validateAddress(record.address), record.original);
          logRestored(record);
          const index = pending.findIndex((p) => p.seq === record.seq);
          if (index >= 0) pending.splice(index, 1);
          restored.push(record);
        } catch (error) {
          firstError ??= error;
        }
      }
      if (firstError !== undefined) throw firstError;
      return restored;
    },
    pending() {
      return [...pending];
    },
  };
}
