/**
 * `leakhunt parse <kind> [file|-]`: run one kd output parser on a file or standard input and
 * print its JSON; `leakhunt parse auto <log>` splits a saved kd log into commands first.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { prepareTranscript } from '../../kd/auto.js';
import { KdParseError } from '../../kd/common.js';
import { getParser, KD_PARSERS, listKinds } from '../../kd/index.js';
import { autoResultJson, readKdLogFile } from '../../kd/log.js';
import type { AutoEntry } from '../../kd/auto.js';
import { exitCodes } from '../output.js';

// Read the whole of standard input as UTF-8.
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

// Write to standard output; a promise to await when the pipe is full.
function write(text: string): Promise<unknown> | undefined {
  return process.stdout.write(text) ? undefined : once(process.stdout, 'drain');
}

/**
 * Print `parse auto`'s JSON for a log file as a stream: its head (`complete`, `unparsed`) comes
 * first in the JSON but is known only at the end, so a first pass reads the summary and a second
 * prints the entries one by one as they are read. Memory stays bounded by the largest output.
 */
async function printAuto(path: string, indent: number | undefined): Promise<void> {
  const json = autoResultJson(await readKdLogFile(path, () => {}, { keepUnparsed: true }), indent);
  let batch = json.open;
  let full: Promise<unknown> | undefined;
  let first = true;
  await readKdLogFile(
    path,
    (entry) => {
      batch += json.entry(entry, first);
      first = false;
      // While the pipe is full, entries gather in the batch until the reader waits for it.
      if (batch.length >= 1 << 16 && full === undefined) {
        full = write(batch);
        batch = '';
      }
    },
    // Reading waits while the pipe is full.
    { drain: () => full?.finally(() => (full = undefined)) },
  );
  await write(`${batch}${json.close(first)}\n`);
}

// Standard input copied to a file of its own, so that it can be read twice as a log file is.
async function stdinToFile(): Promise<{ path: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'leakhunt-parse-'));
  const path = join(dir, 'stdin.log');
  await pipeline(process.stdin, createWriteStream(path));
  return { path, remove: () => rm(dir, { recursive: true, force: true }) };
}

// Print a user error (no stack) and set the exit code.
function fail(code: string, message: string, exitCode: number): void {
  process.stderr.write(`error ${code}: ${message}\n`);
  process.exitCode = exitCode;
}

/** Add the parse command. */
export function register(program: Command): void {
  const kinds = KD_PARSERS.map((info) => `  ${info.kind.padEnd(10)} ${info.description}`).join('\n');
  program
    .command('parse')
    .description('Parse saved kd output (a file, or - for standard input) and print it as JSON')
    .argument('<kind>', `kind of output: ${listKinds().join(', ')}`)
    .argument('[file]', 'file holding the output; - or nothing reads standard input', '-')
    .option('--command <command>', 'for break: the go command that produced the output (g, t, p, .breakin)')
    .option('--compact', 'print the JSON on one line')
    .addHelpText(
      'after',
      `
Kinds:
${kinds}

Examples:
  $ leakhunt parse vertarget vertarget.txt
  $ leakhunt parse poolused - < poolused.txt
  $ leakhunt parse auto session.log          split a kd log at its prompts, parse every command

A "# key: value ... # ---" header and a quoting prefix shared by every line ("// ", "> ")
are removed first. Exit codes: 0 parsed, 1 the text is not that kind of output, 2 usage.`,
    )
    .action(async (kind: string, file: string, options: { command?: string; compact?: boolean }) => {
      const parser = getParser(kind);
      if (!parser) {
        fail('KD_UNKNOWN_KIND', `unknown kind "${kind}"; expected one of: ${listKinds().join(', ')}`, exitCodes.invalid);
        return;
      }
      const source = file === '-' ? '<stdin>' : file;
      const unreadable = (error: unknown): void => {
        const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
        fail('FILE_UNREADABLE', `cannot read "${file}": ${reason}`, exitCodes.invalid);
      };
      if (kind === 'auto') {
        // A log is read as a stream and printed entry by entry: its size is not held in memory.
        let input: { path: string; remove: () => Promise<void> };
        try {
          input = file === '-' ? await stdinToFile() : { path: file, remove: async () => {} };
          await access(input.path);
        } catch (error) {
          unreadable(error);
          return;
        }
        try {
          await printAuto(input.path, options.compact ? undefined : 2);
          process.exitCode = exitCodes.ok;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== undefined && !(error instanceof KdParseError)) unreadable(error);
          else if (error instanceof KdParseError) fail(error.code, `${source}: not auto output: ${error.message}`, exitCodes.runFailed);
          else throw error;
        } finally {
          await input.remove();
        }
        return;
      }
      let text: string;
      try {
        text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
      } catch (error) {
        unreadable(error);
        return;
      }
      try {
        const result = parser.parse(prepareTranscript(text), options.command !== undefined ? { command: options.command } : undefined);
        process.stdout.write(`${JSON.stringify(result, null, options.compact ? undefined : 2)}\n`);
        process.exitCode = exitCodes.ok;
      } catch (error) {
        if (!(error instanceof KdParseError)) throw error;
        const where = error.line !== undefined ? `${source}:${error.line}` : source;
        fail(error.code, `${where}: not ${kind} output: ${error.message}`, exitCodes.runFailed);
      }
    });
}
