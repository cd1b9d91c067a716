/**
 * Drives a KdConsole in real time, like kd over a link: reads command lines only at the prompt
 * (what arrives while the target runs waits), lets the running target advance `timeScale`
 * target milliseconds per real millisecond, breaks in on interrupt(), and delivers output with
 * the link's latency and bandwidth and the injected faults. Used by the `leakhunt sim` process
 * and by the in-process channel.
 *
 * A run limit from leakhunt (src/debuggers/run-limit.ts) changes how the target runs: it runs
 * exactly `limit × timeScale` target milliseconds, as fast as the host can, then holds its clock
 * still until the break-in, and says so through `onLimitReached`. What the target did before the
 * break-in is then the same on a loaded host as on an idle one.
 */
import { readRunLimitLine, RUN_LIMIT_MARK } from '../../debuggers/run-limit.js';
import type { ConsoleOutput, KdConsole } from './console.js';
import { holdsAtCommand, type FaultSpec } from './faults.js';
import { seededRandom } from '../seeded-random.js';

/** Settings of a runtime. */
export interface RuntimeOptions {
  /** Receives console output, in order. */
  write(text: string): void;
  /** Target milliseconds per real millisecond while the target runs (the `--time-scale`). */
  timeScale: number;
  /** Real milliseconds between run slices (default 10). */
  sliceMs?: number;
  /** Delay before each response, ms. */
  latencyMs?: number;
  /** Output throttle in bytes per second; 0 or undefined = unlimited. */
  bandwidth?: number;
  faults?: readonly FaultSpec[];
  /** Seed of the garbage fault's generator. */
  seed?: number;
  /** Called once when the console ends: `quit` (q), `fault` (exit-after), or `error` (a simulator bug). */
  onEnd?(reason: 'quit' | 'fault' | 'error', error?: unknown): void;
  /** A hold-at / hold-at-hit fault stopped the target here (until release() or interrupt()). */
  onHold?(where: string): void;
  /** The run limit's time has run: the target holds still until the break-in (once per go). */
  onLimitReached?(): void;
}

// Lines a noisy link or kd itself throws in (the first is kd's own, step-win10-x64-1.txt).
const GARBAGE_PREFIXES = ['KDTARGET: Refreshing KD connection', '\u00ff\u00fe\u0000\u0013'];

// Wait real time.
function sleep(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, milliseconds)));
}

/** A console running in real time. */
export class ConsoleRuntime {
  private pending = '';
  private readonly lines: string[] = [];
  private pumping = false;
  private interruptRequested = false;
  private ended = false;
  private rebootDone = false;
  /** PoolHitTag breaks the target stopped at while running in slices (reboot-at-hit). */
  private hitsSeen = 0;
  private commands = 0;
  private startTimeMs = 0;
  /** Ends the current hold (hold-at faults); set while one lasts. */
  private releaseHold: (() => void) | undefined;
  private readonly holdCounts = new Map<FaultSpec, number>();
  private readonly random: () => number;
  /** The run limit's end in target ms (leakhunt's side channel), while one is in force. */
  private limitEnd: number | undefined;
  /** The limit's end was reported for the current go. */
  private limitReported = false;

  constructor(
    private readonly console: KdConsole,
    private readonly options: RuntimeOptions,
  ) {
    // Seed 0 stands for a fixed constant (the golden ratio's bits), as it always has here.
    this.random = seededRandom((options.seed ?? 1) >>> 0 || 0x9e3779b9);
  }

  /** Commands read so far. */
  get commandCount(): number {
    return this.commands;
  }

  /** Is the target stopped at a break (the console waits for commands)? */
  get halted(): boolean {
    return this.console.currentState === 'halted';
  }

  /** True once the console ended (q or a fault). */
  get done(): boolean {
    return this.ended;
  }

  /** Connect: print the banner and start reading or running. */
  start(): void {
    this.startTimeMs = this.console.kernel.now();
    void this.deliverThenPump(this.console.connect(), false);
  }

  /** Text from the debugger's standard input; complete lines are commands. */
  input(text: string): void {
    this.pending += text;
    let newline: number;
    while ((newline = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, newline).replace(/\r$/, '');
      this.pending = this.pending.slice(newline + 1);
      // Side-channel lines take effect as they arrive; they are not commands.
      if (line.startsWith(RUN_LIMIT_MARK)) this.applyRunLimit(line);
      else this.lines.push(line);
    }
    void this.pump();
  }

  // Set, narrow or lift the run limit: `ms` of host time become `ms × timeScale` of target time from now.
  private applyRunLimit(line: string): void {
    const limit = readRunLimitLine(line);
    if (limit === undefined) return;
    if (limit === 'off') {
      this.limitEnd = undefined;
      return;
    }
    const end = this.console.kernel.now() + limit.ms * this.options.timeScale;
    this.limitEnd = this.limitEnd === undefined ? end : Math.min(this.limitEnd, end);
  }

  /** Ctrl+C: break into the running target at the next slice. */
  interrupt(): void {
    if (this.ended) return;
    this.interruptRequested = true;
    this.release();
    void this.pump();
  }

  /** End a hold-at fault's hold: the held command runs, the held break is shown. */
  release(): void {
    this.releaseHold?.();
  }

  /** Resolves once every queued line that can be read now has been answered (none can while the target runs). */
  async drain(): Promise<void> {
    while (!this.ended && this.console.currentState === 'halted' && (this.lines.length > 0 || this.pumping)) await sleep(5);
  }

  /** Stop processing (the process is ending). */
  stop(): void {
    this.ended = true;
    this.release();
  }

  // Stop here until released (hold-at faults).
  private hold(where: string): Promise<void> {
    return new Promise((resolve) => {
      this.releaseHold = () => {
        this.releaseHold = undefined;
        resolve();
      };
      this.options.onHold?.(where);
    });
  }

  // Deliver an output, then continue the loop.
  private async deliverThenPump(output: ConsoleOutput, isResponse: boolean): Promise<void> {
    this.pumping = true;
    try {
      await this.deliver(output, isResponse);
    } finally {
      this.pumping = false;
    }
    if (output.state === 'quit') this.end('quit');
    else void this.pump();
  }

  // The main loop: commands while halted, run slices while running.
  private async pump(): Promise<void> {
    if (this.pumping || this.ended) return;
    this.pumping = true;
    try {
      while (!this.ended) {
        const state = this.console.currentState;
        if (state === 'quit') break;
        if (state === 'halted') {
          this.interruptRequested = false;
          const line = this.lines.shift();
          if (line === undefined) break;
          this.commands++;
          for (const fault of holdsAtCommand(this.options.faults ?? [], line, this.holdCounts)) await this.hold(`command ${this.commands} ${JSON.stringify(line)} (#${fault.nth} containing ${JSON.stringify(fault.text)})`);
          const output = this.console.execute(line);
          if (output.state === 'running') this.limitReported = false;
          await this.deliver(output, true);
          if (output.state === 'quit') {
            this.end('quit');
            break;
          }
          if (await this.afterCommandFaults()) break;
          continue;
        }
        if (this.interruptRequested) {
          this.interruptRequested = false;
          await this.deliver(this.console.interrupt(), false);
          continue;
        }
        await this.runSlice();
      }
    } catch (error) {
      this.end('error', error);
    } finally {
      this.pumping = false;
    }
  }

  // One slice of target time, clipped at a pending reboot-at fault and at the run limit.
  private async runSlice(): Promise<void> {
    const sliceMs = this.options.sliceMs ?? 10;
    let budget = sliceMs * this.options.timeScale;
    const limitEnd = this.limitEnd;
    if (limitEnd !== undefined) {
      const left = limitEnd - this.console.kernel.now();
      if (left <= 0) {
        // Hold still until the break-in.
        if (!this.limitReported) {
          this.limitReported = true;
          this.options.onLimitReached?.();
        }
        await sleep(sliceMs);
        return;
      }
      budget = Math.min(budget, left);
    }
    const reboot = this.options.faults?.find((fault) => fault.kind === 'reboot-at');
    const atHit = this.options.faults?.find((fault) => fault.kind === 'reboot-at-hit');
    // reboot-at-hit: the N-th PoolHitTag break was shown and the target continued: it resets now.
    if (atHit && !this.rebootDone && this.hitsSeen >= atHit.hits) {
      this.rebootDone = true;
      await this.deliver(this.console.spontaneousReboot(), false);
      return;
    }
    // reboot-at counts target time from the connection (the scenario's preload is already behind it).
    const due = this.startTimeMs + (reboot?.targetMs ?? 0);
    const now = this.console.kernel.now();
    if (reboot && !this.rebootDone && now + budget >= due) budget = Math.max(0, due - now);
    const output = this.console.run(Math.max(budget, 0.001));
    if (output.state === 'halted' && this.console.kernel.currentStop() !== undefined) {
      this.hitsSeen++;
      if (this.options.faults?.some((fault) => fault.kind === 'hold-at-hit' && fault.hits === this.hitsSeen)) await this.hold(`PoolHitTag break ${this.hitsSeen}`);
    }
    await this.deliver(output, false);
    if (reboot && !this.rebootDone && output.state === 'running' && this.console.kernel.now() >= due) {
      this.rebootDone = true;
      await this.deliver(this.console.spontaneousReboot(), false);
      return;
    }
    if (this.console.currentState !== 'running') return;
    // Within a run limit the target runs as fast as the host allows (letting input and signals in).
    if (limitEnd !== undefined) await new Promise<void>((resolve) => setImmediate(resolve));
    else await sleep(sliceMs);
  }

  // exit-after and stall, checked after each command's response; true when the console ended.
  private async afterCommandFaults(): Promise<boolean> {
    for (const fault of this.options.faults ?? []) {
      if (fault.kind === 'exit-after' && this.commands >= fault.commands) {
        this.end('fault');
        return true;
      }
      if (fault.kind === 'stall' && this.commands === fault.afterCommands) await sleep(fault.seconds * 1000);
    }
    return false;
  }

  // Apply garbage and truncation, then latency and bandwidth, then write.
  private async deliver(output: ConsoleOutput, isResponse: boolean): Promise<void> {
    let text = output.text;
    if (output.delayMs > 0) {
      // A slow command (`!poolfind`) can be stopped with Ctrl+C, as in kd: what it found so far.
      const started = Date.now();
      while (Date.now() - started < output.delayMs) {
        if (this.interruptRequested && output.interrupted) {
          this.interruptRequested = false;
          text = output.interrupted((Date.now() - started) / output.delayMs);
          break;
        }
        await sleep(Math.min(20, output.delayMs - (Date.now() - started)));
      }
    }
    if (text.length === 0) return;
    const prompt = output.state === 'halted' ? this.console.prompt() : '';
    let body = prompt && text.endsWith(prompt) ? text.slice(0, text.length - prompt.length) : text;
    for (const fault of this.options.faults ?? []) {
      if (fault.kind === 'truncate' && isResponse && body.length > fault.characters) {
        body = `${body.slice(0, fault.characters)}\n`;
      }
      if (fault.kind === 'garbage' && this.random() < fault.probability) {
        const prefix = GARBAGE_PREFIXES[Math.floor(this.random() * GARBAGE_PREFIXES.length)];
        body = `${prefix}${this.random().toString(36).slice(2, 10)}\n${body}`;
      }
    }
    text = body + (text.endsWith(prompt) ? prompt : '');
    if (this.options.latencyMs) await sleep(this.options.latencyMs);
    const bandwidth = this.options.bandwidth ?? 0;
    if (bandwidth <= 0) {
      this.options.write(text);
      return;
    }
    // Write in 50 ms worth of bytes at a time.
    const chunk = Math.max(1, Math.floor(bandwidth / 20));
    for (let offset = 0; offset < text.length; offset += chunk) {
      this.options.write(text.slice(offset, offset + chunk));
      if (offset + chunk < text.length) await sleep((chunk / bandwidth) * 1000);
    }
  }

  // End once.
  private end(reason: 'quit' | 'fault' | 'error', error?: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.options.onEnd?.(reason, error);
  }
}
