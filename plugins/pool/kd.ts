/**
 * The pool plugins' one door to kd: send a command, fail with kd's own words when kd refused
 * it, and read the reply with the kd layer's parsers (src/kd), never with ad-hoc text matching.
 */
import type { BreakEvent, CommandResult, KdCommandOptions, StepContext } from '../../src/core/types.js';
import { isRunLimitReached } from '../../src/debuggers/run-limit.js';
import { parsePoolused } from '../../src/kd/poolused.js';
import { parsePoolfind } from '../../src/kd/poolfind.js';
import { parseStack, type StackFrame } from '../../src/kd/stack.js';
import { parseMemory } from '../../src/kd/memory.js';
import { parseDisasm, type Instruction } from '../../src/kd/disasm.js';
import { parseVertarget } from '../../src/kd/vertarget.js';
import { parseBreak, type StopEvent } from '../../src/kd/break.js';
import { parseRegisterValues, splitLines } from '../../src/kd/common.js';
import type { TagCount } from './growth.js';

/** Options of one kd command. */
export type KdOptions = Pick<KdCommandOptions, 'timeoutMs' | 'allowIncomplete'>;

/** Run one non-go command through the public `ctx.kd` (KD_COMMAND_FAILED / KD_COMMAND_INCOMPLETE); the pool readers below parse the reply. */
export function kd(ctx: StepContext, command: string, options: KdOptions = {}): Promise<CommandResult> {
  return ctx.kd(command, { ...options, parse: false });
}

/** Tag counters from `!poolused` text, per pool, outstanding = allocs − frees when kd shows frees. */
export function readPoolused(text: string): { counts: TagCount[]; complete: boolean } {
  const parsed = parsePoolused(text);
  const counts: TagCount[] = [];
  for (const row of parsed.rows) {
    for (const pool of ['paged', 'nonpaged'] as const) {
      const c = row[pool];
      if (!c) continue;
      const outstanding = c.frees !== undefined ? c.allocs - c.frees : c.allocs;
      if (outstanding === 0 && c.bytes === 0) continue;
      counts.push({ tag: row.tag, pool, bytes: c.bytes, outstanding, allocs: c.allocs, ...(c.frees !== undefined && { frees: c.frees }) });
    }
  }
  return { counts, complete: parsed.complete };
}

/** Every tag `!poolused` lists (either pool). */
export function poolusedTags(text: string): Set<string> {
  return new Set(parsePoolused(text).rows.map((row) => row.tag));
}

/** Hits of `!poolfind`. */
export function readPoolfind(text: string): { hits: { address: string; tag: string; size: number; pool: string; state?: string }[]; complete: boolean } {
  const parsed = parsePoolfind(text);
  return { hits: parsed.hits.map((h) => ({ address: h.address, tag: h.tag, size: h.size, pool: h.pool, ...(h.state && { state: h.state }) })), complete: parsed.complete };
}

/** Frames of `kb`/`kn`/`k`, innermost first, as src/kd parses them (src/evidence classifies these objects). */
export function readStack(text: string): StackFrame[] {
  return parseStack(text).frames;
}

/** Bytes of a `db` reply. */
export function readBytes(text: string): number[] {
  return parseMemory(text, 1).bytes ?? [];
}

/** Address and dwords of a `dd` reply. */
export function readDwords(text: string): { address: string; values: string[] } {
  const parsed = parseMemory(text, 4);
  return { address: parsed.address, values: parsed.values ?? [] };
}

/** Instructions of a `u` reply. */
export function readDisasm(text: string): Instruction[] {
  return parseDisasm(text).instructions;
}

/** The return register (`eax`/`rax`) after stepping out of the allocator: the new block's address. */
export async function readReturnRegister(ctx: StepContext): Promise<string | undefined> {
  const name = ctx.facts.os.pointerSize === 8 ? 'rax' : 'eax';
  const reply = await kd(ctx, `r ${name}`);
  const value = parseRegisterValues(reply.output)[name];
  return value === undefined ? undefined : value.replace(/^0+(?=.)/, '');
}

/** Split a stream of stops (fast mode: kd printed each break and its stack itself) into one text per stop. */
export function splitBreaks(text: string): string[] {
  if (text.trim() === '') return [];
  let events;
  try {
    events = parseBreak(text, { command: 'g' }).events.filter((e) => e.kind === 'breakpoint');
  } catch {
    return [];
  }
  const lines = splitLines(text);
  return events.map((event, i) => lines.slice(event.line - 1, (events[i + 1]?.line ?? lines.length + 1) - 1).join('\n'));
}

/** One event of what a go printed, in order: a `Breakpoint N hit` kd continued from by itself, or a stop and its text. */
export type GoEvent =
  | { kind: 'hit'; id: number; registers: Record<string, string> }
  | {
      kind: 'stop';
      /** From the stop's first line up to the next event (an event command's `kb` belongs to it). */
      text: string;
      /** What parseBreak took it for; absent when the text holds no recognisable stop. */
      stop?: StopEvent['kind'];
      /** Where the target stopped: the address on the instruction line (lowercase hex), when kd printed one. */
      address?: string;
    };

/**
 * Split the output of a go into its events in order: breakpoint hits whose commands let kd run
 * on (`r eax; g`), and stops, several of them when an event command continued from some (`sxe -c
 * "…; j (…) 'g' ; ''" bpe`), the last being where the target halted.
 */
export function readGoEvents(text: string): GoEvent[] {
  let events;
  try {
    events = parseBreak(text, { command: 'g' }).events;
  } catch {
    return text.trim() === '' ? [] : [{ kind: 'stop', text }];
  }
  const lines = splitLines(text);
  // Stack lines can read like bare instruction lines (`step` events): they belong to the stop above them.
  const starts = events.filter((event) => event.kind !== 'step');
  return starts.map((event, index): GoEvent => {
    if (event.breakpoint !== undefined) return { kind: 'hit', id: event.breakpoint, registers: event.registers ?? {} };
    const end = starts[index + 1]?.line ?? lines.length + 1;
    return { kind: 'stop', text: lines.slice(event.line - 1, end - 1).join('\n'), stop: event.kind, ...(event.instruction && { address: event.instruction.address }) };
  });
}

/** What one go printed: `Breakpoint N hit` stops kd continued from by itself, then the stop it halted at. */
export interface GoOutput {
  /** Breakpoint hits in order, with the registers their commands printed (`eax` → `8a3f0008`). */
  hits: { id: number; registers: Record<string, string> }[];
  /** Text of the last stop that is not a breakpoint hit (the PoolHitTag break and its stack). */
  stop?: string;
}

/** Split the output of a go into the breakpoint hits before its last stop and that stop. */
export function readGoOutput(text: string): GoOutput {
  const events = readGoEvents(text);
  const last = events.findLastIndex((event) => event.kind === 'stop');
  const hits: GoOutput['hits'] = [];
  let stop: string | undefined;
  events.forEach((event, index) => {
    if (event.kind === 'hit' && (last < 0 || index < last)) hits.push({ id: event.id, registers: event.registers });
    if (event.kind === 'stop' && index === last) stop = event.text;
  });
  return { hits, ...(stop !== undefined && { stop }) };
}

/** Target clock in ms (uptime from `vertarget`), falling back to the host clock when kd shows none. */
export async function targetClockMs(ctx: StepContext): Promise<{ ms: number; source: 'target' | 'host' }> {
  const result = await ctx.session.execute('vertarget', { signal: ctx.signal });
  const uptime = parseVertarget(result.output).uptime;
  if (typeof uptime === 'number') return { ms: Math.round(uptime * 1000), source: 'target' };
  return { ms: Date.now(), source: 'host' };
}

/**
 * Let the target run for `ms`, then break in (the step's signal cuts the wait short). The time is
 * a run limit (DebuggerSession.limitRun): on the simulator it is the target's own time, so the
 * same scenario runs the same however loaded the host is. Fails the step when the target stopped
 * by itself meanwhile (a bugcheck, a reboot): what ran is not what the step meant to measure.
 */
export async function runFor(ctx: StepContext, ms: number, progress?: string): Promise<void> {
  ctx.session.limitRun(ms);
  let stopped: BreakEvent | undefined;
  try {
    await ctx.session.resume('g');
    const ticker = progress === undefined ? undefined : tickProgress(ctx, ms, progress);
    try {
      stopped = await ctx.session.waitForBreak({ signal: ctx.signal });
    } catch (error) {
      if (!isRunLimitReached(error)) throw error;
    } finally {
      ticker?.stop();
      if (ctx.session.running) await ctx.session.breakIn({ timeoutMs: 30_000 });
    }
  } finally {
    ctx.session.limitRun(undefined);
  }
  if (stopped) {
    ctx.fail(
      stopped.kind === 'bugcheck' ? 'TARGET_BUGCHECK' : 'TARGET_STOPPED',
      `the target stopped by itself while running (${stopped.kind}${stopped.bugcheck ? ` 0x${stopped.bugcheck.code.toString(16)}` : ''})`,
      { hint: stopped.bugcheck?.code === 0xc2 ? 'BAD_POOL_CALLER: a free passed a tag other than its block\'s (a retagged site freed by an unpatched free site, or the reverse)' : undefined },
    );
  }
}

/**
 * Report progress of a wait of known length once a second (seconds done of seconds planned), so
 * a long retag run or a slow `!poolfind` shows it is alive; `stop()` ends the ticking.
 */
export function tickProgress(ctx: Pick<StepContext, 'progress'>, totalMs: number, message: string): { stop(): void } {
  const started = Date.now();
  const total = Math.max(1, Math.round(totalMs / 1000));
  const timer = setInterval(() => ctx.progress.update(Math.min(total, Math.round((Date.now() - started) / 1000)), total, message), 1000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

// A cancellable wait.
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
