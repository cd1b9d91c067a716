/**
 * Opens a target from its spec and returns the session with its facts:
 * `sim:<scenario.yaml|profile>` (and the empty spec: the simulator's default), `kd:<kd arguments>`,
 * `process:<command line of any kd-compatible console>`, `replay:<transcript.jsonl>`.
 * Every live target is a console process behind the same kd-console transport, so the path a
 * real user runs is the one the simulator tests run.
 *
 * @see ../../docs/targets.md
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, posix, resolve, win32 } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { parseSimTarget, type SimTarget } from '../sim/target-spec.js';
import type { ConnectOptions, ConnectedTarget, DebuggerSession, Facts } from '../core/types.js';
import { DebuggerError, isDebuggerError } from './errors.js';
import { gatherFacts, type TargetDescription } from './facts.js';
import { KdConsoleSession } from './kd-console.js';
import { machineArch, ProcessChannel } from './process-channel.js';
import { redactSecrets } from './redact.js';
import { ReplaySession } from './replay.js';
import { TranscriptWriter, transcriptPath, type TranscriptSink } from './transcript.js';

/** A spec split into its kind and the rest (`kd:-k net:port=50000,key=…` → `kd`, `-k net:…`). */
export interface ParsedTargetSpec {
  kind: 'sim' | 'kd' | 'process' | 'replay';
  rest: string;
}

/** Split a target spec; the empty spec is the simulator's default target. */
export function parseTargetSpec(spec: string): ParsedTargetSpec {
  const trimmed = spec.trim();
  if (trimmed === '' || trimmed === 'sim') return { kind: 'sim', rest: '' };
  const match = /^(sim|kd|process|replay):(.*)$/s.exec(trimmed);
  if (!match) {
    throw new DebuggerError('INVALID_TARGET_SPEC', `Unknown target spec "${trimmed}"`, { hint: 'use sim:<scenario.yaml|profile>, kd:<kd arguments>, process:<command line> or replay:<transcript.jsonl>' });
  }
  return { kind: match[1] as ParsedTargetSpec['kind'], rest: match[2]!.trim() };
}

/** Split a command line into words without a shell: whitespace separates, "…" and '…' group, backslashes stay literal (Windows paths). */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let current = '';
  let quote: '"' | "'" | undefined;
  let inWord = false;
  for (const char of line) {
    if (quote) {
      if (char === quote) quote = undefined;
      else current += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += char;
      inWord = true;
    }
  }
  if (quote) throw new DebuggerError('INVALID_TARGET_SPEC', `Unclosed ${quote} quote in command line "${line}"`);
  if (inWord) words.push(current);
  return words;
}

/** A place kd.exe was looked for, and why it was a candidate. */
export interface KdCandidate {
  path: string;
  /** `PATH`, `KitsRoot10`, `Windows Kits`, `Debugging Tools for Windows`. */
  source: string;
}

/** What kd.exe discovery reads from the machine (each replaceable in tests). */
export interface KdLookup {
  env?: NodeJS.ProcessEnv;
  exists?: (path: string) => boolean;
  /** The Windows Kits roots from the registry (`KitsRoot10`); default: `reg query` on Windows, none elsewhere. */
  kitsRoots?: () => string[];
  /** How PATH is split and joined; default process.platform. */
  platform?: NodeJS.Platform;
}

// The folders of PATH (`;`-separated on Windows, `:` elsewhere), quotes removed, each joined with `file`.
function inPathFolders(file: string, env: NodeJS.ProcessEnv, platform: NodeJS.Platform): string[] {
  const [separator, joinPath] = platform === 'win32' ? [';', win32.join] : [':', posix.join];
  return (env['PATH'] ?? env['Path'] ?? '')
    .split(separator)
    .map((folder) => folder.trim().replace(/^"(.*)"$/, '$1'))
    .filter((folder) => folder !== '')
    .map((folder) => joinPath(folder, file));
}

// The registry keys where the Windows SDK / WDK installer records the Kits root (64- and 32-bit views).
const kitsRootKeys = ['HKLM\\SOFTWARE\\Microsoft\\Windows Kits\\Installed Roots', 'HKLM\\SOFTWARE\\WOW6432Node\\Microsoft\\Windows Kits\\Installed Roots'];

/** `KitsRoot10` from `reg query` output (`    KitsRoot10    REG_SZ    C:\Program Files (x86)\Windows Kits\10\`), if present. */
export function parseKitsRoot(regQueryOutput: string): string | undefined {
  return /^\s*KitsRoot10\s+REG_(?:EXPAND_)?SZ\s+(.+?)\s*$/m.exec(regQueryOutput)?.[1];
}

/** The Windows Kits roots the registry names (64-bit view first), read with reg.exe; empty where there is no registry. */
export function registryKitsRoots(platform: NodeJS.Platform = process.platform): string[] {
  if (platform !== 'win32') return [];
  const roots: string[] = [];
  for (const key of kitsRootKeys) {
    try {
      const output = execFileSync('reg.exe', ['query', key, '/v', 'KitsRoot10'], { encoding: 'utf8', windowsHide: true, stdio: ['ignore', 'pipe', 'ignore'], timeout: 15_000 });
      const root = parseKitsRoot(output);
      if (root) roots.push(root);
    } catch {
      // No such key (no SDK installed, or not in this view).
    }
  }
  return roots;
}

/**
 * Where kd.exe is looked for, in order: each folder of PATH; `Debuggers\<arch>` under each Windows
 * Kits root the registry names (`KitsRoot10`, an SDK on another drive); `Windows Kits\10\Debuggers\<arch>`
 * under `%ProgramFiles(x86)%` and `%ProgramFiles%`; the older `Debugging Tools for Windows (x64)` and
 * `(x86)` folders. `<arch>` is the machine's own architecture (see machineArch), not Node's.
 */
export function kdCandidates(lookup: KdLookup = {}): KdCandidate[] {
  const env = lookup.env ?? process.env;
  const arch = machineArch(env);
  const candidates: KdCandidate[] = [];
  for (const path of inPathFolders('kd.exe', env, lookup.platform ?? process.platform)) candidates.push({ path, source: 'PATH' });
  for (const root of (lookup.kitsRoots ?? registryKitsRoots)()) candidates.push({ path: win32.join(root, 'Debuggers', arch, 'kd.exe'), source: 'KitsRoot10' });
  const programFiles = [env['ProgramFiles(x86)'], env['ProgramFiles'], env['ProgramW6432'], 'C:\\Program Files (x86)', 'C:\\Program Files'].filter((root): root is string => typeof root === 'string' && root !== '');
  for (const root of programFiles) candidates.push({ path: win32.join(root, 'Windows Kits', '10', 'Debuggers', arch, 'kd.exe'), source: 'Windows Kits' });
  const older = arch === 'x86' ? ['x86'] : ['x64', 'x86'];
  for (const flavour of older) {
    for (const root of programFiles) candidates.push({ path: win32.join(root, `Debugging Tools for Windows (${flavour})`, 'kd.exe'), source: 'Debugging Tools for Windows' });
  }
  const seen = new Set<string>();
  return candidates.filter((candidate) => {
    const key = candidate.path.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * The kd.exe to run: `--kd`, then LEAKHUNT_KD, then the first candidate of kdCandidates that
 * exists. A path given explicitly must exist (checked here, before anything is spawned); a bare
 * name (`kd`, `cdb.exe`) is looked up in PATH. Every place tried is named in the error.
 */
export function resolveKdPath(kdPath: string | undefined, lookup: KdLookup = {}): string {
  const env = lookup.env ?? process.env;
  const exists = lookup.exists ?? existsSync;
  const explicit = kdPath ? { value: kdPath, from: '--kd' } : env['LEAKHUNT_KD'] ? { value: env['LEAKHUNT_KD'], from: 'LEAKHUNT_KD' } : undefined;
  if (explicit) {
    const platform = lookup.platform ?? process.platform;
    const bareName = platform === 'win32' && !/\.[a-z0-9]+$/i.test(explicit.value) ? `${explicit.value}.exe` : explicit.value;
    const tried = /[\\/]/.test(explicit.value) ? [explicit.value] : inPathFolders(bareName, env, platform);
    const found = tried.find((path) => exists(path));
    if (found) return found;
    throw new DebuggerError('DEBUGGER_NOT_FOUND', `The debugger given by ${explicit.from} was not found: ${tried.length === 1 ? `"${tried[0]}" does not exist` : `"${explicit.value}" is in no PATH folder (tried ${tried.join('; ')})`}`, {
      hint: `give the full path of kd.exe (quoted if it has spaces), e.g. --kd "C:\\Program Files (x86)\\Windows Kits\\10\\Debuggers\\x64\\kd.exe", or leave ${explicit.from} out to search PATH and the Windows Kits folders`,
    });
  }
  const candidates = kdCandidates(lookup);
  const found = candidates.find((candidate) => exists(candidate.path));
  if (found) return found.path;
  throw new DebuggerError('DEBUGGER_NOT_FOUND', `kd.exe was not found; tried ${candidates.map((candidate) => `${candidate.path} (${candidate.source})`).join('; ')}`, {
    hint: 'install the Debugging Tools for Windows (part of the Windows SDK or WDK), or pass --kd <path> or set LEAKHUNT_KD',
  });
}

// The package root (where package.json is), from this module's own location in src/ or dist/src/.
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw new DebuggerError('DEBUGGER_NOT_FOUND', 'Cannot find the leakhunt package root to start the simulator');
}

/** The compiled CLI entry the simulator process runs from. */
export function cliEntry(): string {
  return join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
}

// What to spawn for a live spec, and what the target offers besides the debugger.
interface LaunchPlan {
  file: string;
  args: string[];
  description: TargetDescription;
  host?: ConnectedTarget['host'];
}

// A simulator launch: `node dist/src/cli/main.js sim --scenario <file> | --profile <id> --state-out <runDir>/sim-state.json --host-state <machine>`;
// the host channel writes the registry into the machine folder (the run directory unless the spec
// names one with `machine=`), which the simulator reads at each boot, with the machine's memory.
function planSimulator(rest: string, spec: string, runDir: string): LaunchPlan {
  const cli = cliEntry();
  if (!existsSync(cli)) throw new DebuggerError('DEBUGGER_NOT_FOUND', `The simulator is not built (${cli} is missing)`, { hint: 'run npm run build' });
  let target: SimTarget;
  try {
    target = parseSimTarget(rest);
  } catch (error) {
    throw new DebuggerError('INVALID_TARGET_SPEC', (error as Error).message, { hint: 'sim:[<scenario.yaml>[@<profile>]|<profile>][,machine=<folder>]' });
  }
  // Both given: the scenario's drivers on that profile (`sim:<scenario>@<profile>`).
  const selector = [...(target.scenario !== undefined ? ['--scenario', target.scenario] : []), ...(target.profile !== undefined ? ['--profile', target.profile] : [])];
  const stateDir = target.machine ?? resolve(runDir);
  mkdirSync(stateDir, { recursive: true });
  const hostChannel = `${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} sim-host --state ${JSON.stringify(stateDir)} -- {cmd}`;
  return {
    file: process.execPath,
    args: [cli, 'sim', ...selector, '--state-out', join(resolve(runDir), 'sim-state.json'), '--host-state', stateDir],
    description: { kind: 'sim', spec, hostChannel },
    host: async (command) => {
      const result = await execa(process.execPath, [cli, 'sim-host', '--state', stateDir, '--', ...splitCommandLine(command)], { reject: false, stripFinalNewline: false });
      return { exitCode: result.exitCode ?? 1, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };
    },
  };
}

/** Open a target from its spec (see the module comment) and gather its facts. */
export async function connectTarget(spec: string, options: ConnectOptions): Promise<ConnectedTarget> {
  const parsed = parseTargetSpec(spec);
  const redactedSpec = redactSecrets(spec);
  if (parsed.kind === 'replay') {
    if (parsed.rest === '') throw new DebuggerError('INVALID_TARGET_SPEC', 'replay: needs the path of a transcript.jsonl');
    const session = ReplaySession.fromFile(parsed.rest);
    const description: TargetDescription = { kind: 'replay', spec: redactedSpec };
    return wrap(session, await gatherFacts(session, description), description, undefined);
  }
  const runDir = options.runDir ?? process.cwd();
  let plan: LaunchPlan;
  if (parsed.kind === 'sim') {
    plan = planSimulator(parsed.rest, redactedSpec, runDir);
  } else if (parsed.kind === 'kd') {
    plan = { file: resolveKdPath(options.kdPath), args: splitCommandLine(parsed.rest), description: { kind: 'kd', spec: redactedSpec } };
  } else {
    const words = splitCommandLine(parsed.rest);
    if (words.length === 0) throw new DebuggerError('INVALID_TARGET_SPEC', 'process: needs a command line');
    // A path (not a bare name found through PATH) must exist: on Windows a missing program is otherwise run through cmd.exe and ends with exit code 9009.
    if (/[\\/]/.test(words[0]!) && !existsSync(words[0]!)) {
      throw new DebuggerError('DEBUGGER_NOT_FOUND', `Cannot start "${words[0]}": no such program`, { hint: 'check the path in the target spec (quote paths with spaces)' });
    }
    plan = { file: words[0]!, args: words.slice(1), description: { kind: 'process', spec: redactedSpec } };
  }
  const transcript = options.runDir ? guardedTranscript(new TranscriptWriter(transcriptPath(options.runDir)), options.onWriteError) : undefined;
  // The simulator keeps run limits in its own target time (src/debuggers/run-limit.ts).
  const channel = new ProcessChannel(plan.file, plan.args, { runLimits: parsed.kind === 'sim' });
  let session: KdConsoleSession | undefined;
  try {
    session = await KdConsoleSession.open(channel, {
      ...(transcript && { transcript }),
      ...(options.commandTimeoutMs !== undefined && { commandTimeoutMs: options.commandTimeoutMs }),
      ...(options.signal && { connectSignal: options.signal }),
    });
    if (session.running) await session.breakIn({ ...(options.commandTimeoutMs !== undefined && { timeoutMs: options.commandTimeoutMs }), ...(options.signal && { signal: options.signal }) });
    const facts = await gatherFacts(session, plan.description);
    return wrap(session, facts, plan.description, plan.host);
  } catch (error) {
    if (session) await session.close().catch(() => undefined);
    else await channel.end().catch(() => undefined);
    if (isDebuggerError(error) && error.code === 'DEBUGGER_EXITED' && /ENOENT/.test(error.message)) {
      throw new DebuggerError('DEBUGGER_NOT_FOUND', `Cannot start "${plan.file}": no such program`, { hint: 'check the path in the target spec (quote paths with spaces)', cause: error });
    }
    throw error;
  }
}

// A transcript whose failed writes are reported, never thrown: they would surface inside the
// console's data handler and end the process with the target halted or PoolHitTag set.
function guardedTranscript(writer: TranscriptWriter, onError: ConnectOptions['onWriteError']): TranscriptSink {
  return {
    append(entry) {
      try {
        writer.append(entry);
      } catch (error) {
        onError?.('transcript.jsonl', error);
      }
    },
  };
}

// Assemble the ConnectedTarget: refreshFacts breaks in first if the target runs (after a reconnect).
function wrap(session: DebuggerSession, facts: Facts, description: TargetDescription, host: ConnectedTarget['host']): ConnectedTarget {
  return {
    session,
    facts,
    async refreshFacts() {
      if (session.running) await session.breakIn();
      return gatherFacts(session, description);
    },
    ...(host && { host }),
    close: (options) => session.close(options),
  };
}
