/**
 * Child processes for benchmarks: a timed run of any program, and a worker that runs one task of
 * a bench module in a fresh Node process so its memory and CPU are its own.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { nowMs } from './stats.mjs';

const workerFile = fileURLToPath(new URL('./worker.mjs', import.meta.url));

/** Run a program to its end; resolves with its wall time, exit code and output (never rejects on a non-zero exit). */
export function runProcess(file, args, options = {}) {
  return new Promise((resolve, reject) => {
    const started = nowMs();
    const child = spawn(file, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    const timer = options.timeoutMs
      ? setTimeout(() => {
          child.kill('SIGTERM');
        }, options.timeoutMs)
      : undefined;
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ wallMs: nowMs() - started, code, signal, stdout, stderr });
    });
  });
}

/**
 * Run `tasks[task](input)` of a bench module in a fresh Node process and resolve with what it
 * returned (JSON); `nodeArgs` go before the worker (e.g. `--max-old-space-size`).
 */
export async function runWorker(moduleUrl, task, input = {}, nodeArgs = []) {
  const result = await runProcess(process.execPath, [...nodeArgs, workerFile, moduleUrl, task, JSON.stringify(input)]);
  const last = result.stdout.trim().split('\n').pop() ?? '';
  if (result.code !== 0 || !last.startsWith('{')) {
    throw new Error(`worker ${task} of ${moduleUrl} failed (exit ${result.code ?? result.signal}): ${result.stderr.trim().slice(-2000)}`);
  }
  return JSON.parse(last);
}
