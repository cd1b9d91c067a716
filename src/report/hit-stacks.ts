/**
 * PoolHitTag stacks of a saved kd session, command by command, classified and attributed as the
 * live hunt does it (src/evidence/classify.ts): a stop followed by a stack command (`kb` typed by
 * hand), or a stop whose output holds the stack itself (`sxe -c "kb" bpe`, as pool.collect-stacks
 * sets it, so a run's transcript reads the same). A hunt's per-site breakpoints
 * (`bpN <return address> "r rax; g"`) print each new block's address with the next go's
 * output; allocations wait for it, as they do in the hunt. Pure: the caller reads the log.
 */
import { argValue, blockArguments, classifyStack, frameText, tagOfDword, type AllocatorFrames, type WrapperList } from '../evidence/classify.js';
import type { BreakResult } from '../kd/break.js';
import { KdParseError, normalizeAddress, padTag, splitLines } from '../kd/common.js';
import { parseStack, type StackFrame } from '../kd/stack.js';
import type { StackRecord } from '../evidence/pairing.js';

/** A classified stack and the log line it was found at. */
export type HitStack = StackRecord & { line: number };

/** How stacks are classified. */
export interface HitStackOptions {
  /** The allocator frames of the log's Windows version, asked for at the first stack (a banner comes first). */
  allocator: () => AllocatorFrames;
  wrappers?: WrapperList;
}

// An allocation waiting for the address its site's breakpoint prints.
interface PendingAllocation {
  stack: HitStack;
  returnAddress: string;
  /** True once a command after the stop was read: a breakpoint for the site would have been set by then. */
  armedChance: boolean;
}

// `bp0 fffff880`0100101e "r rax; g"` anywhere in a command line (also inside `sxe -c "…"`).
const BREAKPOINT = /\bbp(\d+)\s+(?:0x)?([0-9a-f`]{1,17})\b/gi;
// A register line of a breakpoint's command: the new block.
const RETURN_REGISTERS = ['rax', 'eax'] as const;

/** Follows a session's commands and stops and hands out each PoolHitTag stack, in the order the hunt would count them. */
export class HitStackReader {
  private readonly breakpoints = new Map<number, string>();
  private readonly pending: PendingAllocation[] = [];
  private stopLine: number | undefined;
  /** PoolHitTag stacks counted so far: the clock of lifetimes, as the live hunt counts its breaks. */
  hits = 0;

  constructor(
    private readonly options: HitStackOptions,
    private readonly emit: (stack: HitStack) => void,
  ) {}

  /** A command as typed (before its output): breakpoints it sets. */
  command(text: string): void {
    for (const match of text.matchAll(BREAKPOINT)) this.breakpoints.set(Number(match[1]), normalizeAddress(match[2]!).replace(/^0+(?=.)/, ''));
    for (const pending of this.pending) pending.armedChance = true;
  }

  /**
   * A go's output: the breakpoint hits kd ran through (a block's address for a waiting
   * allocation) and the stops; a stop followed by its stack (kd printed it: `sxe -c "kb" bpe`,
   * one stop after another in fast mode) is counted at once, a bare stop waits for a stack command.
   */
  stop(result: BreakResult, output: string, line: number, tag: string | undefined): void {
    const lines = splitLines(output);
    this.stopLine = undefined;
    const last = result.events.length - 1;
    result.events.forEach((event, index) => {
      // A numbered breakpoint kd ran through (its command ended in `g`) prints a block; the last
      // event of the output is where the target stopped, numbered (a user's `bp`) or not.
      if (event.breakpoint !== undefined && index < last) {
        this.hit(event.breakpoint, event.registers);
        return;
      }
      if (event.kind !== 'breakpoint') return;
      this.settleUnarmed();
      this.stopLine = line;
      const next = result.events.slice(index + 1).find((later) => later.line > event.line);
      const frames = stackIn(lines.slice(event.line - 1, next ? next.line - 1 : lines.length).join('\n'));
      if (frames) this.stack(frames, line, tag);
    });
  }

  // A breakpoint kd ran through: the block of the oldest allocation waiting at its address.
  private hit(id: number, registers: Record<string, string> | undefined): void {
    const address = this.breakpoints.get(id);
    const value = RETURN_REGISTERS.map((name) => registers?.[name]).find((found) => found !== undefined);
    const waiting = address === undefined ? -1 : this.pending.findIndex((pending) => pending.returnAddress === address);
    if (waiting >= 0) this.settle(this.pending.splice(waiting, 1)[0]!, value === undefined ? undefined : value.replace(/^0+(?=.)/, '').toLowerCase());
  }

  // Allocations whose site got no breakpoint by the next stop never will: counted without an address.
  private settleUnarmed(): void {
    const armed = new Set(this.breakpoints.values());
    for (let index = 0; index < this.pending.length; ) {
      const pending = this.pending[index]!;
      if (pending.armedChance && !armed.has(pending.returnAddress)) this.settle(this.pending.splice(index, 1)[0]!, undefined);
      else index++;
    }
  }

  /** Whether a stack command's output would be read now (right after a stop): a log reader parses it only then. */
  get wantsStack(): boolean {
    return this.stopLine !== undefined;
  }

  /** A stack command's frames; counted only right after a stop (other stacks are not PoolHitTag's). */
  stack(frames: readonly StackFrame[], line: number, tag: string | undefined): void {
    if (this.stopLine === undefined) return;
    this.stopLine = undefined;
    const c = classifyStack(frames, this.options.allocator(), this.options.wrappers);
    // Only a stack in the allocator (a PoolHitTag stop) is a pool stack; other breaks are ignored.
    if (c.operation === 'unknown') return;
    const stackTag = tag ?? tagFromArguments(frames[c.allocatorIndex], c.operation);
    const stack: HitStack = {
      kind: c.operation,
      frames: frames.map(frameText),
      ...(c.site && { site: c.site }),
      ...(c.culprit && { culprit: c.culprit }),
      ...(c.caller && !c.wrapped && { caller: c.caller }),
      ...(c.outside && { outside: c.outside }),
      ...(c.api && { api: c.api }),
      hit: ++this.hits,
      ...(stackTag !== undefined && { tag: padTag(stackTag) }),
      ...blockArguments(frames, c, stackTag),
      line,
    };
    if (c.operation === 'alloc' && c.returnAddress !== undefined && stack.address === undefined) {
      this.pending.push({ stack, returnAddress: c.returnAddress.replace(/^0+(?=.)/, ''), armedChance: false });
    } else this.emit(stack);
  }

  /** The end of the log: allocations still waiting are counted without an address. */
  finish(): void {
    for (const pending of this.pending.splice(0)) this.settle(pending, undefined);
  }

  // An allocation's block is known (or will not be): hand it out.
  private settle(pending: PendingAllocation, address: string | undefined): void {
    this.emit(address === undefined ? pending.stack : { ...pending.stack, address });
  }
}

// The stack kd printed after a stop, if any.
function stackIn(text: string): StackFrame[] | undefined {
  try {
    const frames = parseStack(text).frames;
    return frames.length > 0 ? frames : undefined;
  } catch (error) {
    if (error instanceof KdParseError) return undefined;
    throw error;
  }
}

// The tag in the API's `Args to Child` when no hit tag was seen set: Tag is the third argument of
// an allocation, the second of a free (x86 `kb`; x64 shows home space, where it may be absent).
function tagFromArguments(frame: StackFrame | undefined, operation: 'alloc' | 'free'): string | undefined {
  const value = argValue(frame, operation === 'alloc' ? 2 : 1);
  return value !== undefined && value <= 0xffffffffn ? tagOfDword(Number(value)) : undefined;
}
