/**
 * The undo log (`undo.jsonl` in a run directory): every memory write's original bytes, logged
 * before the write, and each restore. It lives in the core because it is one of the engine's
 * safety mechanisms (no exit path leaves patched code behind): resume and recovery read it
 * whatever debugger wrote it; src/debuggers/memory.ts writes it.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DebuggerError } from '../debuggers/errors.js';
import type { UndoRecord } from './types.js';

/** The undo log's file name inside a run directory. */
export const undoLogName = 'undo.jsonl';

/** One line of undo.jsonl: a write about to be made, or the restore of an earlier one. */
export type UndoLogLine = ({ event: 'write' } & UndoRecord) | { event: 'restored'; seq: number; address: string; ts: string; /** The step that restored it (`engine`, `recover` outside steps). */ step?: string; note?: string };

/** The writes of a run directory's undo log that were never restored, oldest first (empty when there is no log). */
export function loadPendingUndo(runDir: string): UndoRecord[] {
  const file = join(runDir, undoLogName);
  if (!existsSync(file)) return [];
  // A device or a pipe in its place (a link to /dev/full, /dev/zero) would be read for ever.
  if (!statSync(file).isFile()) throw new DebuggerError('UNDO_LOG_INVALID', `${file}:1:1: not a regular file`);
  const writes = new Map<number, UndoRecord>();
  const lines = readFileSync(file, 'utf8').split('\n');
  const lastLine = lines.map((l) => l.trim() !== '').lastIndexOf(true);
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    let value: UndoLogLine;
    try {
      value = JSON.parse(line) as UndoLogLine;
    } catch (error) {
      // A line cut by a crash can only be the last one; anything else is a damaged log.
      if (index === lastLine) return;
      throw new DebuggerError('UNDO_LOG_INVALID', `${file}:${index + 1}:1: not a JSON line`, { cause: error });
    }
    if (value.event === 'write') {
      const { event: _event, ...record } = value;
      if (typeof record.seq !== 'number' || typeof record.address !== 'string' || !Array.isArray(record.original)) {
        throw new DebuggerError('UNDO_LOG_INVALID', `${file}:${index + 1}:1: a write needs seq, address and original`);
      }
      writes.set(record.seq, record);
    } else if (value.event === 'restored') {
      writes.delete(value.seq);
    }
  });
  return [...writes.values()].sort((a, b) => a.seq - b.seq);
}
