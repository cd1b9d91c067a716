// Shared by the report tests: fixture paths and a fresh copy of a run directory.
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Path of a file under test/fixtures. */
export const fixture = (relative: string): string => fileURLToPath(new URL(`../fixtures/${relative}`, import.meta.url));

/** The tag files the tests use (written by the project; env cleared so no host file leaks in). */
export const tagOptions = { pooltag: fixture('pooltag/pooltag.txt'), localtags: [fixture('pooltag/localtag.txt')], env: {} };

/** A temporary copy of a fixture run directory, so rendering writes nowhere in the repo. */
export function copyRun(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'leakhunt-report-'));
  cpSync(fixture(`report/${name}`), dir, { recursive: true });
  return dir;
}
