/**
 * Opens a target from its spec and returns the session with its facts:
 * `sim:<scenario.yaml|profile>` (and the empty spec: the simulator's default), `kd:<kd arguments>`,
 * `process:<command line of any kd-compatible console>`, `replay:<transcript.jsonl>`.
 * Every live target is a console process behind the same kd-console transport, so the path a
 * real user runs is the one the simulator tests run.
 *
 * @see ../../docs/targets.md
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { ConnectOptions, ConnectedTarget, DebuggerSession, Facts } from '../core/types.js';
import { DebuggerError, isDebuggerError } from './errors.js';
import { gatherFacts, type TargetDescription } from './facts.js';
import { KdConsoleSession } from './kd-console.js';
import { ProcessChannel } from './process-channel.js';
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

/** Where kd.exe usually is: the Windows Kits debuggers folder for this machine's architecture. */
export function defaultKdCandidates(env: NodeJS.ProcessEnv = process.env, arch: string = process.arch): string[] {
  const folder = arch === 'arm64' ? 'arm64' : arch === 'ia32' ? 'x86' : 'x64';
  const roots = [env['ProgramFiles(x86)'], env['ProgramFiles'], 'C:\\Program Files (x86)'].filter((root): root is string => typeof root === 'string' && root !== '');
  return [...new Set(roots.map((root) => `${root}\\Windows Kits\\10\\Debuggers\\${folder}\\kd.exe`))];
}

/** The kd.exe to run: `--kd`, then LEAKHUNT_KD, then the first Windows Kits candidate that exists. */
export function resolveKdPath(kdPath: string | undefined, env: NodeJS.ProcessEnv = process.env, exists: (path: string) => boolean = existsSync): string {
  if (kdPath) return kdPath;
  if (env['LEAKHUNT_KD']) return env['LEAKHUNT_KD'];
  const candidates = defaultKdCandidates(env);
  const found = candidates.find((candidate) => exists(candidate));
  if (found) return found;
  throw new DebuggerError('DEBUGGER_NOT_FOUND', 'kd.exe was not found', { hint: `pass --kd <path>, set LEAKHUNT_KD, or install the Debugging Tools for Windows (looked in ${candidates.join('; ')})` });
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

// A simulator launch: `node dist/src/cli/main.js sim --scenario <file> | --profile <id> --state-out <runDir>/sim-state.json --host-state <runDir>`;
// the host channel writes the registry into the same folder, which the simulator reads at each boot.
function planSimulator(rest: string, spec: string, runDir: string): LaunchPlan {
  const cli = cliEntry();
  if (!existsSync(cli)) throw new DebuggerError('DEBUGGER_NOT_FOUND', `The simulator is not built (${cli} is missing)`, { hint: 'run npm run build' });
  const selector = rest === '' ? [] : /\.ya?ml$/i.test(rest) || existsSync(rest) ? ['--scenario', resolve(rest)] : ['--profile', rest];
  const stateDir = resolve(runDir);
  const hostChannel = `${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} sim-host --state ${JSON.stringify(stateDir)} -- {cmd}`;
  return {
    file: process.execPath,
    args: [cli, 'sim', ...selector, '--state-out', join(stateDir, 'sim-state.json'), '--host-state', stateDir],
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
    plan = { file: words[0]!, args: words.slice(1), description: { kind: 'process', spec: redactedSpec } };
  }
  const transcript = options.runDir ? guardedTranscript(new TranscriptWriter(transcriptPath(options.runDir)), options.onWriteError) : undefined;
  const channel = new ProcessChannel(plan.file, plan.args);
  let session: KdConsoleSession | undefined;
  try {
    session = await KdConsoleSession.open(channel, {
      ...(transcript && { transcript }),
      ...(options.commandTimeoutMs !== undefined && { commandTimeoutMs: options.commandTimeoutMs }),
    });
    if (session.running) await session.breakIn({ ...(options.commandTimeoutMs !== undefined && { timeoutMs: options.commandTimeoutMs }) });
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
