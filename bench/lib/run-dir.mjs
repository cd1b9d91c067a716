/**
 * Runs of `leakhunt run` for benchmarks, and what their run directories say: debugger
 * exchanges counted from transcript.jsonl, step windows from events.jsonl, stacks.jsonl lines.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runProcess } from './child.mjs';

/** The repository root (bench/..). */
export const root = fileURLToPath(new URL('../..', import.meta.url));
/** The compiled CLI. */
export const cli = join(root, 'dist', 'src', 'cli', 'main.js');

/** A fresh temporary folder for run directories. */
export function tempDir(prefix = 'leakhunt-bench-') {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Run `leakhunt run <playbook>` to its end; rejects when the run fails. */
export async function runPlaybook({ playbook, target, inputs = {}, out }) {
  const args = [cli, 'run', playbook, '--out', out, ...(target ? ['--target', target] : [])];
  for (const [key, value] of Object.entries(inputs)) args.push('--input', `${key}=${value}`);
  const result = await runProcess(process.execPath, args, { cwd: root, timeoutMs: 300_000 });
  if (result.code !== 0) throw new Error(`leakhunt run ${playbook} failed (exit ${result.code ?? result.signal}):\n${(result.stdout + result.stderr).trim().slice(-3000)}`);
  return { wallMs: result.wallMs, dir: out };
}

// One JSON value per non-empty line.
function readJsonLines(file) {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

/** transcript.jsonl, events.jsonl and stacks.jsonl of a run directory. */
export function readRunDir(dir) {
  return {
    transcript: readJsonLines(join(dir, 'transcript.jsonl')),
    events: readJsonLines(join(dir, 'events.jsonl')),
    stacks: readJsonLines(join(dir, 'stacks.jsonl')),
  };
}

/** Start and end (epoch ms) of a step's last attempt, from events.jsonl; undefined when it did not run. */
export function stepWindow(events, stepId) {
  const start = events.filter((e) => e.event === 'stepStart' && e.step === stepId).pop();
  const end = events.filter((e) => e.event === 'stepEnd' && e.step === stepId).pop();
  if (!start || !end) return undefined;
  return { startMs: Date.parse(start.time), endMs: Date.parse(end.time), durationMs: end.durationMs, outputs: end.outputs };
}

/**
 * The command/response exchanges the tool started: every command it sent and waited on the
 * answer of, every go command (answered by the next stop) and every break-in. Closing the
 * session is not counted. With a window, only exchanges sent within it.
 */
export function exchanges(transcript, window) {
  return transcript.filter((entry) => {
    if (entry.direction !== 'send' || !['command', 'resume', 'break-in'].includes(entry.event)) return false;
    if (!window) return true;
    const at = Date.parse(entry.ts);
    return at >= window.startMs && at <= window.endMs;
  });
}

/** Bytes the debugger printed within a window (outputs of commands and stops, framing excluded). */
export function receivedBytes(transcript, window) {
  let bytes = 0;
  for (const entry of transcript) {
    if (entry.direction !== 'receive' || typeof entry.output !== 'string') continue;
    const at = Date.parse(entry.ts);
    if (at >= window.startMs && at <= window.endMs) bytes += Buffer.byteLength(entry.output);
  }
  return bytes;
}

/** Exchanges by command word (`g`, `kb`, `gu`, `r`, …), most frequent first. */
export function countByCommand(sent) {
  const counts = {};
  for (const entry of sent) {
    const word = entry.event === 'break-in' ? '<break-in>' : String(entry.command ?? '').trim().split(/\s+/)[0];
    counts[word] = (counts[word] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(counts).sort((a, b) => b[1] - a[1]));
}
