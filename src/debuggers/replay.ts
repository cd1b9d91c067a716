/**
 * A DebuggerSession that plays a recorded transcript.jsonl back: the same calls in the same
 * order get the same answers, so a hunt recorded against a real kd on Windows can run again in
 * CI on Linux. The first call that differs from the recording stops the replay with
 * REPLAY_DIVERGED, naming the position, the recorded command and the one asked for.
 *
 * @see ../../docs/targets.md
 */
import type { BreakEvent, BreakKind, CommandResult, DebuggerSession, GoCommand, ResumeOptions, WaitOptions } from '../core/types.js';
import { DebuggerError } from './errors.js';
import { readTranscript, type TranscriptEntry } from './transcript.js';

// One recorded exchange: a command or go command sent (with its answer), or a stop received.
interface ReplayStep {
  kind: 'command' | 'resume' | 'break-in' | 'break' | 'exit';
  send?: TranscriptEntry;
  receive?: TranscriptEntry;
  /** Pieces of a long stream recorded before this stop (kind `partial`), in order. */
  streamed?: string[];
}

// A short text for a recorded step, as quoted in divergence errors.
function describeStep(step: ReplayStep | undefined): string {
  if (!step) return '<end of transcript>';
  if (step.kind === 'command') return step.send?.command ?? '';
  if (step.kind === 'resume') return step.send?.command ?? 'g';
  if (step.kind === 'break-in') return '<break-in>';
  if (step.kind === 'exit') return '<debugger exit>';
  return '<wait for break>';
}

/** Replays a transcript as a session. */
export class ReplaySession implements DebuggerSession {
  readonly transport = 'replay';
  readonly banner: string;
  /** The transport that recorded the transcript (`kd-console`, …). */
  readonly recordedTransport: string | undefined;
  private readonly steps: ReplayStep[] = [];
  private position = 0;
  private isRunning = false;
  private closed = false;
  private exited = false;

  constructor(entries: readonly TranscriptEntry[], readonly source = 'transcript') {
    const banner = entries.find((entry) => entry.event === 'banner' && entry.direction === 'receive');
    this.banner = banner?.output ?? '';
    this.recordedTransport = banner?.transport;
    const partial: string[] = [];
    for (const entry of entries) {
      if (entry.direction === 'send' && (entry.event === 'command' || entry.event === 'resume' || entry.event === 'break-in')) {
        this.steps.push({ kind: entry.event, send: entry });
      } else if (entry.direction === 'receive' && entry.event === 'command') {
        const step = [...this.steps].reverse().find((s) => s.kind === 'command' && s.send?.seq === entry.seq && !s.receive);
        if (step) step.receive = entry;
      } else if (entry.direction === 'receive' && entry.event === 'break' && entry.kind === 'partial') {
        // A long stream recorded in pieces before its stop (fast-mode collection): the pieces
        // belong to the stop that follows them.
        partial.push(entry.output ?? '');
      } else if (entry.direction === 'receive' && (entry.event === 'break' || entry.event === 'exit')) {
        this.steps.push({ kind: entry.event, receive: entry, ...(partial.length > 0 && { streamed: partial.splice(0) }) });
      }
    }
  }

  /** Open a transcript.jsonl file for replay. */
  static fromFile(file: string): ReplaySession {
    return new ReplaySession(readTranscript(file), file);
  }

  get running(): boolean {
    return this.isRunning;
  }

  async execute(command: string, _options: WaitOptions = {}): Promise<CommandResult> {
    this.assertOpen();
    if (this.isRunning) throw new DebuggerError('TARGET_RUNNING', `Cannot run "${command}": the target is running`, { command });
    const step = this.take('command', command, (s) => s.send?.command === command);
    if (!step.receive) throw new DebuggerError('DEBUGGER_EXITED', `The recording ends inside "${command}": the debugger exited`, { command });
    return { command, output: step.receive.output ?? '', complete: step.receive.complete ?? true, durationMs: step.receive.durationMs ?? 0 };
  }

  async resume(command: GoCommand = 'g', options: ResumeOptions = {}): Promise<void> {
    this.assertOpen();
    if (this.isRunning) throw new DebuggerError('TARGET_RUNNING', `Cannot send "${command}": the target is already running`, { command });
    // kd-console records commands sent before the go on the same line, joined as kd reads them.
    const line = [...(options.before ?? []), command].join('; ');
    this.take('resume', line, (s) => s.send?.command === line);
    this.isRunning = true;
  }

  async waitForBreak(options: WaitOptions = {}): Promise<BreakEvent> {
    if (this.closed) throw new DebuggerError('SESSION_CLOSED', 'The replay session is closed');
    if (this.exited) return { kind: 'exit', output: '' };
    if (!this.isRunning) throw new DebuggerError('TARGET_HALTED', 'The target is not running: nothing to wait for', { hint: 'call resume() first' });
    // The recording broke in here: the wait ended on its time or run limit.
    if (this.steps[this.position]?.kind === 'break-in') throw new DebuggerError('RUN_LIMIT_REACHED', 'The recorded run broke in here: the wait ran out of time');
    return this.takeStop('<wait for break>', options.onOutput);
  }

  /** Nothing to limit: the recording says when the run broke in. */
  limitRun(_ms: number | undefined): void {}

  async breakIn(_options: WaitOptions = {}): Promise<BreakEvent> {
    this.assertOpen();
    if (!this.isRunning) return { kind: 'break-in', output: '' };
    this.take('break-in', '<break-in>', () => true);
    return this.takeStop('<break-in>');
  }

  async close(_options: { resume?: boolean } = {}): Promise<void> {
    this.closed = true;
  }

  /** How many recorded exchanges were not replayed yet. */
  get remaining(): number {
    return this.steps.length - this.position;
  }

  // The next recorded stop (or the debugger's exit) becomes the answer.
  // Streamed pieces go to `onOutput` as they did live, or are joined in front of the stop's output.
  private takeStop(asked: string, onOutput?: (text: string) => void): BreakEvent {
    const step = this.steps[this.position];
    if (!step || (step.kind !== 'break' && step.kind !== 'exit')) this.diverge(step, asked);
    this.position++;
    const streamed = step!.streamed ?? [];
    if (onOutput) for (const piece of streamed) onOutput(piece);
    const entry = onOutput || streamed.length === 0 ? step!.receive! : { ...step!.receive!, output: streamed.join('') + (step!.receive!.output ?? '') };
    if (step!.kind === 'exit') {
      this.exited = true;
      this.isRunning = false;
      return { kind: 'exit', output: entry.output ?? '' };
    }
    this.isRunning = entry.prompt === undefined;
    return {
      kind: (entry.kind ?? 'breakpoint') as BreakKind,
      output: entry.output ?? '',
      ...(entry.prompt !== undefined && { prompt: entry.prompt }),
      ...(entry.bugcheck && { bugcheck: entry.bugcheck }),
    };
  }

  // Take the next recorded step if it is of this kind and matches; otherwise stop with REPLAY_DIVERGED.
  private take(kind: ReplayStep['kind'], asked: string, matches: (step: ReplayStep) => boolean): ReplayStep {
    const step = this.steps[this.position];
    if (step?.kind === 'exit' && kind === 'command') {
      this.position++;
      this.exited = true;
      throw new DebuggerError('DEBUGGER_EXITED', `Cannot run "${asked}": the recorded debugger exited here`, { command: asked });
    }
    if (!step || step.kind !== kind || !matches(step)) this.diverge(step, asked);
    this.position++;
    return step!;
  }

  // Stop the replay: the call differs from the recording at this position.
  private diverge(step: ReplayStep | undefined, asked: string): never {
    const expected = describeStep(step);
    throw new DebuggerError('REPLAY_DIVERGED', `Replay of ${this.source} diverged at exchange #${this.position + 1}: the recording has "${expected}", the run asked for "${asked}"`, {
      index: this.position,
      expected,
      got: asked,
      hint: 'the playbook or its inputs changed since the recording; record the run again against a live target',
    });
  }

  // Refuse calls after close or after the recorded debugger exited.
  private assertOpen(): void {
    if (this.closed) throw new DebuggerError('SESSION_CLOSED', 'The replay session is closed');
    if (this.exited) throw new DebuggerError('DEBUGGER_EXITED', 'The recorded debugger exited');
  }
}
