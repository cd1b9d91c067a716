/**
 * `leakhunt parse <kind> [file|-]`: run one kd output parser on a file or standard input and
 * print its JSON; `leakhunt parse auto <log>` splits a saved kd log into commands first.
 */
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { prepareTranscript } from '../../kd/auto.js';
import { KdParseError } from '../../kd/common.js';
import { getParser, KD_PARSERS, listKinds } from '../../kd/index.js';
import { scanKdLog } from '../../kd/log.js';
import { exitCodes } from '../output.js';

// Read the whole of standard input as UTF-8.
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}

// Write pieces to standard output, waiting whenever the pipe is full; a line break ends the output.
async function writeJson(pieces: Iterable<string>): Promise<void> {
  let batch = '';
  const flush = async (): Promise<void> => {
    if (!process.stdout.write(batch)) await once(process.stdout, 'drain');
    batch = '';
  };
  for (const piece of pieces) {
    batch += piece;
    if (batch.length >= 1 << 16) await flush();
  }
  batch += '\n';
  await flush();
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
      let text: string;
      try {
        text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
      } catch (error) {
        const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
        fail('FILE_UNREADABLE', `cannot read "${file}": ${reason}`, exitCodes.invalid);
        return;
      }
      const source = file === '-' ? '<stdin>' : file;
      try {
        if (kind === 'auto') {
          // A log is printed entry by entry, so a large one never exists as one JSON string.
          await writeJson(scanKdLog(prepareTranscript(text)).json(options.compact ? undefined : 2));
          process.exitCode = exitCodes.ok;
          return;
        }
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
