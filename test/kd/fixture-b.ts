// Fixture loading for the kd parser tests: the copies in test/fixtures/kd, header removed.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { prepareTranscript, stripTranscriptHeader } from '../../src/kd/auto.js';

const FIXTURES = new URL('../fixtures/kd/', import.meta.url);

/** A fixture's kd text (the `# …` header up to `# ---` removed; quoting left as published). */
export function fixture(name: string): string {
  return stripTranscriptHeader(readFileSync(new URL(name, FIXTURES), 'utf8'));
}

/** A fixture as `leakhunt parse` reads it: header removed and a shared quoting prefix undone. */
export function preparedFixture(name: string): string {
  return prepareTranscript(readFileSync(new URL(name, FIXTURES), 'utf8'));
}

/** Names of the fixtures whose file name starts with one of the prefixes. */
export function fixtureNames(...prefixes: string[]): string[] {
  return readdirSync(FIXTURES)
    .filter((name) => prefixes.some((prefix) => name.startsWith(prefix)))
    .sort();
}

/** The fixture folder as a file path (for spawning the CLI). */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(name, FIXTURES));
}

/** The lines from the prompt that ran `command` up to (not including) the next prompt. */
export function commandOutput(text: string, command: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => /kd>/.test(line) && line.includes(command));
  const next = lines.findIndex((line, index) => index > start && /^\s*(\d+: )?kd>/.test(line));
  return lines.slice(start, next < 0 ? undefined : next).join('\n');
}
