/**
 * The run directory's `transcript.jsonl`: every command sent to the debugger and everything it
 * answered, one JSON line per event, appended as it happens (a crash loses nothing) and redacted
 * (no `key=` secret is ever written). Replay sessions read it back.
 *
 * @see ../../docs/targets.md
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DebuggerError } from './errors.js';
import { redactValue } from './redact.js';

/** What one transcript line records. */
export type TranscriptEvent =
  /** Received: everything printed on connect, up to the first prompt. */
  | 'banner'
  /** Sent: a non-go command; received: its framed output. */
  | 'command'
  /** Sent: a go-class command (`g`, `p`, `.reboot`, …). */
  | 'resume'
  /** Sent: a Ctrl+C break-in request. */
  | 'break-in'
  /** Received: the target stopped (or reconnected) after a go command or a break-in. */
  | 'break'
  /** Sent: the session is being closed. */
  | 'close'
  /** Received: the debugger process ended. */
  | 'exit';

/** One line of transcript.jsonl. */
export interface TranscriptEntry {
  /** ISO 8601 time the line was written. */
  ts: string;
  /** Exchange number within the session: a send and its receive share it. */
  seq: number;
  direction: 'send' | 'receive';
  event: TranscriptEvent;
  command?: string;
  /** Raw text the debugger printed (framing removed). */
  output?: string;
  /** Parser kind of the output (`vertarget`, `stack`, `db`, …) or the break kind. */
  kind?: string;
  durationMs?: number;
  /** False when the output was cut by a timeout, a break-in or the debugger's exit. */
  complete?: boolean;
  prompt?: string;
  bugcheck?: { code: number; args: string[] };
  /** `close`: whether the target was left running. */
  resume?: boolean;
  /** `banner`: the transport that recorded the transcript. */
  transport?: string;
  /** `exit`: how the debugger ended. */
  exitCode?: number | null;
  signal?: string | null;
}

/** Receives transcript entries; the time stamp is added by the sink. */
export interface TranscriptSink {
  append(entry: Omit<TranscriptEntry, 'ts'>): void;
}

/** The transcript file of a run directory. */
export function transcriptPath(runDir: string): string {
  return join(runDir, 'transcript.jsonl');
}

/** Appends redacted JSON lines to a transcript file, synchronously, as events happen. */
export class TranscriptWriter implements TranscriptSink {
  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
  }

  append(entry: Omit<TranscriptEntry, 'ts'>): void {
    const line = redactValue({ ts: new Date().toISOString(), ...entry });
    appendFileSync(this.file, `${JSON.stringify(line)}\n`);
  }
}

/** Keeps transcript entries in memory (tests, and sessions without a run directory). */
export class MemoryTranscript implements TranscriptSink {
  readonly entries: TranscriptEntry[] = [];

  append(entry: Omit<TranscriptEntry, 'ts'>): void {
    this.entries.push(redactValue({ ts: new Date().toISOString(), ...entry }));
  }
}

const events: Readonly<Record<TranscriptEvent, 1>> = { banner: 1, command: 1, resume: 1, 'break-in': 1, break: 1, close: 1, exit: 1 };

/** Read and check a transcript file; a bad line is a TRANSCRIPT_INVALID error naming file and line. */
export function readTranscript(file: string): TranscriptEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new DebuggerError('TRANSCRIPT_INVALID', `Cannot read transcript "${file}"`, { cause: error, hint: 'give the path of a transcript.jsonl from a run directory' });
  }
  const entries: TranscriptEntry[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new DebuggerError('TRANSCRIPT_INVALID', `${file}:${index + 1}:1: not a JSON line`, { cause: error });
    }
    const entry = value as Partial<TranscriptEntry>;
    if (typeof entry !== 'object' || entry === null || (entry.direction !== 'send' && entry.direction !== 'receive') || typeof entry.event !== 'string' || !(entry.event in events)) {
      throw new DebuggerError('TRANSCRIPT_INVALID', `${file}:${index + 1}:1: expected an object with "direction" (send|receive) and a known "event"`);
    }
    entries.push(entry as TranscriptEntry);
  });
  return entries;
}

// First word of a command → the parser kind its output belongs to.
const kindByWord: ReadonlyArray<[RegExp, string]> = [
  [/^(?:vertarget|version)$/i, 'vertarget'],
  [/^!poolused$/i, 'poolused'],
  [/^!poolfind$/i, 'poolfind'],
  [/^!pool$/i, 'pool'],
  [/^!gflag$/i, 'gflag'],
  [/^k[bcnpvf]*$/i, 'stack'],
  [/^d[bwdq]$/i, 'memory'],
  [/^u[bf]?$/i, 'u'],
  [/^\.reload$/i, 'reload'],
  [/^e[bwdq]$/i, 'edit'],
  [/^\.echo$/i, 'echo'],
];

/** The parser kind for a command's output (`stack` for `kb`, `memory` for `db`, …), `raw` when none. */
export function commandKind(command: string): string {
  const word = command.trim().split(/\s+/)[0] ?? '';
  for (const [pattern, kind] of kindByWord) if (pattern.test(word)) return kind;
  return 'raw';
}
