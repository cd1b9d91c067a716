/**
 * Fault injection for `leakhunt sim --fault <spec>` (grammar in docs/simulator.md):
 * `exit-after:N`, `garbage:P`, `truncate:N`, `stall:N@S`, `reboot-at:T`, `reboot-at-hit:N`,
 * `hold-at:TEXT[#N]`, `hold-at-hit:N`.
 */
import { parseDuration } from '../../core/duration.js';

/** One injected fault. */
export type FaultSpec =
  /** The process exits (code 3) after N commands, as a debugger that dies. */
  | { kind: 'exit-after'; commands: number }
  /** Each response carries, with probability P, a garbage line first. */
  | { kind: 'garbage'; probability: number }
  /** Each response's text is cut after N characters (the prompt still follows). */
  | { kind: 'truncate'; characters: number }
  /** After command N, nothing is read or written for S seconds. */
  | { kind: 'stall'; afterCommands: number; seconds: number }
  /** The target reboots on its own when its clock reaches T (target ms since boot), once. */
  | { kind: 'reboot-at'; targetMs: number }
  /** The target reboots on its own when it is continued after its N-th PoolHitTag break, once. */
  | { kind: 'reboot-at-hit'; hits: number }
  /**
   * The target stops answering before the N-th command whose line contains `text` runs, until it
   * is released (SIGUSR2) or interrupted (Ctrl+C): a moment of the run a test can act at, however
   * fast the host.
   */
  | { kind: 'hold-at'; text: string; nth: number }
  /** Likewise at the N-th PoolHitTag break, before kd shows it. */
  | { kind: 'hold-at-hit'; hits: number };

/** A fault spec that does not follow the grammar. */
export class FaultSpecError extends Error {
  readonly code = 'SIM_BAD_FAULT';
  constructor(readonly spec: string, reason: string) {
    super(`Bad --fault "${spec}": ${reason}`);
    this.name = 'FaultSpecError';
  }
}

// A non-negative integer, or a FaultSpecError.
function integer(spec: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new FaultSpecError(spec, `expected a whole number, got "${text}"`);
  return Number(text);
}

/** Parse one `--fault` value. */
export function parseFault(spec: string): FaultSpec {
  const match = /^([a-z-]+):(.+)$/.exec(spec.trim());
  if (!match) throw new FaultSpecError(spec, 'expected <kind>:<value>, e.g. exit-after:5');
  const [, kind, value] = match;
  switch (kind) {
    case 'exit-after': return { kind, commands: integer(spec, value) };
    case 'truncate': return { kind, characters: integer(spec, value) };
    case 'reboot-at-hit':
    case 'hold-at-hit': {
      const hits = integer(spec, value);
      if (hits < 1) throw new FaultSpecError(spec, 'expected a break count of 1 or more');
      return { kind, hits };
    }
    case 'hold-at': {
      const parts = /^(.+?)(?:#(\d+))?$/.exec(value)!;
      const nth = parts[2] === undefined ? 1 : Number(parts[2]);
      if (nth < 1) throw new FaultSpecError(spec, 'expected hold-at:TEXT#N with N of 1 or more');
      return { kind, text: parts[1]!, nth };
    }
    case 'garbage': {
      const probability = Number(value);
      if (!Number.isFinite(probability) || probability < 0 || probability > 1) throw new FaultSpecError(spec, `expected a probability 0..1, got "${value}"`);
      return { kind, probability };
    }
    case 'stall': {
      const parts = /^(\d+)@(\d+(?:\.\d+)?)$/.exec(value);
      if (!parts) throw new FaultSpecError(spec, 'expected stall:N@S (after N commands stall S seconds)');
      return { kind, afterCommands: Number(parts[1]), seconds: Number(parts[2]) };
    }
    case 'reboot-at': {
      // A bare number here is seconds of target time (docs/simulator.md); units follow the one grammar.
      const targetMs = /^\d+(?:\.\d+)?$/.test(value) ? Number(value) * 1000 : parseDuration(value);
      if (targetMs === undefined) throw new FaultSpecError(spec, `expected a target time such as 30s or 2m (a bare number is seconds), got "${value}"`);
      return { kind, targetMs };
    }
    default:
      throw new FaultSpecError(spec, `unknown fault "${kind}" (exit-after, garbage, truncate, stall, reboot-at, reboot-at-hit, hold-at, hold-at-hit)`);
  }
}

/** The hold-at faults that stop a command line, counting how often each text was seen (`seen` is updated). */
export function holdsAtCommand(faults: readonly FaultSpec[], line: string, seen: Map<FaultSpec, number>): Extract<FaultSpec, { kind: 'hold-at' }>[] {
  const due: Extract<FaultSpec, { kind: 'hold-at' }>[] = [];
  for (const fault of faults) {
    if (fault.kind !== 'hold-at' || !line.includes(fault.text)) continue;
    const count = (seen.get(fault) ?? 0) + 1;
    seen.set(fault, count);
    if (count === fault.nth) due.push(fault);
  }
  return due;
}
