/**
 * The signals that stop a run, all handled alike (stop the current step, run cleanup, exit 1):
 * Ctrl+C (SIGINT), a kill (SIGTERM), the terminal closing (SIGHUP; on Windows node raises it when
 * the console window closes, and Windows ends the process about 10 s later), and on Windows
 * Ctrl+Break (SIGBREAK). Imported by main.ts at start-up, so it loads nothing but node:fs.
 */
import { closeSync, openSync } from 'node:fs';

/** The stop signals of this platform. */
export const stopSignals: readonly NodeJS.Signals[] = process.platform === 'win32' ? ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] : ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Call `handler` on every stop signal; returns the function that removes it again. */
export function onStopSignals(handler: (signal: NodeJS.Signals) => void): () => void {
  for (const signal of stopSignals) process.on(signal, handler);
  return () => {
    for (const signal of stopSignals) process.off(signal, handler);
  };
}

/** Listeners on the stop signals, summed (a hunt's own handler counts one per signal). */
export function stopSignalListeners(): number {
  return stopSignals.reduce((sum, signal) => sum + process.listenerCount(signal), 0);
}

/** How a signal is named to a person: the key or event behind it. */
export function signalText(signal: NodeJS.Signals): string {
  switch (signal) {
    case 'SIGINT':
      return 'SIGINT (Ctrl+C)';
    case 'SIGBREAK':
      return 'SIGBREAK (Ctrl+Break)';
    case 'SIGHUP':
      return 'SIGHUP (the terminal closed)';
    default:
      return signal;
  }
}

/**
 * After the terminal closed (SIGHUP on POSIX): point standard input, output and error that were
 * the terminal at /dev/null. Writes to a hung-up terminal fail (EIO), and node, restoring the
 * terminal's mode as it exits, aborts when it cannot (fixed in newer node: nodejs/node#58200);
 * the run still has its cleanup to do and its exit code to give.
 */
export function leaveClosedTerminal(): void {
  if (process.platform === 'win32') return;
  const streams = [process.stdin, process.stdout, process.stderr] as const;
  streams.forEach((stream, fd) => {
    if (!stream.isTTY) return;
    try {
      closeSync(fd);
      // The lowest free descriptor: fd itself.
      openSync('/dev/null', fd === 0 ? 'r' : 'w');
    } catch {
      // Nothing better to do with a terminal that is gone.
    }
  });
}
