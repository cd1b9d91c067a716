/**
 * kd's software breakpoints as the simulated console keeps them: `bp`/`bu` with an optional id,
 * passes and a command string, `bc`/`bd`/`be` over id lists, and the `bl` listing.
 *
 * Shapes: `bp` prints nothing on success (bl-win7-x86-1.txt); `bl` lines are
 * ` 0 e 8c295d64     0001 (0001) HEVD!TriggerNonPagedPoolOverflow+0xe6` (bl-win7-x86-1.txt,
 * bl-win10-x64-1.txt: no DML link texts, the console kd's plain form); a breakpoint's command is
 * shown after the symbol in quotation marks (kd's bl documentation; no public capture shows one);
 * `breakpoint N redefined` when a breakpoint is set where one already is (kd's .bpcmds
 * documentation). A hit prints `Breakpoint N hit` (bphit-win7-x86-1.txt, bphit-win7-x64-1.txt).
 */

/** One breakpoint. */
export interface Breakpoint {
  id: number;
  address: bigint;
  enabled: boolean;
  /** `bu` breakpoints keep their expression (they are not re-resolved in the simulator: modules never move). */
  unresolved: boolean;
  /** Passes before the breakpoint activates (`bp Address Passes`), and how many are left. */
  passes: number;
  passesLeft: number;
  command?: string;
}

/** What `bp`/`bu` asked for, before the address is evaluated. */
export interface BreakpointRequest {
  id?: number;
  unresolved: boolean;
  /** The address expression and anything after it but the command string (passes). */
  location: string;
  command?: string;
}

/** Read a `"…"` string at `start` (kd's command strings take `\"` and `\\` escapes); undefined when unterminated. */
export function readQuoted(text: string, start: number): { value: string; end: number } | undefined {
  if (text[start] !== '"') return undefined;
  let value = '';
  for (let index = start + 1; index < text.length; index++) {
    const char = text[index]!;
    if (char === '\\' && (text[index + 1] === '"' || text[index + 1] === '\\')) {
      value += text[index + 1];
      index++;
      continue;
    }
    if (char === '"') return { value, end: index + 1 };
    value += char;
  }
  return undefined;
}

/** `bp[ID] Address [Passes] ["CommandString"]` (also `bu`); undefined when the syntax is not kd's. */
export function parseBreakpointCommand(verb: 'bp' | 'bu', id: string, args: string): BreakpointRequest | undefined {
  const quote = args.indexOf('"');
  let location = quote < 0 ? args : args.slice(0, quote);
  let command: string | undefined;
  if (quote >= 0) {
    const quoted = readQuoted(args, quote);
    if (!quoted || args.slice(quoted.end).trim() !== '') return undefined;
    command = quoted.value;
  }
  location = location.trim();
  if (location === '') return undefined;
  return { ...(id !== '' && { id: Number(id) }), unresolved: verb === 'bu', location, ...(command !== undefined && { command }) };
}

/** The ids an id list names (`0 2`, `1,3`, `1-3`, `*`) among the existing ones; undefined on bad syntax. */
export function selectIds(args: string, existing: readonly number[]): number[] | undefined {
  const text = args.trim();
  if (text === '*') return [...existing];
  if (text === '') return [];
  const ids = new Set<number>();
  for (const part of text.split(/[\s,]+/)) {
    const range = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!range) return undefined;
    const low = Number(range[1]);
    const high = range[2] === undefined ? low : Number(range[2]);
    for (const id of existing) if (id >= low && id <= high) ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

/** The breakpoint table of one debugger session. */
export class BreakpointTable {
  private readonly byId = new Map<number, Breakpoint>();

  /** Every breakpoint, by id. */
  list(): Breakpoint[] {
    return [...this.byId.values()].sort((a, b) => a.id - b.id);
  }

  /** Ids in use. */
  ids(): number[] {
    return this.list().map((bp) => bp.id);
  }

  /** Set or redefine a breakpoint; returns it and whether an existing one was redefined. */
  set(request: Omit<Breakpoint, 'id' | 'enabled' | 'passesLeft'> & { id?: number }): { breakpoint: Breakpoint; redefined: boolean } {
    const atAddress = this.list().find((bp) => bp.address === request.address);
    let id = request.id ?? atAddress?.id;
    if (id === undefined) {
      id = 0;
      while (this.byId.has(id)) id++;
    }
    const redefined = this.byId.has(id) || (atAddress !== undefined && atAddress.id !== id);
    if (atAddress && atAddress.id !== id) this.byId.delete(atAddress.id);
    const breakpoint: Breakpoint = {
      id, address: request.address, enabled: true, unresolved: request.unresolved, passes: request.passes, passesLeft: request.passes,
      ...(request.command !== undefined && request.command !== '' && { command: request.command }),
    };
    this.byId.set(id, breakpoint);
    return { breakpoint, redefined };
  }

  /** Remove breakpoints by id. */
  clear(ids: readonly number[]): void {
    for (const id of ids) this.byId.delete(id);
  }

  /** Enable or disable breakpoints by id. */
  enable(ids: readonly number[], enabled: boolean): void {
    for (const id of ids) {
      const bp = this.byId.get(id);
      if (bp) bp.enabled = enabled;
    }
  }

  /** The enabled breakpoint at an address, if any. */
  at(address: bigint): Breakpoint | undefined {
    for (const bp of this.byId.values()) if (bp.enabled && bp.address === address) return bp;
    return undefined;
  }

  /** Forget every breakpoint (a new debugger session). */
  reset(): void {
    this.byId.clear();
  }
}

/** One `bl` line: ` 0 e 8c295d64     0001 (0001) HEVD!Function+0xe6 "command"`. */
export function blLine(bp: Breakpoint, addressText: string, symbol: string | undefined): string {
  const passes = (count: number): string => count.toString(16).padStart(4, '0');
  // `u` marks a bu breakpoint no loaded module matches; the simulator's modules always resolve.
  const flags = bp.enabled ? 'e' : 'd';
  const command = bp.command !== undefined ? ` "${bp.command}"` : '';
  return `${String(bp.id).padStart(2, ' ')} ${flags} ${addressText}     ${passes(bp.passesLeft)} (${passes(bp.passes)}) ${symbol ?? ''}${command}`;
}
