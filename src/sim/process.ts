/**
 * The `leakhunt sim` process: a simulated Windows target behind kd's console on stdin/stdout,
 * spawned exactly like kd.exe by the kd-console transport. SIGINT breaks in (Ctrl+C); SIGTERM,
 * stdin EOF, `q` and the exit-after fault end it, and every end writes the kernel's final state
 * to `--state-out` when given. With `--host-state <dir>` the machine outlives the process: its
 * registry and the memory a debugger changed (PoolHitTag, patched code bytes; `memory.json`) are
 * there for the next process, as a real target keeps them when kd dies, until it reboots.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KdConsole } from './console/console.js';
import { type FaultSpec, parseFault } from './console/faults.js';
import { ConsoleRuntime } from './console/runtime.js';
import { RUN_LIMIT_REACHED } from '../debuggers/run-limit.js';
import { readHostRegistry, writeHostRegistry } from './host.js';
import { createKernel } from './kernel/index.js';
import type { SimKernel } from './kernel-api.js';
import { type Scenario, defaultScenario, loadScenario, onProfile, scenarioForProfile } from './scenario.js';

/** Options of `leakhunt sim`. */
export interface SimProcessOptions {
  scenario?: string;
  profile?: string;
  seed?: number;
  /** Target seconds per real second while the target runs (default 600). */
  timeScale?: number;
  latencyMs?: number;
  bandwidth?: number;
  stateOut?: string;
  faults?: readonly string[];
  hostState?: string;
  initialBreak?: boolean;
}

/** Target seconds per real second when none is given: a default-scenario hunt takes seconds. */
export const DEFAULT_TIME_SCALE = 600;

/** The streams and process hooks a sim process uses (real ones by default). */
export interface SimProcessIo {
  stdin: NodeJS.ReadableStream;
  write(text: string): void;
  /** Standard error: run-limit notices for leakhunt (src/debuggers/run-limit.ts). */
  writeError(text: string): void;
  onSignal(signal: 'SIGINT' | 'SIGTERM' | 'SIGUSR2', handler: () => void): void;
}

/** Where a hold-at fault says the machine is held: `<host-state>/held.json`. */
export function heldFilePath(dir: string): string {
  return join(dir, 'held.json');
}

/**
 * Say that a hold-at fault holds the machine (`<dir>/held.json`: the holding process's pid and
 * where it holds; SIGUSR2 to that pid releases it), or on stderr without a host-state folder.
 */
export function announceHold(dir: string | undefined, where: string): void {
  const notice = { pid: process.pid, where, time: new Date().toISOString() };
  if (!dir) {
    process.stderr.write(`held at ${where} (SIGUSR2 to ${process.pid} releases)\n`);
    return;
  }
  const file = heldFilePath(dir);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(notice)}\n`);
  renameSync(temporary, file);
}

/**
 * The scenario `leakhunt sim` runs: the file (its drivers on `profile` when both are given), else
 * the profile's default leak, else the default scenario.
 */
export function selectScenario(options: Pick<SimProcessOptions, 'scenario' | 'profile' | 'seed'>): Scenario {
  const scenario = options.scenario ? onProfile(loadScenario(options.scenario), options.profile) : options.profile ? scenarioForProfile(options.profile) : defaultScenario();
  if (options.seed !== undefined) scenario.seed = options.seed;
  return scenario;
}

/** What `<host-state>/memory.json` keeps of the machine's memory between simulator processes. */
export interface MachineMemory {
  /** nt!PoolHitTag as a dword. */
  poolHitTag: number;
  /** Code bytes that differ from the image, with their current value. */
  patchedBytes: { address: string; current: number }[];
}

/** The memory file of a host-state directory: the machine outlives its debugger. */
export function machineMemoryPath(dir: string): string {
  return join(dir, 'memory.json');
}

/** Write what the machine's memory holds that a debugger changed (atomically: the next process reads it). */
export function saveMachineMemory(dir: string, kernel: SimKernel): void {
  const memory: MachineMemory = {
    poolHitTag: kernel.poolHitTag() >>> 0,
    patchedBytes: kernel.patchedBytes().map((patch) => ({ address: '0x' + patch.address.toString(16), current: patch.current })),
  };
  const file = machineMemoryPath(dir);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(memory, null, 2)}\n`);
  renameSync(temporary, file);
}

/**
 * Put back what a previous simulator process of the same machine left in memory (PoolHitTag, patched
 * code bytes): a real target keeps running with them when its debugger dies, until it reboots.
 */
export function loadMachineMemory(dir: string, kernel: SimKernel): void {
  const file = machineMemoryPath(dir);
  if (!existsSync(file)) return;
  const memory = JSON.parse(readFileSync(file, 'utf8')) as Partial<MachineMemory>;
  const hitTagAddress = kernel.resolveSymbol('nt!PoolHitTag');
  if (hitTagAddress !== undefined && typeof memory.poolHitTag === 'number') {
    const value = memory.poolHitTag >>> 0;
    kernel.writeMemory(hitTagAddress, Uint8Array.of(value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff, value >>> 24));
  }
  for (const patch of memory.patchedBytes ?? []) kernel.writeMemory(BigInt(patch.address), Uint8Array.of(patch.current & 0xff));
}

/**
 * Faults from `LEAKHUNT_SIM_FAULTS` (specs separated by spaces), added to `--fault`: for a simulator
 * that leakhunt starts itself, whose command line (the target spec) must stay that of the machine.
 */
export function environmentFaults(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env['LEAKHUNT_SIM_FAULTS'] ?? '').split(/\s+/).filter((spec) => spec !== '');
}

/** The final-state JSON `--state-out` receives. */
export function stateJson(kernel: SimKernel, halted: boolean): string {
  return `${JSON.stringify(kernel.state(halted), null, 2)}\n`;
}

/**
 * Run the simulator on the given streams until it ends; resolves to the exit code
 * (0 for q / EOF, 143 for SIGTERM, 3 for the exit-after fault, 1 for a simulator bug).
 */
export function runSimProcess(options: SimProcessOptions, io: SimProcessIo): Promise<number> {
  const faults: FaultSpec[] = [...(options.faults ?? []), ...environmentFaults()].map(parseFault);
  const scenario = selectScenario(options);
  if (options.hostState) {
    const registry = readHostRegistry(options.hostState);
    if (registry) scenario.registry = { ...scenario.registry, globalFlag: registry.globalFlag };
    else writeHostRegistry(options.hostState, { globalFlag: scenario.registry.globalFlag, profile: scenario.profile });
  }
  const kernel = createKernel(scenario, { seed: scenario.seed });
  const hostState = options.hostState;
  if (hostState) loadMachineMemory(hostState, kernel);
  const console = new KdConsole(kernel, {
    initialBreak: options.initialBreak ?? true,
    beforeBoot: hostState
      ? (target) => {
        const registry = readHostRegistry(hostState);
        if (registry) target.setRegistryGlobalFlag(registry.globalFlag);
      }
      : undefined,
  });
  return new Promise<number>((resolve) => {
    let finished = false;
    const finish = (code: number) => {
      if (finished) return;
      finished = true;
      runtime.stop();
      // `q` is read only at a break, so a quit target stays halted; only a running target is not.
      // A folder that cannot take the files must not turn the end into a crash.
      try {
        if (hostState) saveMachineMemory(hostState, kernel);
        if (options.stateOut) writeFileSync(options.stateOut, stateJson(kernel, console.currentState !== 'running'));
      } catch (error) {
        process.stderr.write(`cannot write the simulator's final state: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}\n`);
      }
      resolve(code);
    };
    const runtime = new ConsoleRuntime(console, {
      write: (text) => io.write(text),
      timeScale: options.timeScale ?? DEFAULT_TIME_SCALE,
      latencyMs: options.latencyMs,
      bandwidth: options.bandwidth,
      faults,
      seed: scenario.seed,
      onHold: (where) => announceHold(hostState, where),
      onLimitReached: () => io.writeError(`${RUN_LIMIT_REACHED}\n`),
      onEnd: (reason, error) => {
        if (reason === 'error') process.stderr.write(`internal error in the simulator (please report it): ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
        finish(reason === 'quit' ? 0 : reason === 'fault' ? 3 : 1);
      },
    });
    io.stdin.setEncoding?.('utf8');
    io.stdin.on('data', (chunk: string | Buffer) => runtime.input(String(chunk)));
    io.stdin.on('end', () => {
      void runtime.drain().then(() => finish(0));
    });
    io.onSignal('SIGINT', () => runtime.interrupt());
    io.onSignal('SIGTERM', () => finish(143));
    if (faults.some((fault) => fault.kind === 'hold-at' || fault.kind === 'hold-at-hit')) io.onSignal('SIGUSR2', () => runtime.release());
    runtime.start();
  });
}

/** The real process streams and signals. */
export function processIo(): SimProcessIo {
  return {
    stdin: process.stdin,
    write: (text) => {
      process.stdout.write(text);
    },
    writeError: (text) => {
      process.stderr.write(text);
    },
    onSignal: (signal, handler) => {
      process.on(signal, handler);
    },
  };
}
