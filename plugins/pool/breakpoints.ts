/**
 * Breakpoints the pool plugins set in kd, remembered for the whole run (like undo.ts does for
 * memory writes) and logged to breakpoints.jsonl as they are set and cleared, so a step that dies
 * leaves a record and a later cleanup can clear them with `bc`.
 *
 * A kd software breakpoint is an `int 3` in the target's code: kd writes it when the target
 * resumes and puts the original byte back at every stop, so a halted target never shows it
 * (`db` reads the original byte). It is still patched code while the target runs, which is why
 * every exit path of the step clears it (safety invariant 2). Breakpoints belong to the kd
 * session: a kd.exe that dies while the target runs cannot put the bytes back, and the target
 * stops at the next pass through one, waiting for a debugger (a new kd shows it as a break
 * instruction exception at the site). leakhunt owns its kd process, which starts with no
 * breakpoints, so ids are handed out here, lowest free first.
 */
import type { DebuggerSession, StepContext } from '../../src/core/types.js';
import { kd } from './kd.js';

/** Breakpoints set in kd by this run, by session. */
export const BREAKPOINTS_FILE = 'breakpoints.jsonl';

/** One breakpoint set in kd. */
export interface SetBreakpoint {
  id: number;
  /** Lowercase hex, no backtick or 0x. */
  address: string;
  purpose: string;
  step: string;
}

const bySession = new WeakMap<DebuggerSession, Map<number, SetBreakpoint>>();

// The breakpoints of this run's session.
function tableOf(ctx: Pick<StepContext, 'session'>): Map<number, SetBreakpoint> {
  let table = bySession.get(ctx.session);
  if (!table) {
    table = new Map();
    bySession.set(ctx.session, table);
  }
  return table;
}

/** A hex code address fit for a kd command line (nothing else can reach kd through it). */
export function checkedAddress(address: string): string {
  if (!/^[0-9a-f]{1,16}$/.test(address)) throw new Error(`not a code address: ${JSON.stringify(address)}`);
  return address;
}

/**
 * Reserve an id for a breakpoint at `address` and log it; returns the `bp` command that sets
 * it (`bp0 f7a0101a "r eax; g"`) for the caller to send.
 */
export function planBreakpoint(ctx: StepContext, address: string, command: string | undefined, purpose: string): { breakpoint: SetBreakpoint; text: string } {
  const table = tableOf(ctx);
  let id = 0;
  while (table.has(id)) id++;
  const breakpoint: SetBreakpoint = { id, address: checkedAddress(address), purpose, step: ctx.step.id };
  table.set(id, breakpoint);
  ctx.files.appendJsonLine(BREAKPOINTS_FILE, { event: 'set', ...breakpoint, time: new Date().toISOString() });
  return { breakpoint, text: `bp${id} ${address}${command === undefined ? '' : ` "${command}"`}` };
}

/** Forget breakpoints kd has cleared (`bc` ran without error) and log it. */
export function markCleared(ctx: StepContext, ids: readonly number[]): void {
  const table = tableOf(ctx);
  for (const id of ids) {
    if (!table.delete(id)) continue;
    ctx.files.appendJsonLine(BREAKPOINTS_FILE, { event: 'cleared', id, time: new Date().toISOString() });
  }
}

/** Breakpoints of this run not yet cleared, oldest id first. */
export function pendingBreakpoints(ctx: Pick<StepContext, 'session'>): SetBreakpoint[] {
  return [...tableOf(ctx).values()].sort((a, b) => a.id - b.id);
}

/** `bc 0 1 2` for the given ids; undefined when there are none. */
export function clearCommand(ids: readonly number[]): string | undefined {
  return ids.length === 0 ? undefined : `bc ${[...ids].sort((a, b) => a - b).join(' ')}`;
}

/** Clear every pending breakpoint of this run (the target must be halted); for cleanup steps. */
export async function clearPendingBreakpoints(ctx: StepContext): Promise<number[]> {
  const ids = pendingBreakpoints(ctx).map((bp) => bp.id);
  const command = clearCommand(ids);
  if (!command) return [];
  await kd(ctx, command);
  markCleared(ctx, ids);
  return ids;
}
