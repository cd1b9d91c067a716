/**
 * The lab inventory (`lab.yaml`, schemas/lab-inventory.schema.json): the targets one playbook
 * runs on, with their specs, inputs, labels and CI runner labels. Read with the engine's YAML
 * and schema machinery (src/core/yaml-file.ts): every problem at once, with positions.
 * A target's settings are the defaults, then its groups in order, then its own: inputs and
 * labels merge key by key, runner and profile are replaced.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { errInvalidInventory, type PlaybookError } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import type { JsonSchema } from '../core/types.js';
import { readYamlFile } from '../core/yaml-file.js';
import { redactSecrets } from '../debuggers/redact.js';

/** A label or input value as the inventory gives it. */
export type Scalar = string | number | boolean;

/** One target of the lab, its settings merged. */
export interface LabTarget {
  name: string;
  /** The target spec to connect with (it may carry a key=; show `shownSpec`). */
  spec: string;
  /** The spec with every key= redacted, for logs, reports and matrices. */
  shownSpec: string;
  inputs: Record<string, Scalar>;
  labels: Record<string, Scalar>;
  /** CI runner labels (`runs-on`); empty when the inventory gives none. */
  runner: string[];
  groups: string[];
}

/** A loaded inventory. */
export interface Inventory {
  /** The file, absolute. */
  file: string;
  description?: string;
  targets: LabTarget[];
}

/** The inventory when valid, and every problem found. */
export interface InventoryResult {
  inventory?: Inventory;
  errors: PlaybookError[];
}

interface RawSettings {
  inputs?: Record<string, Scalar>;
  labels?: Record<string, Scalar>;
  runner?: string[];
  profile?: string;
}
interface RawTarget extends RawSettings {
  name: string;
  target: string;
  groups?: string[];
}
interface RawInventory {
  description?: string;
  defaults?: RawSettings;
  groups?: Record<string, RawSettings>;
  targets: RawTarget[];
}

let schema: JsonSchema | undefined;
/** The inventory schema shipped in schemas/ (read once). */
export function inventorySchema(): JsonSchema {
  schema ??= JSON.parse(readFileSync(fileURLToPath(new URL(`${import.meta.url.endsWith('.ts') ? '../../' : '../../../'}schemas/lab-inventory.schema.json`, import.meta.url)), 'utf8')) as JsonSchema;
  return schema;
}

// The path as the user would type it: relative to the working directory when inside it.
function shownPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}

/**
 * A sim: spec with its scenario made absolute (relative to the inventory) and `profile` added as
 * `@profile`; other specs unchanged.
 */
function resolveSpec(spec: string, base: string, profile: string | undefined): string {
  const match = /^sim:(.*)$/s.exec(spec.trim());
  if (!match) return spec;
  const [selector = '', ...options] = match[1]!.split(',');
  let [what = '', at] = selector.split('@');
  if (/\.ya?ml$/i.test(what) || /[\\/]/.test(what)) what = resolve(base, what);
  at = profile ?? at;
  return `sim:${what}${at ? `@${at}` : ''}${options.length ? `,${options.join(',')}` : ''}`;
}

/** Read and check an inventory file; every problem comes back with its position. */
export function loadInventory(path: string): InventoryResult {
  const file = resolve(path);
  const shown = shownPath(file);
  if (!existsSync(file)) return { errors: [errInvalidInventory(`Cannot read the inventory "${shown}" (no such file)`, { hint: 'give the path of a lab.yaml; the README\'s lab section shows one' })] };
  const checked = readYamlFile(shown, readFileSync(file, 'utf8'), inventorySchema(), 'the inventory', errInvalidInventory);
  if (checked.errors.length > 0) return { errors: checked.errors };
  const raw = checked.raw as RawInventory;
  const errors: PlaybookError[] = [];
  const groups = raw.groups ?? {};
  const seen = new Map<string, number>();
  const targets: LabTarget[] = [];
  raw.targets.forEach((entry, index) => {
    const first = seen.get(entry.name);
    if (first !== undefined) errors.push(errInvalidInventory(`Target "${entry.name}" is named twice (first as targets[${first}])`, { ...checked.locate(['targets', index, 'name']), hint: 'each target needs its own name: it names its run directory' }));
    else seen.set(entry.name, index);
    const layers: RawSettings[] = [raw.defaults ?? {}];
    (entry.groups ?? []).forEach((group, at) => {
      const settings = groups[group];
      if (settings) layers.push(settings);
      else errors.push(errInvalidInventory(`Target "${entry.name}" names the group "${group}", which the inventory does not define`, { ...checked.locate(['targets', index, 'groups', at]), hint: didYouMean(group, Object.keys(groups)) ?? 'define it under groups:' }));
    });
    layers.push(entry);
    const merged = layers.reduce<Required<Omit<RawSettings, 'profile'>> & { profile?: string }>(
      (acc, layer) => ({
        inputs: { ...acc.inputs, ...layer.inputs },
        labels: { ...acc.labels, ...layer.labels },
        runner: layer.runner ?? acc.runner,
        ...((layer.profile ?? acc.profile) !== undefined && { profile: layer.profile ?? acc.profile }),
      }),
      { inputs: {}, labels: {}, runner: [] },
    );
    if (merged.profile !== undefined && !/^sim(:|$)/.test(entry.target.trim())) {
      errors.push(errInvalidInventory(`Target "${entry.name}" has a profile, but only sim: targets take one`, { ...checked.locate(['targets', index, 'target']), hint: 'a real target is the Windows version it runs; remove profile: or use a sim: target' }));
    }
    const spec = resolveSpec(entry.target, dirname(file), merged.profile);
    targets.push({ name: entry.name, spec, shownSpec: redactSecrets(spec), inputs: merged.inputs, labels: merged.labels, runner: merged.runner, groups: entry.groups ?? [] });
  });
  if (errors.length > 0) return { errors };
  return { inventory: { file, ...(raw.description !== undefined && { description: raw.description }), targets }, errors: [] };
}

/** `label=value` selectors of `--limit`, all of which a target must match (also `name=`). */
export function limitTargets(targets: readonly LabTarget[], limits: readonly string[]): { targets: LabTarget[]; errors: PlaybookError[] } {
  const errors: PlaybookError[] = [];
  const tests: [string, string[]][] = [];
  for (const limit of limits) {
    const match = /^([^=]+)=(.*)$/.exec(limit);
    if (!match) errors.push(errInvalidInventory(`Expected --limit label=value, got "${limit}"`, { hint: 'e.g. --limit arch=x64, --limit owner=alice, --limit name=w10-1809 (comma for several values: version=7,8.1)' }));
    else tests.push([match[1]!.trim(), match[2]!.split(',').map((value) => value.trim())]);
  }
  const value = (target: LabTarget, key: string): string | undefined => (key === 'name' ? target.name : target.labels[key] === undefined ? undefined : String(target.labels[key]));
  return { targets: targets.filter((target) => tests.every(([key, values]) => values.includes(value(target, key) ?? '\u0000'))), errors };
}

/** Is this YAML text a lab inventory (a top-level `targets:` list) rather than a scenario or playbook? */
export function isInventoryText(text: string): boolean {
  return /^targets:/m.test(text) && !/^steps:/m.test(text);
}
