/**
 * What follows `sim:` in a target spec: `[<scenario.yaml>[@<profile id>] | <profile id>][,machine=<folder>]`.
 * `scenario.yaml@win7-sp1-x64` runs the scenario's drivers on another profile than the one the
 * file names, so one driver model can be hunted on every Windows version.
 * Without `machine=` every run boots a fresh machine whose disk (registry) and memory live in
 * the run directory; with it they live in the folder and the machine persists across runs, so
 * a user can rehearse what spans several runs on a lab machine (enable tagging, then hunt;
 * resume; restore after a crash).
 */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { isMap, parseDocument } from 'yaml';
import { errInvalidScenario } from '../core/errors.js';
import type { PlaybookError } from '../core/errors.js';
import { codeFrame, indexSource } from '../core/locate.js';
import { findProfile, listProfiles } from './profiles.js';
import { loadScenario, isScenarioError } from './scenario.js';

/** A parsed `sim:` spec; paths are absolute. */
export interface SimTarget {
  scenario?: string;
  profile?: string;
  /** The folder that keeps the machine's registry and memory between runs. */
  machine?: string;
}

/** Is this the name of a scenario file rather than a profile id? */
function isScenarioFile(text: string): boolean {
  return /\.ya?ml$/i.test(text) || /[\\/]/.test(text);
}

/** Split what follows `sim:`; `machine=` is the only option. Throws a usage message on anything else. */
export function parseSimTarget(rest: string, cwd: string = process.cwd()): SimTarget {
  const [selector = '', ...options] = rest.split(',').map((part) => part.trim());
  const target: SimTarget = {};
  const at = selector.lastIndexOf('@');
  const file = at > 0 ? selector.slice(0, at) : selector;
  if (at > 0) {
    const profile = selector.slice(at + 1);
    if (!findProfile(profile)) throw new Error(`Unknown profile "${profile}" after @; the profiles are ${listProfiles().map((entry) => entry.id).join(', ')}`);
    target.profile = profile;
  }
  if (file !== '') {
    if (isScenarioFile(file) || existsSync(resolve(cwd, file))) target.scenario = resolve(cwd, file);
    else if (at > 0) throw new Error(`"${file}@${target.profile}": only a scenario file takes @<profile>`);
    else target.profile = file;
  }
  for (const option of options) {
    const match = /^machine=(.+)$/.exec(option);
    if (!match) throw new Error(`Unknown sim: option "${option}"; the only one is machine=<folder>`);
    target.machine = resolve(cwd, match[1]!);
  }
  return target;
}

/**
 * Every problem of the scenario file a `sim:` spec names, as positioned errors with code frames
 * (empty when it names none or the file is valid): checked before a run starts, like the playbook.
 */
export function simScenarioErrors(target: SimTarget): PlaybookError[] {
  if (target.scenario === undefined) return [];
  try {
    loadScenario(target.scenario);
    return [];
  } catch (error) {
    if (!isScenarioError(error)) throw error;
    let text: string | undefined;
    try {
      text = readFileSync(target.scenario, 'utf8');
    } catch {
      text = undefined;
    }
    // Positions name the file as the user would type it, like a playbook's.
    const shown = relative(process.cwd(), target.scenario);
    const file = shown.startsWith('..') || isAbsolute(shown) ? target.scenario : shown;
    return error.problems.map((problem) => {
      const location = { file, line: problem.line, column: problem.column };
      const frame = text === undefined || problem.code === 'SCENARIO_FILE_UNREADABLE' ? undefined : codeFrame(indexSource(file, text), location);
      return errInvalidScenario(problem.message, problem.code, { location, ...(frame !== undefined && { frame }) });
    });
  }
}

/**
 * Is this YAML text a scenario rather than a playbook? A scenario's top level has `profile:` and
 * no `steps:` (or its editor comment names the scenario schema).
 */
export function isScenarioText(text: string): boolean {
  if (/^#\s*yaml-language-server:\s*\$schema=\S*sim-scenario\.schema\.json/m.test(text)) return true;
  const contents = parseDocument(text).contents;
  return isMap(contents) && contents.has('profile') && !contents.has('steps');
}
