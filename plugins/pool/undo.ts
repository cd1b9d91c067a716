/**
 * Memory writes made by the plugins, as the engine keeps them: one TargetMemory serves the whole
 * run (each undo record names the step that wrote it), so `pool.hit-tag clear` and
 * `memory.restore` see the writes of earlier steps in `ctx.memory.pending()`.
 */
import type { StepContext, TargetMemory, UndoRecord } from '../../src/core/types.js';

/** A write and the memory that holds its undo record. */
export interface TrackedWrite {
  /** Restore order: higher is newer (the undo record's sequence number). */
  order: number;
  record: UndoRecord;
  memory: TargetMemory;
}

/** Write through ctx.memory: the original is in the undo log before the bytes change. */
export async function trackedWrite(ctx: StepContext, address: string, bytes: readonly number[], purpose: string): Promise<UndoRecord> {
  return ctx.memory.write(address, bytes, purpose);
}

/** Writes of this run not yet restored (any step), oldest first, optionally by purpose prefix. */
export function pendingWrites(ctx: StepContext, purposePrefix?: string): TrackedWrite[] {
  return ctx.memory
    .pending()
    .filter((record) => purposePrefix === undefined || record.purpose.startsWith(purposePrefix))
    .map((record) => ({ order: record.seq, record, memory: ctx.memory }))
    .sort((a, b) => a.order - b.order);
}

/** Restore writes newest first, each through the memory that holds it; returns the records restored. */
export async function restoreWrites(writes: readonly TrackedWrite[]): Promise<UndoRecord[]> {
  const restored: UndoRecord[] = [];
  for (const write of [...writes].sort((a, b) => b.order - a.order)) {
    restored.push(...(await write.memory.restore([write.record])));
  }
  return restored;
}
