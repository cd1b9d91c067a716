/**
 * A ConsoleChannel (src/debuggers/channel.ts) over a simulator console in this process: the
 * same bytes the `leakhunt sim` process prints, without a child process, for fast tests.
 */
import type { ChannelExit, ConsoleChannel } from '../debuggers/channel.js';
import { runLimitLine } from '../debuggers/run-limit.js';
import { KdConsole, type KdConsoleOptions } from './console/console.js';
import type { FaultSpec } from './console/faults.js';
import { ConsoleRuntime } from './console/runtime.js';
import type { SimKernel } from './kernel-api.js';

/** Options of an in-process simulator channel. */
export interface InProcessChannelOptions extends KdConsoleOptions {
  /** Target ms per real ms while the target runs (default 1000: a target minute in 60 ms). */
  timeScale?: number;
  /** Real ms between run slices (default 2). */
  sliceMs?: number;
  latencyMs?: number;
  bandwidth?: number;
  faults?: readonly FaultSpec[];
  seed?: number;
}

/** The channel plus the console behind it (tests read kernel state through `console.kernel`). */
export interface InProcessChannel extends ConsoleChannel {
  readonly console: KdConsole;
  readonly runtime: ConsoleRuntime;
}

/** Open a simulator console over `kernel`; output starts (banner) on the next tick. */
export function createInProcessChannel(kernel: SimKernel, options: InProcessChannelOptions = {}): InProcessChannel {
  const console = new KdConsole(kernel, options);
  const dataListeners: ((chunk: string) => void)[] = [];
  const exitListeners: ((exit: ChannelExit) => void)[] = [];
  const buffered: string[] = [];
  const reachedListeners: (() => void)[] = [];
  let exited: ChannelExit | undefined;
  const finish = (exit: ChannelExit) => {
    if (exited) return;
    exited = exit;
    runtime.stop();
    for (const listener of exitListeners) listener(exit);
  };
  const runtime = new ConsoleRuntime(console, {
    write: (text) => {
      if (dataListeners.length === 0) buffered.push(text);
      for (const listener of dataListeners) listener(text);
    },
    timeScale: options.timeScale ?? 1000,
    sliceMs: options.sliceMs ?? 2,
    latencyMs: options.latencyMs,
    bandwidth: options.bandwidth,
    faults: options.faults,
    seed: options.seed,
    onLimitReached: () => {
      for (const listener of reachedListeners) listener();
    },
    onEnd: (reason) => queueMicrotask(() => finish({ code: reason === 'quit' ? 0 : reason === 'fault' ? 3 : 1, signal: null })),
  });
  setImmediate(() => runtime.start());
  return {
    console,
    runtime,
    write(text) {
      if (!exited) runtime.input(text);
    },
    onData(listener) {
      dataListeners.push(listener);
      for (const chunk of buffered.splice(0)) listener(chunk);
    },
    onExit(listener) {
      exitListeners.push(listener);
      if (exited) listener(exited);
    },
    interrupt() {
      runtime.interrupt();
    },
    async end() {
      finish({ code: 0, signal: null });
      return exited as ChannelExit;
    },
    runLimit: {
      set(ms) {
        if (!exited) runtime.input(runLimitLine(ms));
      },
      onReached(listener) {
        reachedListeners.push(listener);
      },
    },
  };
}
