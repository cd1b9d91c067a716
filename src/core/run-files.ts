/**
 * The run directory: `runs/<timestamp>-<playbook>/` by default, holding events.jsonl, plan.json
 * and what plugins add. Lines are appended synchronously so a crash loses nothing.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, normalize, resolve } from 'node:path';
import type { RunFiles } from './types.js';
import type { EventBus, RunEvent } from './events.js';

// A filesystem-safe slug of a playbook name.
function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48) || 'playbook';
}

// Local time as 20261126-161502 for sortable folder names.
function stamp(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}-${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
}

/** The default run directory for a playbook: runs/<timestamp>-<playbook>/ under `base`. */
export function defaultRunDir(playbookName: string, base = 'runs', date = new Date()): string {
  return resolve(base, `${stamp(date)}-${slug(playbookName)}`);
}

// Refuse names that would leave the run directory.
function safeName(file: string): string {
  const normalized = normalize(file);
  if (isAbsolute(file) || normalized.startsWith('..') || normalized === '.') throw new Error(`run file name "${file}" must stay inside the run directory`);
  return normalized;
}

/** Create (if needed) a run directory and the RunFiles plugins write through. */
export function createRunFiles(dir: string): RunFiles {
  mkdirSync(dir, { recursive: true });
  return {
    dir,
    appendJsonLine(file, value) {
      appendFileSync(join(dir, safeName(file)), `${JSON.stringify(value)}\n`);
    },
    writeJson(file, value) {
      writeFileSync(join(dir, safeName(file)), `${JSON.stringify(value, null, 2)}\n`);
    },
  };
}

/** RunFiles that keep everything in memory (check mode without --out, tests). */
export function createMemoryRunFiles(): RunFiles & { lines: Map<string, unknown[]>; json: Map<string, unknown> } {
  const lines = new Map<string, unknown[]>();
  const json = new Map<string, unknown>();
  return {
    dir: '',
    lines,
    json,
    appendJsonLine(file, value) {
      const list = lines.get(safeName(file)) ?? [];
      list.push(JSON.parse(JSON.stringify(value)));
      lines.set(safeName(file), list);
    },
    writeJson(file, value) {
      json.set(safeName(file), JSON.parse(JSON.stringify(value)));
    },
  };
}

/** Write every event of a bus to events.jsonl as it happens. */
export function recordEvents(bus: EventBus, files: RunFiles): void {
  bus.addSink((event: RunEvent) => files.appendJsonLine('events.jsonl', event));
}
