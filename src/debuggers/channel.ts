/**
 * A byte channel to a kd-compatible console: a child process (kd.exe, cdb.exe, the simulator
 * process) or an in-process simulator console. The kd-console session frames commands over it;
 * everything specific to one console (prompt, echo, break-in) stays in the session, not here.
 */
import type { RunLimitLink } from './run-limit.js';

/** Why a channel ended. */
export interface ChannelExit {
  code: number | null;
  signal: string | null;
  /** Why the console could not start or died abnormally (`spawn kd.exe ENOENT`), when known. */
  error?: string;
  /** The last lines the console wrote to stderr (redacted, control characters dropped, ` | ` between lines), when it wrote any. */
  stderr?: string;
}

/** Text in, text out, an interrupt, and an end. */
export interface ConsoleChannel {
  /** Send text to the console's standard input. */
  write(text: string): void;
  /** Register the receiver of console output; chunks may split anywhere (mid-line, mid-marker). */
  onData(listener: (chunk: string) => void): void;
  /** Register the receiver of the end of the console. */
  onExit(listener: (exit: ChannelExit) => void): void;
  /**
   * Ctrl+C: break into the target (SIGINT for a POSIX child; a console control event on Windows).
   * Throws or rejects when the interrupt could not be delivered; resolving only means it was sent.
   */
  interrupt(): void | Promise<void>;
  /** End the console (close stdin, then terminate if it lingers). */
  end(): Promise<ChannelExit>;
  /** On a channel to the simulator only: run limits in target time (src/debuggers/run-limit.ts). */
  readonly runLimit?: RunLimitLink;
}
