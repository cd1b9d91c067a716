/**
 * A DebuggerSession over any kd-compatible console (kd.exe, cdb.exe, the simulator process):
 * frames each non-go command with an `.echo` marker, recognises prompts, stops, reconnects and
 * the console's exit, copes with output split anywhere, and never hangs (every wait has a bound).
 * The console's own language (prompt, marker, go commands) comes from a ConsoleDialect.
 *
 * @see ../../docs/targets.md
 */
import { randomBytes } from 'node:crypto';
import type { BreakEvent, CommandResult, DebuggerSession, GoCommand, ResumeOptions, WaitOptions } from '../core/types.js';
import type { ChannelExit, ConsoleChannel } from './channel.js';
import { DebuggerError, isDebuggerError } from './errors.js';
import { kdDialect, type ConsoleDialect } from './kd-dialect.js';
import { commandKind, type TranscriptSink } from './transcript.js';

// Streaming (WaitOptions.onOutput): flush when this much is buffered, keeping this many last lines.
const streamFlushBytes = 64 * 1024;
const streamKeepLines = 64;

/** How a kd-console session behaves; every time has a default. */
export interface KdConsoleOptions {
  dialect?: ConsoleDialect;
  /** Where every command and answer is recorded (redacted). */
  transcript?: TranscriptSink;
  /** `facts.debugger.transport`; default `kd-console`. */
  transport?: string;
  /** Default per-command timeout; default 120 000 ms. */
  commandTimeoutMs?: number;
  /** How long to wait for the first prompt or an established connection; default 60 000 ms. */
  connectTimeoutMs?: number;
  /** Stops the wait for the first prompt (a run's Ctrl+C, a lab target's timeout) with SESSION_ABORTED. */
  connectSignal?: AbortSignal;
  /** Default wait for a stop after resume(); default: no limit other than the caller's. */
  breakTimeoutMs?: number;
  /** After a timeout's break-in, how long to wait for the console to answer the marker; default 3000 ms. */
  breakGraceMs?: number;
  /**
   * While connecting: quiet time after a trailing prompt before the target counts as stopped;
   * default 40 ms. (After a go command a stop is confirmed by a framing marker instead.)
   */
  promptSettleMs?: number;
  /** Quiet time after `Kernel Debugger connection established.` with no prompt before the target counts as running; default 1500 ms. */
  reconnectSettleMs?: number;
  /** Marker nonce (tests); default random. */
  nonce?: string;
}

type SessionState = 'connecting' | 'halted' | 'running' | 'exited' | 'closed';

// What the stream watcher saw when the target stopped or the console went away.
interface StopRecord {
  event: BreakEvent;
  /** False when the console shows a reconnect banner but no prompt: the target runs on. */
  halted: boolean;
  consumed: boolean;
}

// A marker the session is waiting for, and what to do when it is found or the console exits.
interface MarkerWaiter {
  marker: string;
  found(before: string): void;
  exited(exit: ChannelExit, output: string): void;
}

// A promise with its settle functions, for waits resolved from the data handler.
interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

// Make a Deferred.
function defer<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** The kd-console implementation of the debugger contract. */
export class KdConsoleSession implements DebuggerSession {
  readonly transport: string;
  banner = '';
  private state: SessionState = 'connecting';
  private buffer = '';
  private readonly dialect: ConsoleDialect;
  private readonly nonce: string;
  private sequence = 0;
  private currentPrompt: string | undefined;
  private echoSeen = false;
  private needsResync = false;
  private breakInRequested = false;
  private goCommand: string | undefined;
  // The whole line sent with the go command (commands before it included), for dropping its echo.
  private goLine: string | undefined;
  // The marker sent when a prompt ended the output of a running target: kd prints it once it reads commands.
  private stopMarker: string | undefined;
  private stopStartedAt = 0;
  private markerWaiter: MarkerWaiter | undefined;
  private stopDeferred: Deferred<StopRecord> = defer();
  private lastStop: StopRecord | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  private dataVersion = 0;
  private readonly dataWatchers = new Set<() => void>();
  private exitInfo: ChannelExit | undefined;
  private streamSink: ((text: string) => void) | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  // The run limit in force (limitRun): a host deadline, or one the simulator keeps in target time.
  private runLimit: { kind: 'host'; deadline: number } | { kind: 'target' } | undefined;
  // The simulator said the limit's time has run, since the last go.
  private limitReached = false;
  private readonly reachedWaiters = new Set<() => void>();
  private readonly options: Required<Omit<KdConsoleOptions, 'transcript' | 'dialect' | 'transport' | 'nonce' | 'breakTimeoutMs' | 'connectSignal'>> & Pick<KdConsoleOptions, 'breakTimeoutMs' | 'connectSignal'>;

  private constructor(
    private readonly channel: ConsoleChannel,
    options: KdConsoleOptions,
    private readonly transcript: TranscriptSink | undefined,
  ) {
    this.dialect = options.dialect ?? kdDialect;
    this.transport = options.transport ?? 'kd-console';
    this.nonce = options.nonce ?? randomBytes(4).toString('hex');
    this.options = {
      commandTimeoutMs: options.commandTimeoutMs ?? 120_000,
      connectTimeoutMs: options.connectTimeoutMs ?? 60_000,
      breakGraceMs: options.breakGraceMs ?? 3000,
      promptSettleMs: options.promptSettleMs ?? 40,
      reconnectSettleMs: options.reconnectSettleMs ?? 1500,
      ...(options.breakTimeoutMs !== undefined && { breakTimeoutMs: options.breakTimeoutMs }),
      ...(options.connectSignal && { connectSignal: options.connectSignal }),
    };
    channel.onData((chunk) => this.receive(chunk));
    channel.onExit((exit) => this.handleExit(exit));
    channel.runLimit?.onReached(() => {
      this.limitReached = true;
      for (const waiter of this.reachedWaiters) waiter();
    });
  }

  /**
   * Attach to a console: wait for its banner and first prompt (or an established connection to a
   * running target), then synchronise the framing. The target is left as it was found.
   */
  static async open(channel: ConsoleChannel, options: KdConsoleOptions = {}): Promise<KdConsoleSession> {
    const session = new KdConsoleSession(channel, options, options.transcript);
    try {
      await session.handshake();
    } catch (error) {
      session.letRunAfterFailedOpen();
      throw error;
    }
    return session;
  }

  // The console showed a prompt but framing never worked (output cut, noise): the session is of no
  // use, yet the target must not stay halted — send the go command without waiting for an answer.
  private letRunAfterFailedOpen(): void {
    if (this.state !== 'halted' || this.exitInfo) return;
    this.transcript?.append({ seq: ++this.sequence, direction: 'send', event: 'resume', command: this.dialect.resumeCommand });
    this.channel.write(`${this.dialect.resumeCommand}\n`);
    this.state = 'running';
  }

  /** True while the target runs (after resume(), before the next break). */
  get running(): boolean {
    return this.state === 'running';
  }

  /** The prompt the console showed last (`kd> `, `0: kd> `), if any. */
  get prompt(): string | undefined {
    return this.currentPrompt;
  }

  /** True when the console echoes the commands it reads (tolerated, detected on the fly). */
  get echoesCommands(): boolean {
    return this.echoSeen;
  }

  async execute(command: string, options: WaitOptions = {}): Promise<CommandResult> {
    this.assertOpen();
    this.assertFrameable(command);
    if (this.state === 'running') throw new DebuggerError('TARGET_RUNNING', `Cannot run "${command}": the target is running`, { command, hint: 'call waitForBreak() or breakIn() first' });
    return this.serialize(async () => {
      this.assertOpen();
      if (this.state === 'running') throw new DebuggerError('TARGET_RUNNING', `Cannot run "${command}": the target is running`, { command });
      if (this.needsResync) await this.resync();
      const sequence = ++this.sequence;
      const marker = this.dialect.syncMarker(this.nonce, sequence);
      const sync = this.dialect.syncCommand(marker);
      this.transcript?.append({ seq: sequence, direction: 'send', event: 'command', command });
      const started = Date.now();
      this.channel.write(`${command}\n${sync}\n`);
      let framed: { before: string; complete: boolean };
      try {
        framed = await this.awaitMarker(marker, command, options.timeoutMs ?? this.options.commandTimeoutMs, options.signal);
      } catch (error) {
        if (isDebuggerError(error)) {
          this.transcript?.append({ seq: sequence, direction: 'receive', event: 'command', command, output: error.output ?? '', kind: commandKind(command), durationMs: Date.now() - started, complete: false });
        }
        throw error;
      }
      const output = this.cleanCommandOutput(framed.before, command, sync);
      const durationMs = Date.now() - started;
      this.transcript?.append({ seq: sequence, direction: 'receive', event: 'command', command, output, kind: commandKind(command), durationMs, complete: framed.complete });
      return { command, output, complete: framed.complete, durationMs };
    });
  }

  async resume(command: GoCommand = this.dialect.resumeCommand, options: ResumeOptions = {}): Promise<void> {
    this.assertOpen();
    if (!this.dialect.isGoCommand(command) || /[\r\n]/.test(command)) {
      throw new DebuggerError('INVALID_COMMAND', `resume() takes a go-class command (g, gu, p, t, .reboot), got "${command}"`, { command });
    }
    for (const before of options.before ?? []) this.assertFrameable(before);
    const line = [...(options.before ?? []), command].join('; ');
    if (this.state === 'running') throw new DebuggerError('TARGET_RUNNING', `Cannot send "${command}": the target is already running`, { command });
    await this.serialize(async () => {
      this.assertOpen();
      if (this.state === 'running') throw new DebuggerError('TARGET_RUNNING', `Cannot send "${command}": the target is already running`, { command });
      await this.settleTrailingPrompt();
      this.startRunning(command, line);
      this.limitReached = false;
      this.transcript?.append({ seq: ++this.sequence, direction: 'send', event: 'resume', command: line });
      this.channel.write(`${line}\n`);
    });
  }

  /**
   * Limit how long the target may run before the caller breaks in (see src/debuggers/run-limit.ts):
   * waitForBreak ends with RUN_LIMIT_REACHED once `ms` of running have passed, counted from now; a
   * limit already in force is only narrowed; `undefined` lifts it. On the simulator the limit is
   * kept in the target's own time, so it does not depend on how fast the host runs.
   */
  limitRun(ms: number | undefined): void {
    if (ms === undefined) {
      if (this.runLimit?.kind === 'target') this.channel.runLimit?.set(undefined);
      this.runLimit = undefined;
      this.limitReached = false;
      return;
    }
    if (this.channel.runLimit) {
      this.channel.runLimit.set(ms);
      this.runLimit = { kind: 'target' };
      return;
    }
    const deadline = Date.now() + ms;
    this.runLimit = { kind: 'host', deadline: this.runLimit?.kind === 'host' ? Math.min(this.runLimit.deadline, deadline) : deadline };
  }

  async waitForBreak(options: WaitOptions = {}): Promise<BreakEvent> {
    if (this.state === 'closed') throw new DebuggerError('SESSION_CLOSED', 'The debugger session is closed');
    const pending = this.takeUnconsumedStop();
    if (pending) return pending;
    if (this.state === 'exited') return { kind: 'exit', output: '' };
    if (this.state === 'halted') throw new DebuggerError('TARGET_HALTED', 'The target is not running: nothing to wait for', { hint: 'call resume() first' });
    if (!options.onOutput) return this.awaitStop(options, 'waiting for the target to stop', false, true);
    this.streamSink = options.onOutput;
    try {
      this.flushStream(0);
      return await this.awaitStop(options, 'waiting for the target to stop', false, true);
    } finally {
      this.streamSink = undefined;
    }
  }

  // Hand every complete line but the last `streamKeepLines` to the stream sink (and the transcript,
  // as a partial break entry), once more than `minBytes` are buffered: a stop is still classified
  // from the lines before it, and memory holds one chunk, not the whole stream.
  private flushStream(minBytes: number): void {
    const sink = this.streamSink;
    if (!sink || this.buffer.length <= minBytes) return;
    let cut = this.buffer.length;
    for (let kept = 0; kept <= streamKeepLines; kept++) {
      cut = this.buffer.lastIndexOf('\n', cut - 1);
      if (cut < 0) return;
    }
    const text = this.buffer.slice(0, cut + 1);
    this.buffer = this.buffer.slice(cut + 1);
    this.transcript?.append({ seq: this.sequence, direction: 'receive', event: 'break', kind: 'partial', output: text, complete: false });
    sink(text);
  }

  async breakIn(options: WaitOptions = {}): Promise<BreakEvent> {
    if (this.state === 'closed') throw new DebuggerError('SESSION_CLOSED', 'The debugger session is closed');
    if (this.state === 'exited') throw this.exitedError('break in');
    const pending = this.takeUnconsumedStop();
    if (pending) return pending;
    if (this.state === 'halted') return { kind: 'break-in', output: '', ...(this.currentPrompt !== undefined && { prompt: this.currentPrompt }) };
    this.breakInRequested = true;
    this.transcript?.append({ seq: ++this.sequence, direction: 'send', event: 'break-in', command: '<ctrl-c>' });
    try {
      await this.channel.interrupt();
    } catch (error) {
      // Nothing was interrupted: a later stop (a breakpoint, a bugcheck) must not be labelled a break-in.
      this.breakInRequested = false;
      throw breakInFailed(error);
    }
    // The stop may have come while the interrupt was reporting back.
    return this.takeUnconsumedStop() ?? this.awaitStop(options, 'breaking in');
  }

  async close(options: { resume?: boolean } = {}): Promise<void> {
    if (this.state === 'closed') return;
    const resume = options.resume ?? true;
    await this.chain.catch(() => undefined);
    try {
      if (this.state === 'halted' || this.state === 'running' || this.state === 'connecting') {
        if (resume) {
          if (this.state === 'halted') {
            await this.settleTrailingPrompt();
            this.startRunning(this.dialect.resumeCommand);
            this.transcript?.append({ seq: ++this.sequence, direction: 'send', event: 'resume', command: this.dialect.resumeCommand });
            this.channel.write(`${this.dialect.resumeCommand}\n`);
          }
        } else {
          if (this.state === 'running') await this.breakIn({ timeoutMs: this.options.breakGraceMs }).catch(() => undefined);
          if (this.state === 'halted') {
            await this.settleTrailingPrompt();
            this.channel.write(`${this.dialect.quitCommand}\n`);
          }
        }
      }
      if (this.state !== 'exited') this.transcript?.append({ seq: ++this.sequence, direction: 'send', event: 'close', resume });
    } finally {
      await this.channel.end();
      this.state = 'closed';
      this.clearSettleTimer();
    }
  }

  // ─── Connecting ────────────────────────────────────────────────────────────────────

  // Wait for the first prompt (target halted) or an established connection (target running); then frame once.
  private async handshake(): Promise<void> {
    const stop = await this.awaitStop({ timeoutMs: this.options.connectTimeoutMs, ...(this.options.connectSignal && { signal: this.options.connectSignal }) }, 'connecting', true);
    if (stop.kind === 'exit') {
      this.banner = stop.output;
      throw this.exitedError('connect', stop.output);
    }
    this.banner = stop.output;
    this.transcript?.append({ seq: 0, direction: 'receive', event: 'banner', output: this.banner, kind: 'banner', transport: this.transport, ...(stop.prompt !== undefined && { prompt: stop.prompt }) });
    if (this.state === 'halted') await this.resync();
  }

  // Send a bare marker and drop everything up to it: puts framing back in step after a lost marker.
  private async resync(): Promise<void> {
    const marker = this.dialect.syncMarker(this.nonce, ++this.sequence);
    const sync = this.dialect.syncCommand(marker);
    this.channel.write(`${sync}\n`);
    const framed = await this.awaitMarker(marker, sync, this.options.commandTimeoutMs, undefined);
    if (!framed.complete) throw new DebuggerError('SESSION_TIMEOUT', 'The debugger did not answer a framing marker: it is not reading commands', { output: framed.before, hint: 'the target may be running or the connection lost; see docs/targets.md' });
    this.cleanCommandOutput(framed.before, sync, sync);
    this.needsResync = false;
  }

  // ─── The stream ────────────────────────────────────────────────────────────────────

  // Every chunk of console output: normalise line ends, then look for what the session waits for.
  private receive(chunk: string): void {
    this.buffer += chunk.replace(/\r/g, '');
    this.dataVersion++;
    if (this.streamSink && this.state === 'running') this.flushStream(streamFlushBytes);
    this.scanForMarker();
    if (this.stopMarker !== undefined && this.state === 'running') this.scanForStopMarker();
    this.armStopDetection();
    for (const watcher of [...this.dataWatchers]) watcher();
  }

  // Find the awaited marker on a line of its own (possibly after prompts); never in an echoed `.echo` line.
  private scanForMarker(): void {
    const waiter = this.markerWaiter;
    if (!waiter) return;
    let from = 0;
    for (;;) {
      const index = this.buffer.indexOf(waiter.marker, from);
      if (index < 0) return;
      const lineEnd = this.buffer.indexOf('\n', index + waiter.marker.length);
      if (lineEnd < 0) return;
      const lineStart = index === 0 ? 0 : this.buffer.lastIndexOf('\n', index - 1) + 1;
      const prefix = this.buffer.slice(lineStart, index);
      const suffix = this.buffer.slice(index + waiter.marker.length, lineEnd);
      if (this.dialect.leadingPromptLength(prefix) === prefix.length && suffix.trim() === '') {
        const prompt = this.dialect.promptOf(prefix);
        if (prompt !== undefined) this.currentPrompt = prompt;
        const before = this.buffer.slice(0, lineStart);
        this.buffer = this.buffer.slice(lineEnd + 1);
        this.markerWaiter = undefined;
        waiter.found(before);
        return;
      }
      from = index + waiter.marker.length;
    }
  }

  // While connecting or running, a quiet trailing prompt means a stop; a quiet established banner means a running target.
  private armStopDetection(): void {
    this.clearSettleTimer();
    if (this.state !== 'running' && this.state !== 'connecting') return;
    const lastLine = this.buffer.slice(this.buffer.lastIndexOf('\n') + 1);
    const version = this.dataVersion;
    if (this.dialect.promptOf(lastLine) !== undefined && this.state === 'running') {
      // A prompt may still be followed by more output (event and breakpoint commands, a stop on
      // another processor). kd reads input only at its prompt, so a marker sent now is printed
      // only once kd waits for commands: everything before it is the stop.
      if (this.stopMarker === undefined) {
        this.stopMarker = this.dialect.syncMarker(this.nonce, ++this.sequence);
        this.channel.write(`${this.dialect.syncCommand(this.stopMarker)}\n`);
      }
    } else if (this.dialect.promptOf(lastLine) !== undefined) {
      this.settleTimer = setTimeout(() => {
        if (this.dataVersion === version) this.recordStop(true);
      }, this.options.promptSettleMs);
    } else if (this.dialect.readConnection(this.buffer).established) {
      this.settleTimer = setTimeout(() => {
        if (this.dataVersion === version) this.recordStop(false);
      }, this.options.reconnectSettleMs);
    }
  }

  // The stop marker came back on a line of its own: what came before it is the stop, up to its prompt.
  private scanForStopMarker(): void {
    const marker = this.stopMarker!;
    const sync = this.dialect.syncCommand(marker);
    let from = 0;
    for (;;) {
      const index = this.buffer.indexOf(marker, from);
      if (index < 0) return;
      const lineEnd = this.buffer.indexOf('\n', index + marker.length);
      if (lineEnd < 0) return;
      const lineStart = index === 0 ? 0 : this.buffer.lastIndexOf('\n', index - 1) + 1;
      const prefix = this.buffer.slice(lineStart, index);
      const suffix = this.buffer.slice(index + marker.length, lineEnd);
      if (this.dialect.leadingPromptLength(prefix) === prefix.length && suffix.trim() === '') {
        const lines = this.buffer.slice(0, lineStart).split('\n');
        if (lines[lines.length - 1] === '') lines.pop();
        let prompt = this.dialect.promptOf(prefix);
        // A console that echoes input shows `kd> .echo marker` (and maybe a bare prompt) before the marker.
        while (lines.length > 0) {
          const last = lines[lines.length - 1]!;
          const lead = this.dialect.leadingPromptLength(last);
          if (lead === 0 || (lead < last.length && last.slice(lead).trim() !== sync)) break;
          prompt ??= this.dialect.promptOf(last.slice(0, lead));
          lines.pop();
        }
        this.buffer = this.buffer.slice(lineEnd + 1);
        this.stopMarker = undefined;
        this.recordStop(true, { text: lines.join('\n'), prompt });
        return;
      }
      from = index + marker.length;
    }
  }

  // The target stopped at a prompt (halted) or reconnected and runs on (not halted).
  private recordStop(halted: boolean, framed?: { text: string; prompt: string | undefined }): void {
    const connecting = this.state === 'connecting';
    let output: string;
    let prompt: string | undefined;
    if (framed) {
      output = framed.text;
      prompt = framed.prompt;
      if (prompt !== undefined) this.currentPrompt = prompt;
    } else if (halted) {
      const lastBreak = this.buffer.lastIndexOf('\n');
      const lastLine = this.buffer.slice(lastBreak + 1);
      prompt = this.dialect.promptOf(lastLine);
      output = lastBreak < 0 ? '' : this.buffer.slice(0, lastBreak);
      this.buffer = lastLine;
      this.currentPrompt = prompt;
    } else {
      output = this.buffer.replace(/\n$/, '');
      this.buffer = '';
    }
    output = this.stripLeadingPrompt(output);
    if (this.echoSeen && this.goLine !== undefined) output = this.dropEchoedLine(output, this.goLine);
    const classification = connecting
      ? this.dialect.classifyStop(output, { breakInRequested: false })
      : this.dialect.classifyStop(output, { breakInRequested: this.breakInRequested, ...(this.goCommand !== undefined && { goCommand: this.goCommand }) });
    const event: BreakEvent = {
      kind: classification.kind,
      output,
      ...(prompt !== undefined && { prompt }),
      ...(classification.bugcheck && { bugcheck: classification.bugcheck }),
    };
    this.breakInRequested = false;
    this.state = halted ? 'halted' : 'running';
    if (!connecting) {
      this.transcript?.append({ seq: this.sequence, direction: 'receive', event: 'break', output, kind: event.kind, durationMs: Date.now() - this.stopStartedAt, complete: true, ...(prompt !== undefined && { prompt }), ...(event.bugcheck && { bugcheck: event.bugcheck }) });
    }
    const record: StopRecord = { event, halted, consumed: false };
    this.lastStop = record;
    const deferred = this.stopDeferred;
    this.stopDeferred = defer();
    if (!halted) this.stopStartedAt = Date.now();
    deferred.resolve(record);
  }

  // The console ended: fail the command in flight, and report an `exit` stop to anyone waiting for one.
  private handleExit(exit: ChannelExit): void {
    if (this.exitInfo) return;
    this.exitInfo = exit;
    this.clearSettleTimer();
    const wasClosed = this.state === 'closed';
    const output = this.stripLeadingPrompt(this.buffer.replace(/\n$/, ''));
    this.buffer = '';
    if (!wasClosed) this.state = 'exited';
    this.transcript?.append({ seq: this.sequence, direction: 'receive', event: 'exit', output, exitCode: exit.code, signal: exit.signal, complete: true });
    const waiter = this.markerWaiter;
    this.markerWaiter = undefined;
    if (waiter) waiter.exited(exit, output);
    const record: StopRecord = { event: { kind: 'exit', output }, halted: false, consumed: false };
    this.lastStop = record;
    this.stopDeferred.resolve(record);
    for (const watcher of [...this.dataWatchers]) watcher();
  }

  // ─── Waiting ───────────────────────────────────────────────────────────────────────

  // Wait for a marker line; on timeout (or abort) break in, give the console a grace period, then return what came.
  private awaitMarker(marker: string, command: string, timeoutMs: number, signal: AbortSignal | undefined): Promise<{ before: string; complete: boolean }> {
    return new Promise((resolve, reject) => {
      let timedOut = false;
      let timer: NodeJS.Timeout | undefined;
      let graceTimer: NodeJS.Timeout | undefined;
      const cleanup = (): void => {
        clearTimeout(timer);
        clearTimeout(graceTimer);
        signal?.removeEventListener('abort', onTimeout);
      };
      const onTimeout = (): void => {
        if (timedOut) return;
        timedOut = true;
        clearTimeout(timer);
        // Without a break-in (none on this platform, or it failed) the grace period alone decides.
        void (async () => this.channel.interrupt())().catch(() => undefined);
        graceTimer = setTimeout(() => {
          if (this.markerWaiter?.marker !== marker) return;
          this.markerWaiter = undefined;
          cleanup();
          const before = this.buffer;
          this.buffer = '';
          this.needsResync = true;
          resolve({ before, complete: false });
        }, this.options.breakGraceMs);
      };
      this.markerWaiter = {
        marker,
        found: (before) => {
          cleanup();
          resolve({ before, complete: !timedOut });
        },
        exited: (exit, output) => {
          cleanup();
          reject(this.exitedError(`run "${command}"`, output, command, exit));
        },
      };
      if (this.exitInfo) {
        this.markerWaiter = undefined;
        reject(this.exitedError(`run "${command}"`, '', command));
        return;
      }
      timer = setTimeout(onTimeout, timeoutMs);
      if (signal?.aborted) onTimeout();
      else signal?.addEventListener('abort', onTimeout, { once: true });
      this.scanForMarker();
    });
  }

  // Wait for the next stop record (shared by every waiter), bounded by the caller's timeout and
  // signal, and for waitForBreak (`limited`) by the run limit.
  private async awaitStop(options: WaitOptions, doing: string, connecting = false, limited = false): Promise<BreakEvent> {
    const timeoutMs = options.timeoutMs ?? (connecting ? this.options.connectTimeoutMs : this.options.breakTimeoutMs);
    const deferred = this.stopDeferred;
    let timer: NodeJS.Timeout | undefined;
    let limitTimer: NodeJS.Timeout | undefined;
    let onReached: (() => void) | undefined;
    let onAbort: (() => void) | undefined;
    const limit = limited ? this.runLimit : undefined;
    const bounds = new Promise<never>((_, reject) => {
      const ranOut = (): void => reject(new DebuggerError('RUN_LIMIT_REACHED', 'The target ran as long as the run limit allows', { output: this.buffer, hint: 'break in to stop it' }));
      if (limit?.kind === 'host') limitTimer = setTimeout(ranOut, Math.max(0, limit.deadline - Date.now()));
      if (limit?.kind === 'target') {
        if (this.limitReached) ranOut();
        onReached = ranOut;
        this.reachedWaiters.add(onReached);
      }
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          const connection = this.dialect.readConnection(this.buffer);
          const hint = connection.waiting && !connection.established
            ? 'the debugger is still "Waiting to reconnect...": is the target booted with debugging on, and (pipe) was kd started before the VM?'
            : 'the target is still running; call breakIn() to stop it';
          reject(new DebuggerError('SESSION_TIMEOUT', `Timed out after ${timeoutMs} ms ${doing}`, { output: this.buffer, hint }));
        }, timeoutMs);
      }
      if (options.signal) {
        onAbort = () => reject(new DebuggerError('SESSION_ABORTED', `Aborted while ${doing}`, { output: this.buffer }));
        if (options.signal.aborted) onAbort();
        else options.signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    try {
      const record = await Promise.race([deferred.promise, bounds]);
      record.consumed = true;
      return record.event;
    } finally {
      clearTimeout(timer);
      clearTimeout(limitTimer);
      if (onReached) this.reachedWaiters.delete(onReached);
      if (onAbort) options.signal?.removeEventListener('abort', onAbort);
    }
  }

  // A stop that happened with nobody waiting is handed to the next waitForBreak/breakIn.
  private takeUnconsumedStop(): BreakEvent | undefined {
    if (this.lastStop && !this.lastStop.consumed) {
      this.lastStop.consumed = true;
      return this.lastStop.event;
    }
    return undefined;
  }

  // After a marker the console prints one more prompt; wait briefly for it so it is not taken for a stop.
  private async settleTrailingPrompt(): Promise<void> {
    const endsWithPrompt = (): boolean => this.dialect.promptOf(this.buffer.slice(this.buffer.lastIndexOf('\n') + 1)) !== undefined;
    if (!endsWithPrompt() && !this.exitInfo) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.dataWatchers.delete(check);
          resolve();
        };
        const check = (): void => {
          if (endsWithPrompt() || this.exitInfo) done();
        };
        const timer = setTimeout(done, 1000);
        this.dataWatchers.add(check);
      });
    }
    this.buffer = '';
  }

  // Enter the running state after a go command (sent on `line`, with any commands before it).
  private startRunning(command: string, line = command): void {
    if (this.lastStop) this.lastStop.consumed = true;
    this.state = 'running';
    this.goCommand = command;
    this.goLine = line;
    this.stopStartedAt = Date.now();
    this.buffer = '';
  }

  // Run one operation at a time, in call order.
  private serialize<T>(operation: () => Promise<T>): Promise<T> {
    const run = this.chain.then(operation, operation);
    this.chain = run.catch(() => undefined);
    return run;
  }

  // ─── Text ──────────────────────────────────────────────────────────────────────────

  // Remove the leftover prompt(s) at the very start of a framed block.
  private stripLeadingPrompt(text: string): string {
    return text.slice(this.dialect.leadingPromptLength(text));
  }

  // Drop the first line when it is the echo of the command (only consoles that echo do this).
  private dropEchoedLine(text: string, command: string): string {
    const lines = text.split('\n');
    if (lines.length > 0 && lines[0]!.trim() === command.trim()) lines.shift();
    return lines.join('\n');
  }

  // Framed text → the command's output: no leading prompt, no echoed command or marker, no trailing newline.
  private cleanCommandOutput(before: string, command: string, sync: string): string {
    const lines = this.stripLeadingPrompt(before).split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const kept: string[] = [];
    let echoed = false;
    for (const line of lines) {
      const bare = line.slice(this.dialect.leadingPromptLength(line)).trim();
      if (bare === sync) {
        echoed = true;
        continue;
      }
      kept.push(line);
    }
    if (echoed) {
      this.echoSeen = true;
      if (kept.length > 0 && kept[0]!.trim() === command.trim()) kept.shift();
      while (kept.length > 0 && this.dialect.promptOf(kept[kept.length - 1]!) !== undefined) kept.pop();
    }
    return kept.join('\n');
  }

  // ─── Checks ────────────────────────────────────────────────────────────────────────

  // Refuse calls on a closed or dead session.
  private assertOpen(): void {
    if (this.state === 'closed') throw new DebuggerError('SESSION_CLOSED', 'The debugger session is closed');
    if (this.state === 'exited') throw this.exitedError('continue');
    if (this.state === 'connecting') throw new DebuggerError('SESSION_CLOSED', 'The debugger session is not connected yet');
  }

  // A command execute() can frame: one line, not empty, not go-class.
  private assertFrameable(command: string): void {
    if (command.trim() === '' || /[\r\n\u0000-\u0008\u000b-\u001f\u007f]/.test(command)) {
      throw new DebuggerError('INVALID_COMMAND', `A command must be one non-empty line of printable text, got ${JSON.stringify(command)}`, { command });
    }
    if (this.dialect.isGoCommand(command)) {
      throw new DebuggerError('INVALID_COMMAND', `"${command}" lets the target run; send it with resume(), not execute()`, { command, hint: 'go-class commands: g, gu, p, t, .reboot' });
    }
  }

  // The DEBUGGER_EXITED error, with the exit status and whatever the console printed last.
  private exitedError(doing: string, output = '', command?: string, exit = this.exitInfo): DebuggerError {
    const status = exit ? (exit.error ?? (exit.signal ? `signal ${exit.signal}` : `exit code ${exit.code}`)) : 'unknown status';
    return new DebuggerError('DEBUGGER_EXITED', `Cannot ${doing}: the debugger exited (${status})${exit?.stderr ? `; its last words on stderr: ${exit.stderr}` : ''}`, {
      output,
      ...(command !== undefined && { command }),
      hint: 'see the end of transcript.jsonl for its last words',
    });
  }

  // Stop the stop-detection timer.
  private clearSettleTimer(): void {
    clearTimeout(this.settleTimer);
    this.settleTimer = undefined;
  }
}

// A break-in that could not be sent, as a coded error: the channel's own when it gave one, else BREAK_IN_FAILED.
function breakInFailed(error: unknown): DebuggerError {
  if (isDebuggerError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new DebuggerError('BREAK_IN_FAILED', `Could not break in: ${message}`, {
    hint: 'the target is still running and the debugger still attached; try again, or stop the target from the debugger yourself',
    cause: error,
  });
}
