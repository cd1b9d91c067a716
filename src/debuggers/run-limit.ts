/**
 * Run limits: how long a running target may run before the caller breaks in.
 *
 * A caller that lets the target run for a while (between two `!poolused` snapshots, while a
 * retagged site fills its tag, while collection waits for hits) sets a limit with
 * `DebuggerSession.limitRun(ms)`. Against a real kd that is a host timer: once the time is up the
 * session's wait ends with SESSION_TIMEOUT and the caller breaks in. The simulator's clock is not
 * the host's: it runs a scaled target clock, and how much target time passes in a second of host
 * time depends on the host's load. So a session whose channel leads to the simulator hands the
 * limit to the simulator instead: the simulator runs exactly that much target time (as fast as the
 * host allows), holds its clock still, and says so; the caller then breaks in as it would on the
 * host timer. The kd commands are the same either way, and a hunt on the simulator gives the same
 * verdict however loaded the host is.
 *
 * The side channel, between leakhunt and a simulator it started: a line on the simulator's
 * standard input that starts with an ASCII record separator (a character kd's command line never
 * holds), `\x1elimit <ms>` or `\x1elimit off`, and the line `\x1ereached` on the simulator's
 * standard error when a limit's time has run. It is never sent to anything but the simulator.
 */
import { isDebuggerError } from './errors.js';

/** The first character of every side-channel line. */
export const RUN_LIMIT_MARK = '\u001e';

/** The simulator's line when a limit's time has run. */
export const RUN_LIMIT_REACHED = `${RUN_LIMIT_MARK}reached`;

/**
 * The line that sets a limit of `ms` of host time from now (counting only while the target runs),
 * narrowed to an earlier limit still in force; `undefined` lifts every limit.
 */
export function runLimitLine(ms: number | undefined): string {
  return `${RUN_LIMIT_MARK}limit ${ms === undefined ? 'off' : String(Math.max(0, Math.round(ms)))}\n`;
}

/** A side-channel line read back: a limit in ms, `off`, or undefined when the line is not one. */
export function readRunLimitLine(line: string): { ms: number } | 'off' | undefined {
  const match = /^\u001elimit (off|\d+)\s*$/.exec(line);
  if (!match) return undefined;
  return match[1] === 'off' ? 'off' : { ms: Number(match[1]) };
}

/** Did a wait end because its run limit ran out (the caller then breaks in)? */
export function isRunLimitReached(error: unknown): boolean {
  return isDebuggerError(error) && error.code === 'RUN_LIMIT_REACHED';
}

/** The part of a channel that carries run limits to a simulator (absent on every other channel). */
export interface RunLimitLink {
  /** Set (narrow) or lift the limit, as `runLimitLine` says. */
  set(ms: number | undefined): void;
  /** Called each time the simulator says a limit's time has run (the target holds still until the break-in). */
  onReached(listener: () => void): void;
}
