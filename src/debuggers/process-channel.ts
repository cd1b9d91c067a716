/**
 * A ConsoleChannel over a child process (kd.exe, cdb.exe, the simulator process, the test fake),
 * spawned with execa: stdin/stdout/stderr pipes, no shell, break-in by SIGINT on POSIX and by a
 * console control event on Windows.
 *
 * Windows break-in: the child is started with `windowsHide` and all-pipe stdio, which makes Node
 * create it with CREATE_NO_WINDOW: it gets a console of its own, without a window, that leakhunt
 * is not attached to. To break in, leakhunt runs the `process-killer.exe` helper shipped in the
 * optional `ctrlc-windows` package with the child's pid: the helper leaves its own console,
 * attaches to the child's, ignores Ctrl+C itself and generates CTRL_C_EVENT for every process on
 * that console, that is the child alone. leakhunt itself never receives the event and never
 * changes its own Ctrl+C handling (the package's in-process `ctrlc()` does, for the duration of the
 * call, and blocks the event loop while the helper runs).
 *
 * @see ../../docs/targets.md
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { ChannelExit, ConsoleChannel } from './channel.js';
import { DebuggerError } from './errors.js';
import { redactSecrets } from './redact.js';
import { RUN_LIMIT_REACHED, runLimitLine, type RunLimitLink } from './run-limit.js';

/** How to start a console process. */
export interface ProcessChannelOptions {
  /** Extra environment variables for the child (merged into the parent's). */
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** After closing stdin, how long to wait before SIGTERM (and as long again before SIGKILL). Default 2000 ms. */
  endGraceMs?: number;
  /** Platform to behave as (tests only; defaults to process.platform). */
  platform?: NodeJS.Platform;
  /**
   * Start the child without a console window (default true). On Windows this is what gives the
   * child a console of its own, so that a break-in reaches the child and not leakhunt; false
   * exists only for the test that shows it.
   */
  windowsHide?: boolean;
  /** The Windows break-in helper to run instead of ctrlc-windows' process-killer.exe (tests only). */
  breakInHelper?: string;
  /**
   * The child is leakhunt's own simulator: it takes run limits on the side channel of
   * src/debuggers/run-limit.ts. Never set for kd.exe or a user's process.
   */
  runLimits?: boolean;
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
  private readonly breakInHelper: string | undefined;
  private stderrLine = '';
  private readonly reachedListeners: Array<() => void> = [];
  readonly runLimit: RunLimitLink | undefined;

  constructor(
    readonly file: string,
    readonly args: readonly string[],
    options: ProcessChannelOptions = {},
  ) {
    this.endGraceMs = options.endGraceMs ?? 2000;
    this.platform = options.platform ?? process.platform;
    this.breakInHelper = options.breakInHelper;
    this.subprocess = execa(file, args, {
      stdin: 'pipe',
      stdout: 'pipe',
      stderr: 'pipe',
      buffer: false,
      reject: false,
      stripFinalNewline: false,
      windowsHide: options.windowsHide ?? true,
      cleanup: true,
      // POSIX: its own process group, so the terminal's Ctrl+C and hangup reach leakhunt alone,
      // which breaks in and runs cleanup through a debugger that is still there (a hangup would
      // kill it). Its stdin is leakhunt's pipe, so it still ends when leakhunt does.
      detached: this.platform !== 'win32',
      ...(options.cwd !== undefined && { cwd: options.cwd }),
      ...(options.env !== undefined && { env: options.env }),
    });
    this.pid = this.subprocess.pid;
    this.subprocess.stdout?.setEncoding('utf8');
    this.subprocess.stderr?.setEncoding('utf8');
    this.subprocess.stdout?.on('data', (chunk: string) => {
      for (const listener of this.dataListeners) listener(chunk);
    });
    this.subprocess.stderr?.on('data', (chunk: string) => this.receiveStderr(chunk));
    this.runLimit = options.runLimits
      ? {
        set: (ms) => this.write(runLimitLine(ms)),
        onReached: (listener) => {
          this.reachedListeners.push(listener);
        },
      }
      : undefined;
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

  // Keep stderr for diagnostics; a simulator's run-limit lines go to their listeners instead.
  private receiveStderr(chunk: string): void {
    if (!this.runLimit) {
      this.stderrTail = (this.stderrTail + chunk).slice(-stderrLimit);
      return;
    }
    const text = this.stderrLine + chunk;
    const cut = text.lastIndexOf('\n') + 1;
    this.stderrLine = text.slice(cut);
    for (const line of text.slice(0, cut).split('\n').slice(0, -1)) {
      if (line.replace(/\r$/, '') === RUN_LIMIT_REACHED) for (const listener of this.reachedListeners) listener();
      else this.stderrTail = (this.stderrTail + line + '\n').slice(-stderrLimit);
    }
  }

  /** What the console wrote to stderr lately (redacted), for diagnostics. */
  get stderr(): string {
    return redactSecrets(this.stderrTail + this.stderrLine);
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

  /** Break in: SIGINT at once on POSIX; on Windows resolves once the helper has sent CTRL_C_EVENT, rejects with a coded error when it could not. */
  async interrupt(): Promise<void> {
    if (this.exitInfo) return;
    if (this.platform !== 'win32') {
      this.subprocess.kill('SIGINT');
      return;
    }
    if (this.pid === undefined) throw new DebuggerError('BREAK_IN_UNSUPPORTED', 'Cannot break in: the debugger process has no id');
    await sendConsoleControlC(this.pid, this.breakInHelper ?? breakInHelperPath());
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

// How long the break-in helper may take (it makes four system calls; this is a safety bound, not a tuning).
const breakInHelperTimeoutMs = 30_000;

/** The process-killer.exe of the optional ctrlc-windows package for this machine (arm64 or x64), or a BREAK_IN_UNSUPPORTED error saying what is missing. */
export function breakInHelperPath(env: NodeJS.ProcessEnv = process.env, resolvePackage: (request: string) => string = createRequire(import.meta.url).resolve, exists: (path: string) => boolean = existsSync): string {
  let packageJson: string;
  try {
    packageJson = resolvePackage('ctrlc-windows/package.json');
  } catch (error) {
    throw new DebuggerError('BREAK_IN_UNSUPPORTED', 'Cannot break in on Windows: the optional package "ctrlc-windows" is not installed', {
      hint: 'kd.exe runs without a console window, so only a console control event sent by that package\'s helper can break in: run npm install ctrlc-windows beside leakhunt; see docs/targets.md',
      cause: error,
    });
  }
  const helper = join(dirname(packageJson), 'dist', machineArch(env) === 'arm64' ? 'arm64' : 'x64', 'process-killer.exe');
  if (!exists(helper)) {
    throw new DebuggerError('BREAK_IN_UNSUPPORTED', `Cannot break in on Windows: ${helper} is missing`, {
      hint: 'reinstall the optional package ctrlc-windows (npm install ctrlc-windows); see docs/targets.md',
    });
  }
  return helper;
}

/**
 * The machine's own architecture on Windows (`x64`, `arm64`, `x86`), not Node's: an x64 Node runs
 * emulated on an arm64 machine and a 32-bit one under WOW64. From PROCESSOR_ARCHITEW6432 (set for a
 * WOW64 process), PROCESSOR_IDENTIFIER (names the ARM processor even to an emulated process) and
 * PROCESSOR_ARCHITECTURE; Node's own architecture when none says.
 */
export function machineArch(env: NodeJS.ProcessEnv = process.env, nodeArch: string = process.arch): 'x64' | 'arm64' | 'x86' {
  const identifier = env['PROCESSOR_IDENTIFIER'] ?? '';
  const architecture = (env['PROCESSOR_ARCHITEW6432'] ?? env['PROCESSOR_ARCHITECTURE'] ?? '').toUpperCase();
  if (architecture === 'ARM64' || /^ARM/i.test(identifier)) return 'arm64';
  if (architecture === 'AMD64') return 'x64';
  if (architecture === 'X86') return 'x86';
  return nodeArch === 'arm64' ? 'arm64' : nodeArch === 'ia32' ? 'x86' : 'x64';
}

// Run the helper with the child's pid; it exits 0 once CTRL_C_EVENT was generated on the child's console.
async function sendConsoleControlC(pid: number, helper: string): Promise<void> {
  const result = await execa(helper, [String(pid)], { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', reject: false, windowsHide: true, timeout: breakInHelperTimeoutMs });
  if (result.exitCode === 0) return;
  const said = lastWords(`${String(result.stderr ?? '')}\n${String(result.stdout ?? '')}`);
  const how = result.timedOut ? `did not finish within ${breakInHelperTimeoutMs} ms` : result.exitCode === undefined ? `could not run (${result.shortMessage})` : `exited with code ${result.exitCode}`;
  throw new DebuggerError('BREAK_IN_FAILED', `Could not break in: ${helper} ${how}${said ? `: ${said}` : ''}`, {
    hint: 'the target is still running and the debugger still attached; the console control event needs kd.exe started by leakhunt (it has a console of its own); check that the kd process is alive and try again',
  });
}
