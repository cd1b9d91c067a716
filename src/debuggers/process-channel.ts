/**
 * A ConsoleChannel over a child process (kd.exe, cdb.exe, the simulator process, the test fake),
 * spawned with execa: stdin/stdout/stderr pipes, no shell, break-in by SIGINT on POSIX and by a
 * console control event on Windows.
 *
 * @see ../../docs/targets.md
 */
import { createRequire } from 'node:module';
import { execa, type ResultPromise } from 'execa';
import type { ChannelExit, ConsoleChannel } from './channel.js';
import { DebuggerError } from './errors.js';
import { redactSecrets } from './redact.js';

/** How to start a console process. */
export interface ProcessChannelOptions {
  /** Extra environment variables for the child (merged into the parent's). */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** After closing stdin, how long to wait before SIGTERM (and as long again before SIGKILL). Default 2000 ms. */
  endGraceMs?: number;
  /** Platform to behave as (tests only; defaults to process.platform). */
  platform?: NodeJS.Platform;
}

// The most stderr text kept for diagnostics.
const stderrLimit = 16 * 1024;

// How much of stderr an exit reports: the last lines, on one line.
const lastWordsLines = 5;
const lastWordsChars = 1000;

/** The last non-empty lines of a console's stderr on one line, without control characters; undefined when there are none. */
export function lastWords(stderr: string): string | undefined {
  const lines = stderr
    .split(/\r?\n/)
    .map((line) => line.replace(/[\u0000-\u001f\u007f]/g, ' ').trim())
    .filter((line) => line !== '')
    .slice(-lastWordsLines);
  if (lines.length === 0) return undefined;
  const text = lines.join(' | ');
  return text.length > lastWordsChars ? `…${text.slice(-(lastWordsChars - 1))}` : text;
}

/** A console child process as a ConsoleChannel. */
export class ProcessChannel implements ConsoleChannel {
  readonly pid: number | undefined;
  private readonly subprocess: ResultPromise;
  private readonly dataListeners: Array<(chunk: string) => void> = [];
  private readonly exitListeners: Array<(exit: ChannelExit) => void> = [];
  private exitInfo: ChannelExit | undefined;
  private readonly exited: Promise<ChannelExit>;
  private stderrTail = '';
  private readonly endGraceMs: number;
  private readonly platform: NodeJS.Platform;

  constructor(
    readonly file: string,
    readonly args: readonly string[],
    options: ProcessChannelOptions = {},
  ) {
    this.endGraceMs = options.endGraceMs ?? 2000;
    this.platform = options.platform ?? process.platform;
    this.subprocess = execa(file, args, {
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      stripFinalNewline: false,
      windowsHide: true,
      cleanup: true,
      ...(options.cwd !== undefined && { cwd: options.cwd }),
      ...(options.env !== undefined && { env: options.env }),
    });
    this.pid = this.subprocess.pid;
    this.subprocess.stdout?.setEncoding('utf8');
    this.subprocess.stderr?.setEncoding('utf8');
    this.subprocess.stdout?.on('data', (chunk: string) => {
      for (const listener of this.dataListeners) listener(chunk);
    });
    this.subprocess.stderr?.on('data', (chunk: string) => {
      this.stderrTail = (this.stderrTail + chunk).slice(-stderrLimit);
    });
    // A console that dies makes writes fail with EPIPE; the exit listener reports it instead.
    this.subprocess.stdin?.on('error', () => undefined);
    this.exited = this.subprocess.then((result) => {
      const said = lastWords(this.stderr);
      const exit: ChannelExit = {
        code: result.exitCode ?? null,
        signal: result.signal ?? null,
        ...(result.failed && result.exitCode === undefined && result.signal === undefined && { error: redactSecrets(result.shortMessage ?? "the process failed to start") }),
        ...(said !== undefined && { stderr: said }),
      };
      this.exitInfo = exit;
      for (const listener of this.exitListeners) listener(exit);
      return exit;
    });
  }

  /** What the console wrote to stderr lately (redacted), for diagnostics. */
  get stderr(): string {
    return redactSecrets(this.stderrTail);
  }

  /** True once the process has ended. */
  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  write(text: string): void {
    if (this.exitInfo || !this.subprocess.stdin || this.subprocess.stdin.destroyed || this.subprocess.stdin.writableEnded) return;
    this.subprocess.stdin.write(text);
  }

  onData(listener: (chunk: string) => void): void {
    this.dataListeners.push(listener);
  }

  onExit(listener: (exit: ChannelExit) => void): void {
    this.exitListeners.push(listener);
    if (this.exitInfo) listener(this.exitInfo);
  }

  interrupt(): void {
    if (this.exitInfo) return;
    if (this.platform === 'win32') {
      sendConsoleControlC(this.pid);
      return;
    }
    this.subprocess.kill('SIGINT');
  }

  async end(): Promise<ChannelExit> {
    if (this.exitInfo) return this.exitInfo;
    this.subprocess.stdin?.end();
    if (await settlesWithin(this.exited, this.endGraceMs)) return this.exited;
    this.subprocess.kill('SIGTERM');
    if (await settlesWithin(this.exited, this.endGraceMs)) return this.exited;
    this.subprocess.kill('SIGKILL');
    return this.exited;
  }
}

// Resolve true if the promise settles within the time, false otherwise.
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// On Windows kd.exe takes Ctrl+C as a console control event, which the optional ctrlc-windows package sends.
function sendConsoleControlC(pid: number | undefined): void {
  if (pid === undefined) throw new DebuggerError('BREAK_IN_UNSUPPORTED', 'Cannot break in: the debugger process has no id');
  let module: { ctrlc(pid: number): void };
  try {
    module = createRequire(import.meta.url)('ctrlc-windows') as { ctrlc(pid: number): void };
  } catch (error) {
    throw new DebuggerError('BREAK_IN_UNSUPPORTED', 'Cannot break in on Windows: the optional package "ctrlc-windows" is not installed', {
      hint: 'install it (npm install ctrlc-windows) or break in from the kd window yourself; see docs/targets.md',
      cause: error,
    });
  }
  module.ctrlc(pid);
}
