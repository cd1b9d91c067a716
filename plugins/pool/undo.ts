/**
 * Run-wide bookkeeping of memory writes made through the plugins. A step's `ctx.memory` may be
 * scoped to that step, yet `pool.hit-tag clear` and `memory.restore` must undo writes of earlier
 * steps; each write is remembered with the memory that made it (keyed by the run's session), and
 * restored through that memory so its undo log and pending list stay true.
 */
import type { DebuggerSession, StepContext, TargetMemory, UndoRecord } from '../../src/core/types.js';

/** A write and the memory object that owns its undo record. */
export interface TrackedWrite {
  order: number;
  record: UndoRecord;
  memory: TargetMemory;
}

const writesBySession = new WeakMap<DebuggerSession, TrackedWrite[]>();
let counter = 0;

// The tracked writes of this run's session.
function listOf(ctx: Pick<StepContext, 'session'>): TrackedWrite[] {
  let list = writesBySession.get(ctx.session);
  if (!list) {
    list = [];
    writesBySession.set(ctx.session, list);
  }
  return list;
}

/** Write through ctx.memory (undo-logged) and remember the write for later steps. */
export async function trackedWrite(ctx: StepContext, address: string, bytes: readonly number[], purpose: string): Promise<UndoRecord> {
  const record = await ctx.memory.write(address, bytes, purpose);
  listOf(ctx).push({ order: ++counter, record, memory: ctx.memory });
  return record;
}

/** Writes not yet restored (this run, any step), oldest first, optionally by purpose prefix. */
export function pendingWrites(ctx: StepContext, purposePrefix?: string): TrackedWrite[] {
  const tracked = listOf(ctx).filter((w) => w.memory.pending().some((p) => p.seq === w.record.seq && p.address === w.record.address));
  const known = new Set(tracked.map((w) => w.record));
  // Writes made by ctx.memory directly (not through trackedWrite) count too.
  const untracked = ctx.memory
    .pending()
    .filter((p) => ![...known].some((k) => k.seq === p.seq && k.address === p.address && k.step === p.step))
    .map((record) => ({ order: 0, record, memory: ctx.memory }));
  return [...untracked, ...tracked]
    .filter((w) => purposePrefix === undefined || w.record.purpose.startsWith(purposePrefix))
    .sort((a, b) => a.order - b.order);
}

/** Restore writes newest first, each through the memory that made it; returns the records restored. */
export async function restoreWrites(writes: readonly TrackedWrite[]): Promise<UndoRecord[]> {
  const restored: UndoRecord[] = [];
  for (const write of [...writes].sort((a, b) => b.order - a.order)) {
    restored.push(...(await write.memory.restore([write.record])));
  }
  return restored;
}
