/**
 * Everything specific to the kd console's dialect: its prompts, the `.echo` framing, which
 * commands let the target run, how a stop and a reconnect read. A second WinDbg-compatible
 * console (another prompt, another break-in) is added by writing another ConsoleDialect.
 *
 * @see ../../docs/targets.md
 */
import type { BreakKind, GoCommand } from '../core/types.js';

/** How a console tells what happened when the target stopped. */
export interface StopClassification {
  kind: BreakKind;
  bugcheck?: { code: number; args: string[] };
}

/** What a connect or reconnect banner says about the link. */
export interface ConnectionBanner {
  /** `net` (KDNET), `pipe` (COM over a named pipe), `serial` (COM port), `local` (`-kl`), or `unknown`. */
  transport: 'net' | 'pipe' | 'serial' | 'local' | 'unknown';
  /** `Shutdown occurred at (…)` was printed: the target rebooted under the debugger. */
  shutdown: boolean;
  /** `Waiting to reconnect...` was printed. */
  waiting: boolean;
  /** `Kernel Debugger connection established.` was printed. */
  established: boolean;
  /** The connection line carried `(Initial Breakpoint requested)`. */
  initialBreak: boolean;
  /** NET: `Connected to target <ip> on port <n>`; pipe: the pipe path; serial: the port. */
  endpoint?: string;
}

/** The parts of one console's language the transport needs. */
export interface ConsoleDialect {
  readonly name: string;
  /** The prompt that ends a line consisting only of prompts (`kd> `, `0: kd> `, `kd> kd> `), else undefined. */
  promptOf(line: string): string | undefined;
  /** Length of the run of prompts at the start of a line (0 when none). */
  leadingPromptLength(line: string): number;
  /** True for commands after which the console reads nothing until the target stops. */
  isGoCommand(command: string): boolean;
  /** A marker text unique to one session (nonce) and command (sequence). */
  syncMarker(nonce: string, sequence: number): string;
  /** The command that makes the console print the marker on a line of its own. */
  syncCommand(marker: string): string;
  /** The command that ends the debugger (the target stays as it is). */
  readonly quitCommand: string;
  /** The command that resumes the target. */
  readonly resumeCommand: GoCommand;
  /** Why the target stopped, from what the console printed since the go command. */
  classifyStop(output: string, context: { breakInRequested: boolean; goCommand?: string }): StopClassification;
  /** What a connect or reconnect banner says; `established` false while still waiting. */
  readConnection(text: string): ConnectionBanner;
}

// One prompt: `kd> `, `N: kd> ` (one or two digits) or `lkd> ` (local kernel debugging).
const promptSource = String.raw`(?:\d{1,2}: kd> |kd> |lkd> )`;
const promptRunPattern = new RegExp(`^(?:${promptSource})+`);
const promptOnlyPattern = new RegExp(`^(?:${promptSource})*(${promptSource})$`);

// First word of each `;`-separated part; go-class words let the target run.
const goWords = new Set(['g', 'gh', 'gn', 'gu', 'p', 'pa', 'pc', 'pt', 'ph', 't', 'ta', 'tb', 'tc', 'tt', 'th', 'wt', '.reboot', '.crash', '.restart']);

// Bugcheck line and its argument list on the next line: `*** Fatal System Error: 0x000000c4` / `(0x…,0x…)`.
const bugcheckPattern = /\*\*\* Fatal System Error: 0x([0-9a-fA-F]{1,16})[^\n]*\n\s*\(([^)\n]*)\)/;

/** The kd / cdb console dialect (also spoken by the simulator process). */
export const kdDialect: ConsoleDialect = {
  name: 'kd',
  promptOf(line) {
    const match = promptOnlyPattern.exec(line);
    return match ? match[1] : undefined;
  },
  leadingPromptLength(line) {
    const match = promptRunPattern.exec(line);
    return match ? match[0].length : 0;
  },
  isGoCommand(command) {
    return command.split(';').some((part) => {
      const word = part.trim().replace(/^["']+/, '').split(/\s+/)[0]?.toLowerCase() ?? '';
      return goWords.has(word);
    });
  },
  syncMarker(nonce, sequence) {
    return `LHSYNC_${nonce}_${sequence}_END`;
  },
  syncCommand(marker) {
    return `.echo ${marker}`;
  },
  quitCommand: 'q',
  resumeCommand: 'g',
  classifyStop(output, context) {
    const bugcheck = bugcheckPattern.exec(output);
    if (bugcheck) {
      const args = bugcheck[2]!.split(',').map((arg) => arg.trim()).filter((arg) => arg.length > 0).map((arg) => BigInt(arg.startsWith('0x') || arg.startsWith('0X') ? arg : `0x${arg}`).toString(16));
      return { kind: 'bugcheck', bugcheck: { code: Number.parseInt(bugcheck[1]!, 16), args } };
    }
    const connection = this.readConnection(output);
    if (connection.shutdown || connection.established) return { kind: 'reconnect' };
    if (context.breakInRequested || output.includes('You are seeing this message because you pressed')) return { kind: 'break-in' };
    if (/Break instruction exception - code 80000003|Breakpoint \d+ hit/.test(output)) return { kind: 'breakpoint' };
    const go = context.goCommand?.trim().split(/\s+/)[0]?.toLowerCase();
    if (go !== undefined && go !== 'g' && go !== '.reboot') return { kind: 'step' };
    return { kind: 'breakpoint' };
  },
  readConnection(text) {
    const net = /Connected to target (\S+) on port (\d+)/.exec(text);
    const opened = /^Opened (\\\\\.\\(?:pipe\\)?\S+)/m.exec(text);
    let transport: ConnectionBanner['transport'] = 'unknown';
    let endpoint: string | undefined;
    if (net || /Using NET for debugging/.test(text)) {
      transport = 'net';
      endpoint = net ? `${net[1]}:${net[2]}` : undefined;
    } else if (opened) {
      transport = /\\pipe\\/i.test(opened[1]!) ? 'pipe' : 'serial';
      endpoint = opened[1];
    } else if (/Using (?:COM|com)\S* port|Opened COM\d/.test(text)) {
      transport = 'serial';
    } else if (/Local kernel debugging|lkd> /.test(text)) {
      transport = 'local';
    }
    return {
      transport,
      ...(endpoint !== undefined && { endpoint }),
      shutdown: /Shutdown occurred at /.test(text),
      waiting: /Waiting to reconnect\.\.\./.test(text),
      established: /Kernel Debugger connection established\./.test(text),
      initialBreak: /\(Initial Breakpoint requested\)/.test(text),
    };
  },
};
