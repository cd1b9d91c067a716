/**
 * Simulator scenario files (a public format, schemas/sim-scenario.schema.json): load, validate
 * with every problem at file:line:col in one pass, and normalise into a `Scenario`.
 *
 * @see docs/scenarios.md
 */
import { readFileSync } from 'node:fs';
import { LineCounter, isMap, isPair, isScalar, parseDocument, visit } from 'yaml';
import type { Document, Node } from 'yaml';
import { createSchemaCompiler } from '../core/ajv.js';
import type { ValidateFunction } from '../core/ajv.js';
import { durationForms, parseDuration as parseDurationText } from '../core/duration.js';
import { deepestNodeOffset, deepTextOffset, isStackOverflow, tooDeepMessage } from '../core/depth.js';
import { pointerToPath } from '../core/locate.js';
import { mapSchemaErrors } from '../core/schema-errors.js';
import { decodeUtf8, invalidUtf8Message } from '../core/utf8.js';
import { poolTagProblem } from '../kd/common.js';
import { findProfile, listProfiles } from './profiles.js';
import type { SimProfile } from './profiles.js';
import { expandOsRange, versionMatches } from '../core/versions.js';
import type { PoolKind } from './kernel-api.js';
import { layoutProblem } from './kernel/plan.js';
import scenarioSchemaJson from './scenario-schema.js';

/** An inclusive numeric range; a single value is `{ min: v, max: v }`. */
export interface NumberRange {
  min: number;
  max: number;
}

/** A caller frame named in a scenario: `module!function[+0xOFFSET]`. */
export interface ScenarioFrame {
  module: string;
  function: string;
  /** Return-address offset inside the function; chosen by the kernel when omitted. */
  offset?: number;
}

/** Who frees a site's blocks: a function of its own driver, of another driver or of nt. */
export interface ScenarioFree {
  /** The module whose code frees, when not the site's own (`nt`, or the driver a block is handed to). */
  module?: string;
  function: string;
  /** Frames under the free function, innermost first. */
  callers: ScenarioFrame[];
  /** The free routine it calls: ExFreePoolWithTag with the tag as an immediate (default), or ExFreePool. */
  call?: 'ExFreePool' | 'ExFreePoolWithTag';
  /** Return-address offset of the free call inside `function`; frees at one offset share one call instruction. */
  offset?: number;
}

/** Allocations that come in batches: a periodic timer, or batches at random times (device arrivals). */
export interface ScenarioBurst {
  everyMs: number;
  batch: NumberRange;
  /** fixed: batches exactly `everyMs` apart; poisson: `everyMs` apart on average. */
  timing: 'fixed' | 'poisson';
  /** The batch's allocations are spread evenly over this time (0: one instant). */
  spreadMs: number;
}

/**
 * A site whose tag is an argument of its function (a wrapper or helper), loaded by a calling
 * frame: the immediate is in that caller's code, before its call.
 */
export interface ScenarioTagArgument {
  /** Index in the site's `callers` of the frame that loads the tag. */
  caller: number;
  /** The argument's position in that call, from 1. */
  position: number;
  /** `immediate`: a constant in the caller's code; `memory`: read from a structure (no code byte holds it). */
  from: 'immediate' | 'memory';
}

/** One allocation call site of a scenario driver. */
export interface ScenarioSite {
  id: string;
  /** Name of the module the site lives in. */
  module: string;
  function: string;
  /** Return-address offset of the allocation call inside `function`; sites at one offset share one call instruction. */
  offset?: number;
  /** Frames under the site, innermost first. */
  callers: ScenarioFrame[];
  /** Four characters, padded with spaces. */
  tag: string;
  /** The tag is the function's argument, loaded by a caller; absent: an immediate at the function's own allocator call. */
  tagArgument?: ScenarioTagArgument;
  pool: PoolKind;
  size: NumberRange;
  /** Allocations per second of target time (with a burst arrival, its mean: batch / every). */
  rate: number;
  /** This site's arrival, when it overrides the scenario's. */
  arrival?: 'poisson' | 'fixed' | ScenarioBurst;
  lifetimeMs: NumberRange;
  /** Fraction of allocations never freed, in [0, 1]. */
  leak: number;
  /** The Windows versions the site leaks on (an `os` range: `>=10.0.17763`, `win10-1809+`); elsewhere it frees all it allocates. */
  leakOn?: string;
  /** The free call (by default the driver's own, ExFreePoolWithTag with the tag as an immediate); absent: ExFreePool from `function`. */
  free?: ScenarioFree;
}

/** A scenario driver module with its allocation sites. */
export interface ScenarioModule {
  name: string;
  image: string;
  sites: ScenarioSite[];
}

/** A background tag: a steady population with churn and no leak. */
export interface ScenarioBackground {
  tag: string;
  pool: PoolKind;
  bytes: number;
  allocs: number;
  /** Blocks freed and replaced per second. */
  rate: number;
  callers: ScenarioFrame[];
}

/** A validated, normalised scenario (durations in ms, tags padded, ranges as min/max). */
export interface Scenario {
  /** File the scenario came from, for messages; `<default>` for built-in ones. */
  file: string;
  profile: string;
  description?: string;
  seed: number;
  registry: { globalFlag: number };
  preloadMs: number;
  arrival: 'poisson' | 'fixed';
  modules: ScenarioModule[];
  background: ScenarioBackground[];
}

/** Stable codes of scenario problems (sorted). */
export type ScenarioErrorCode =
  | 'SCENARIO_BAD_DURATION'
  | 'SCENARIO_BAD_OFFSET'
  | 'SCENARIO_BAD_RANGE'
  | 'SCENARIO_BAD_TAG'
  | 'SCENARIO_DUPLICATE_MODULE'
  | 'SCENARIO_DUPLICATE_SITE'
  | 'SCENARIO_FILE_UNREADABLE'
  | 'SCENARIO_RESERVED_MODULE'
  | 'SCENARIO_SCHEMA'
  | 'SCENARIO_SHARED_CALL_SITE'
  | 'SCENARIO_TAG_ARGUMENT'
  | 'SCENARIO_UNKNOWN_PROFILE'
  | 'SCENARIO_YAML_SYNTAX';

/** One problem in a scenario file, with its position. */
export interface ScenarioProblem {
  code: ScenarioErrorCode;
  message: string;
  file: string;
  line: number;
  column: number;
  /** Path of the offending value inside the document, e.g. `['modules', 0, 'sites', 1, 'tag']`. */
  path: (string | number)[];
}

const scenarioErrorBrand = Symbol.for('leakhunt.ScenarioError');

/** Every problem of one scenario file; the message lists them all as `file:line:col CODE: text`. */
export class ScenarioError extends Error {
  readonly code = 'INVALID_SCENARIO';
  readonly problems: readonly ScenarioProblem[];
  readonly [scenarioErrorBrand] = true;
  constructor(problems: readonly ScenarioProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.problems = problems;
  }
}
ScenarioError.prototype.name = 'ScenarioError';

/** Is this a ScenarioError (also across realms)? */
export function isScenarioError(value: unknown): value is ScenarioError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[scenarioErrorBrand] === true;
}

/** `file:line:col CODE: message`. */
export function formatProblem(problem: ScenarioProblem): string {
  return `${problem.file}:${problem.line}:${problem.column} ${problem.code}: ${problem.message}`;
}

let compiledSchema: ValidateFunction | undefined;

// The public schema's validator, once (strict, every error): generated at build time, so neither a
// simulator process nor the controller of a lab compiles it at start-up.
function scenarioValidator(): ValidateFunction {
  compiledSchema ??= createSchemaCompiler().compile(scenarioSchemaJson);
  return compiledSchema;
}

/** The JSON Schema of scenario files, as published in schemas/sim-scenario.schema.json. */
export const scenarioSchema: Readonly<Record<string, unknown>> = scenarioSchemaJson;

/** Validate a scenario's text: the scenario when valid, and every problem found in one pass. */
export function validateScenario(text: string, file: string): { scenario?: Scenario; problems: ScenarioProblem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number, path: (string | number)[]): Pick<ScenarioProblem, 'file' | 'line' | 'column' | 'path'> => {
    const { line, col } = lineCounter.linePos(Math.max(0, Math.min(offset, text.length)));
    return { file, line, column: col, path };
  };
  const problems: ScenarioProblem[] = [];
  // Nested past any real scenario: refused at a stable place before the parser's (or a walk's) stack runs out.
  const overflow = doc.errors.find((error) => isStackOverflow(error.message));
  const tooDeep = overflow ? (deepestNodeOffset(doc) ?? deepTextOffset(text) ?? overflow.pos[0]) : doc.errors.length === 0 ? deepestNodeOffset(doc) : undefined;
  if (tooDeep !== undefined) return { problems: [{ code: 'SCENARIO_SCHEMA', message: tooDeepMessage(), ...at(tooDeep, []) }] };
  for (const error of doc.errors) {
    problems.push({ code: 'SCENARIO_YAML_SYNTAX', message: firstLine(error.message), ...at(error.pos[0], []) });
  }
  if (problems.length > 0) return { problems };

  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // yaml throws for an alias bomb (billion laughs) or an alias without its anchor; report it at the first alias.
    let offset = 0;
    visit(doc, {
      Alias(_key, node) {
        offset = node.range?.[0] ?? 0;
        return visit.BREAK;
      },
    });
    problems.push({ code: 'SCENARIO_YAML_SYNTAX', message: `Cannot expand aliases: ${(error as Error).message}`, ...at(offset, []) });
    return { problems };
  }
  const place = (path: (string | number)[], key = false) => at(nodeOffset(doc, path, key), path);
  const validate = scenarioValidator();
  const schemaValid = validate(raw);
  const schemaPaths: string[] = [];
  if (!schemaValid) {
    const located = (path: readonly (string | number)[], which?: 'value' | 'key') => {
      const where = place(path.map((part) => toPathSegment(String(part))), which === 'key');
      return { location: { file, line: where.line, column: where.column } };
    };
    problems.push(...mapSchemaErrors(validate.errors ?? [], located, [], (message, _details, unknownKey, error) => {
      const path = [...pointerToPath(error.instancePath), ...(unknownKey === undefined ? [] : [unknownKey])].map(toPathSegment);
      // A missing key is a problem of that key: checks of its siblings still run.
      const missing = error.keyword === 'required' ? String((error.params as { missingProperty: string }).missingProperty) : undefined;
      schemaPaths.push([...path, ...(missing === undefined ? [] : [missing])].join('/'));
      // A value that is no duration keeps the duration code, whichever check refused it.
      const code: ScenarioErrorCode = /^#\/\$defs\/duration(OrRange)?\//.test(error.schemaPath) ? 'SCENARIO_BAD_DURATION' : 'SCENARIO_SCHEMA';
      return { code, message, ...place(path, unknownKey !== undefined) };
    }, 'the scenario'));
  }
  // The checks the schema cannot express (unknown profile, duplicate ids, min > max) run in the
  // same pass, so a user sees every problem at once; a value the schema already refused is not
  // reported twice, and a shape the schema refused ends the checks, not the validation.
  const inSchemaProblem = (path: (string | number)[]) => schemaPaths.some((bad) => path.join('/') === bad || path.join('/').startsWith(`${bad}/`));
  let scenario: Scenario | undefined;
  try {
    scenario = normalizeScenario(raw as RawScenario, file, (code, message, path, key) => {
      if (!inSchemaProblem(path)) problems.push({ code, message, ...place(path, key) });
    });
  } catch (error) {
    if (schemaValid) throw error;
  }
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  return problems.length > 0 || !scenario ? { problems } : { scenario, problems };
}

/** Parse and validate a scenario's text; throws a ScenarioError listing every problem. */
export function parseScenario(text: string, file: string): Scenario {
  const { scenario, problems } = validateScenario(text, file);
  if (!scenario) throw new ScenarioError(problems);
  return scenario;
}

/** Read, parse and validate a scenario file; throws a ScenarioError listing every problem. */
export function loadScenario(file: string): Scenario {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code ?? String(cause);
    throw new ScenarioError([
      { code: 'SCENARIO_FILE_UNREADABLE', message: `Cannot read scenario file "${file}" (${reason})`, file, line: 1, column: 1, path: [] },
    ]);
  }
  const { text, invalid } = decodeUtf8(bytes);
  if (invalid) {
    // A byte that is not UTF-8 would otherwise become U+FFFD without a word.
    const before = text.slice(0, invalid.offset);
    const line = before.split('\n').length;
    const column = invalid.offset - (before.lastIndexOf('\n') + 1) + 1;
    throw new ScenarioError([{ code: 'SCENARIO_YAML_SYNTAX', message: invalidUtf8Message(invalid.byte), file, line, column, path: [] }]);
  }
  return parseScenario(text, file);
}

// The shape the schema guarantees before normalisation.
interface RawScenario {
  profile: string;
  description?: string;
  seed?: number;
  registry?: { globalFlag?: number };
  preload?: number | string;
  arrival?: 'poisson' | 'fixed';
  modules?: {
    name: string;
    image?: string;
    sites: {
      id: string;
      function: string;
      offset?: number;
      callers?: string[];
      tag: string;
      tagArgument?: { loadedBy?: string; position?: number; from?: 'immediate' | 'memory' };
      pool: PoolKind;
      size: number | [number, number];
      rate?: number;
      arrival?: 'poisson' | 'fixed' | { every: number | string; batch: number | [number, number]; timing?: 'fixed' | 'poisson'; spread?: number | string };
      lifetime: number | string | [number | string, number | string];
      leak?: number;
      leakOn?: string;
      free?: { function: string; callers?: string[]; call?: 'ExFreePool' | 'ExFreePoolWithTag'; offset?: number };
    }[];
  }[];
  background?: { tag: string; pool: PoolKind; bytes: number; allocs: number; rate?: number; callers?: string[] }[];
}

type Report = (code: ScenarioErrorCode, message: string, path: (string | number)[], key?: boolean) => void;

// Semantic checks and normalisation in one walk, reporting every problem.
function normalizeScenario(raw: RawScenario, file: string, report: Report): Scenario {
  if (!findProfile(raw.profile)) {
    const known = listProfiles().map((profile) => profile.id).join(', ');
    report('SCENARIO_UNKNOWN_PROFILE', `Expected a known profile (${known}), got "${raw.profile}"`, ['profile']);
  }
  const preloadMs = raw.preload === undefined ? 0 : parseDuration(raw.preload, ['preload'], report);
  const siteIds = new Map<string, number>();
  // Sites that say their tag is an argument (even when what they say about it is wrong).
  const argued = new Set<ScenarioSite>();
  const moduleNames = new Set<string>();
  const modules: ScenarioModule[] = (raw.modules ?? []).map((rawModule, moduleIndex) => {
    const modulePath = ['modules', moduleIndex];
    const lower = rawModule.name.toLowerCase();
    if (lower === 'nt' || lower === 'hal') {
      report('SCENARIO_RESERVED_MODULE', `Module name "${rawModule.name}" is the kernel's own; name the driver instead`, [...modulePath, 'name']);
    }
    if (moduleNames.has(lower)) {
      report('SCENARIO_DUPLICATE_MODULE', `Module "${rawModule.name}" is declared twice; put its sites in one entry`, [...modulePath, 'name']);
    }
    moduleNames.add(lower);
    const sites = rawModule.sites.map((rawSite, siteIndex): ScenarioSite => {
      const sitePath = [...modulePath, 'sites', siteIndex];
      if (siteIds.has(rawSite.id)) {
        report('SCENARIO_DUPLICATE_SITE', `Site id "${rawSite.id}" is already used; site ids are unique within the scenario`, [...sitePath, 'id']);
      }
      siteIds.set(rawSite.id, 1);
      const size = toRange(rawSite.size);
      if (size.min > size.max) report('SCENARIO_BAD_RANGE', `Expected size [min, max] with min <= max, got [${size.min}, ${size.max}]`, [...sitePath, 'size']);
      const lifetimeMs = Array.isArray(rawSite.lifetime)
        ? {
            min: parseDuration(rawSite.lifetime[0], [...sitePath, 'lifetime', 0], report),
            max: parseDuration(rawSite.lifetime[1], [...sitePath, 'lifetime', 1], report),
          }
        : toRange(parseDuration(rawSite.lifetime, [...sitePath, 'lifetime'], report));
      if (lifetimeMs.min > lifetimeMs.max) {
        report('SCENARIO_BAD_RANGE', `Expected lifetime [min, max] with min <= max, got ${JSON.stringify(rawSite.lifetime)}`, [...sitePath, 'lifetime']);
      }
      const site: ScenarioSite = {
        id: rawSite.id,
        module: rawModule.name,
        function: rawSite.function,
        callers: (rawSite.callers ?? []).map(parseFrame),
        tag: checkTag(rawSite.tag, [...sitePath, 'tag'], report),
        pool: rawSite.pool,
        size,
        rate: rawSite.rate ?? 0,
        lifetimeMs,
        leak: rawSite.leak ?? 0,
      };
      if (rawSite.leakOn !== undefined) {
        try {
          expandOsRange(rawSite.leakOn);
          site.leakOn = rawSite.leakOn;
        } catch (error) {
          report('SCENARIO_BAD_RANGE', `Expected leakOn to be a Windows version range: ${(error as Error).message}`, [...sitePath, 'leakOn']);
        }
      }
      normalizeArrival(rawSite, site, sitePath, report);
      if (rawSite.offset !== undefined) site.offset = rawSite.offset;
      if (rawSite.tagArgument) {
        argued.add(site);
        const tagArgument = normalizeTagArgument(rawSite.tagArgument, site, [...sitePath, 'tagArgument'], report);
        if (tagArgument) site.tagArgument = tagArgument;
      }
      if (rawSite.free) site.free = normalizeFree(rawSite.free, rawModule.name);
      return site;
    });
    return { name: rawModule.name, image: rawModule.image ?? `${rawModule.name}.sys`, sites };
  });
  const background = (raw.background ?? []).map((entry, index): ScenarioBackground => ({
    tag: checkTag(entry.tag, ['background', index, 'tag'], report),
    pool: entry.pool,
    bytes: entry.bytes,
    allocs: entry.allocs,
    rate: entry.rate ?? 0,
    callers: (entry.callers ?? []).map(parseFrame),
  }));
  (raw.background ?? []).forEach((entry, index) => {
    if (entry.allocs === 0 && entry.bytes > 0) {
      report('SCENARIO_BAD_RANGE', `Expected allocs > 0 when bytes is ${entry.bytes}`, ['background', index, 'allocs']);
    }
  });
  checkSharedCallSites(modules, argued, report);
  const scenario: Scenario = {
    file,
    profile: raw.profile,
    seed: raw.seed ?? 1,
    registry: { globalFlag: raw.registry?.globalFlag ?? 0 },
    preloadMs,
    arrival: raw.arrival ?? 'poisson',
    modules,
    background,
  };
  if (raw.description !== undefined) scenario.description = raw.description;
  const profile = findProfile(raw.profile);
  const layout = profile ? layoutProblem(scenario, profile) : undefined;
  if (layout) report('SCENARIO_BAD_OFFSET', layout.message, layout.path);
  return scenario;
}

// A site's own arrival: poisson or fixed at its rate, or a burst whose batch and period give the rate.
function normalizeArrival(raw: NonNullable<RawScenario['modules']>[number]['sites'][number], site: ScenarioSite, sitePath: (string | number)[], report: Report): void {
  const arrival = raw.arrival;
  if (arrival === undefined || typeof arrival === 'string') {
    if (raw.rate === undefined) report('SCENARIO_SCHEMA', `modules[${sitePath[1]}].sites[${sitePath[3]}] is missing the required key "rate" (or an arrival burst: { every, batch })`, sitePath);
    if (arrival !== undefined) site.arrival = arrival;
    return;
  }
  if (raw.rate !== undefined) {
    report('SCENARIO_SCHEMA', `Expected no "rate" beside an arrival burst, which says how often the site allocates (${JSON.stringify(arrival.batch)} every ${arrival.every}); remove one`, [...sitePath, 'rate'], true);
  }
  const everyMs = parseDuration(arrival.every, [...sitePath, 'arrival', 'every'], report);
  const spreadMs = arrival.spread === undefined ? 0 : parseDuration(arrival.spread, [...sitePath, 'arrival', 'spread'], report);
  const batch = toRange(arrival.batch);
  if (everyMs <= 0) report('SCENARIO_BAD_RANGE', `Expected arrival.every above 0, got ${JSON.stringify(arrival.every)}`, [...sitePath, 'arrival', 'every']);
  if (spreadMs > everyMs) report('SCENARIO_BAD_RANGE', `Expected arrival.spread at most arrival.every (${JSON.stringify(arrival.every)}), got ${JSON.stringify(arrival.spread)}`, [...sitePath, 'arrival', 'spread']);
  if (batch.min > batch.max) report('SCENARIO_BAD_RANGE', `Expected batch [min, max] with min <= max, got [${batch.min}, ${batch.max}]`, [...sitePath, 'arrival', 'batch']);
  site.arrival = { everyMs, batch, timing: arrival.timing ?? 'fixed', spreadMs };
  site.rate = everyMs > 0 ? ((batch.min + batch.max) / 2) * (1000 / everyMs) : 0;
}

// Which caller loads a site's tag argument: the frame `loadedBy` names (its offset may be left
// out), by default the first caller outside the site's module (the wrapper's client).
function normalizeTagArgument(raw: NonNullable<NonNullable<RawScenario['modules']>[number]['sites'][number]['tagArgument']>, site: ScenarioSite, path: (string | number)[], report: Report): ScenarioTagArgument | undefined {
  const name = (frame: ScenarioFrame) => `${frame.module}!${frame.function}`.toLowerCase();
  let caller: number;
  if (raw.loadedBy !== undefined) {
    const wanted = parseFrame(raw.loadedBy);
    caller = site.callers.findIndex((frame) => name(frame) === name(wanted) && (wanted.offset === undefined || frame.offset === wanted.offset));
    if (caller < 0) {
      report('SCENARIO_TAG_ARGUMENT', `Expected tagArgument.loadedBy to be one of the site's callers (${site.callers.map(frameText).join(', ') || 'none'}), got "${raw.loadedBy}"`, [...path, 'loadedBy']);
      return undefined;
    }
  } else {
    caller = site.callers.findIndex((frame) => frame.module.toLowerCase() !== site.module.toLowerCase());
    if (caller < 0) {
      report('SCENARIO_TAG_ARGUMENT', `Expected a caller outside ${site.module} to load the tag argument (or tagArgument.loadedBy naming one of the callers); the site's callers are ${site.callers.map(frameText).join(', ') || 'none'}`, path);
      return undefined;
    }
  }
  if (site.callers[caller]!.module.toLowerCase() === 'nt') {
    report('SCENARIO_TAG_ARGUMENT', `Expected a driver's frame to load the tag argument, got the kernel's own ${frameText(site.callers[caller]!)}`, [...path, ...(raw.loadedBy !== undefined ? ['loadedBy'] : [])]);
    return undefined;
  }
  return { caller, position: raw.position ?? 3, from: raw.from ?? 'immediate' };
}

// `module!function+0xOFFSET` as a scenario writes it.
function frameText(frame: ScenarioFrame): string {
  return `${frame.module}!${frame.function}${frame.offset === undefined ? '' : `+0x${frame.offset.toString(16)}`}`;
}

// A free as the scenario says it: `function` or `module!function` (the site's own module when unqualified).
function normalizeFree(raw: NonNullable<NonNullable<RawScenario['modules']>[number]['sites'][number]['free']>, siteModule: string): ScenarioFree {
  const bang = raw.function.indexOf('!');
  const free: ScenarioFree = { function: bang < 0 ? raw.function : raw.function.slice(bang + 1), callers: (raw.callers ?? []).map(parseFrame) };
  const module = bang < 0 ? undefined : raw.function.slice(0, bang);
  if (module !== undefined && module.toLowerCase() !== siteModule.toLowerCase()) free.module = module;
  if (raw.call !== undefined) free.call = raw.call;
  if (raw.offset !== undefined) free.offset = raw.offset;
  return free;
}

// Sites (or frees) at one offset of one function are one call instruction: one tag immediate, one
// pool argument, one free routine. Each disagreement is reported at the later site.
function checkSharedCallSites(modules: readonly ScenarioModule[], argued: ReadonlySet<ScenarioSite>, report: Report): void {
  const allocs = new Map<string, { site: ScenarioSite; where: string }>();
  const frees = new Map<string, { site: ScenarioSite; where: string }>();
  const loaders = new Map<string, { site: ScenarioSite; where: string }>();
  const hex = (offset: number) => `0x${offset.toString(16)}`;
  modules.forEach((module, moduleIndex) => {
    module.sites.forEach((site, siteIndex) => {
      const sitePath = ['modules', moduleIndex, 'sites', siteIndex];
      if (site.offset !== undefined) {
        const where = `${module.name}!${site.function}+${hex(site.offset)}`;
        const key = where.toLowerCase();
        const first = allocs.get(key);
        if (!first) allocs.set(key, { site, where });
        else {
          const shared = `Site "${site.id}" shares the allocation call at ${where} with site "${first.site.id}"`;
          const passes = (entry: ScenarioSite) => (argued.has(entry) ? 'passes a tag argument on from a register' : 'has the tag as an immediate');
          if (argued.has(first.site) !== argued.has(site)) report('SCENARIO_SHARED_CALL_SITE', `${shared}, which ${passes(first.site)}: expected ${argued.has(first.site) ? 'a tagArgument' : 'no tagArgument'} here too`, [...sitePath, ...(argued.has(site) ? ['tagArgument'] : ['tag'])]);
          else if (!argued.has(site) && first.site.tag !== site.tag) report('SCENARIO_SHARED_CALL_SITE', `${shared}, whose tag immediate is "${first.site.tag}": expected tag "${first.site.tag}", got "${site.tag}"`, [...sitePath, 'tag']);
          if (first.site.pool !== site.pool) report('SCENARIO_SHARED_CALL_SITE', `${shared}, which allocates ${first.site.pool} pool: expected pool ${first.site.pool}, got ${site.pool}`, [...sitePath, 'pool']);
        }
      }
      const loader = site.tagArgument;
      if (loader) {
        // The loading frame's call is one instruction per frame (+0xOFFSET) or per caller and callee: one immediate.
        const frame = site.callers[loader.caller]!;
        const callee = loader.caller === 0 ? `${module.name}!${site.function}` : `${site.callers[loader.caller - 1]!.module}!${site.callers[loader.caller - 1]!.function}`;
        const where = frame.offset === undefined ? `${frameText(frame)} (its call into ${callee})` : frameText(frame);
        const key = where.toLowerCase();
        const first = loaders.get(key);
        if (!first) loaders.set(key, { site, where });
        else {
          const other = first.site.tagArgument!;
          const shared = `Site "${site.id}" loads its tag at ${where}, as site "${first.site.id}" does: one instruction`;
          if (other.from !== loader.from || other.position !== loader.position) report('SCENARIO_SHARED_CALL_SITE', `${shared}, which loads argument ${other.position} from ${other.from}: expected the same, got argument ${loader.position} from ${loader.from}`, [...sitePath, 'tagArgument']);
          else if (first.site.tag !== site.tag) report('SCENARIO_SHARED_CALL_SITE', `${shared}, whose tag is "${first.site.tag}": expected tag "${first.site.tag}", got "${site.tag}"`, [...sitePath, 'tag']);
        }
      }
      const free = site.free;
      if (free?.offset !== undefined) {
        const where = `${free.module ?? module.name}!${free.function}+${hex(free.offset)}`;
        const key = where.toLowerCase();
        const first = frees.get(key);
        if (!first) frees.set(key, { site, where });
        else {
          const shared = `Site "${site.id}" shares the free call at ${where} with site "${first.site.id}"`;
          const call = (entry: ScenarioFree) => entry.call ?? 'ExFreePoolWithTag';
          if (call(first.site.free!) !== call(free)) report('SCENARIO_SHARED_CALL_SITE', `${shared}, which calls ${call(first.site.free!)}: expected call ${call(first.site.free!)}, got ${call(free)}`, [...sitePath, 'free', 'call']);
          else if (call(free) === 'ExFreePoolWithTag' && first.site.tag !== site.tag) {
            report('SCENARIO_SHARED_CALL_SITE', `${shared}, whose ExFreePoolWithTag tag immediate is "${first.site.tag}": expected tag "${first.site.tag}" (or call: ExFreePool), got "${site.tag}"`, [...sitePath, 'tag']);
          }
        }
      }
    });
  });
}

// A tag as the kernel stores it: 4 characters, space-padded. The schema holds tags to the one
// rule (POOL_TAG_RULE); this reports what a schema-less caller passes, in the same words.
function checkTag(tag: string, path: (string | number)[], report: Report): string {
  const problem = poolTagProblem(tag);
  if (problem) report('SCENARIO_BAD_TAG', `Expected ${problem.replace(/^a pool tag is /, 'a pool tag: ')}`, path);
  return tag.padEnd(4, ' ');
}

// A duration in the one grammar of src/core/duration.ts; bare numbers are milliseconds.
function parseDuration(value: number | string, path: (string | number)[], report: Report): number {
  const parsed = parseDurationText(value);
  if (parsed === undefined) {
    report('SCENARIO_BAD_DURATION', `Expected ${durationForms}, got ${JSON.stringify(value)}`, path);
    return 0;
  }
  return parsed;
}

// A value or a [min, max] pair.
function toRange(value: number | [number, number]): NumberRange {
  return Array.isArray(value) ? { min: value[0], max: value[1] } : { min: value, max: value };
}

// `nt!IofCallDriver+0x48` → module, function, offset (the schema checked the shape).
function parseFrame(text: string): ScenarioFrame {
  const bang = text.indexOf('!');
  const rest = text.slice(bang + 1);
  const plus = rest.lastIndexOf('+0x');
  const frame: ScenarioFrame = { module: text.slice(0, bang), function: plus >= 0 ? rest.slice(0, plus) : rest };
  if (plus >= 0) frame.offset = Number.parseInt(rest.slice(plus + 3), 16);
  return frame;
}

// Only the first line of a yaml message; the rest is a code frame we do not want twice.
function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

// Start offset of the node at a path; `key` points at the key of a map entry instead.
function nodeOffset(doc: Document, path: (string | number)[], key: boolean): number {
  if (key && path.length > 0) {
    const parent = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
    if (isMap(parent)) {
      const last = path[path.length - 1];
      const pair = parent.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === last);
      if (pair && isPair(pair) && isScalar(pair.key) && pair.key.range) return pair.key.range[0];
    }
  }
  for (let length = path.length; length >= 0; length--) {
    const node = (length === 0 ? doc.contents : doc.getIn(path.slice(0, length), true)) as Node | null | undefined;
    if (node && typeof node === 'object' && 'range' in node && node.range) return node.range[0];
  }
  return 0;
}

// Array indices in a pointer are numbers for yaml's getIn.
function toPathSegment(segment: string): string | number {
  return /^\d+$/.test(segment) ? Number(segment) : segment;
}

// The built-in default: the procedure's own example (Windows XP, `Abc ` leaking paged pool).
function defaultScenarioFor(profile: string, globalFlag: number): Scenario {
  return {
    file: '<default>',
    profile,
    description: "The procedure's own example: a driver tagged 'Abc ' leaks paged pool among Tron, IoN7, Gla5 and Ggb.",
    seed: 7,
    registry: { globalFlag },
    preloadMs: 2 * 3_600_000,
    arrival: 'poisson',
    modules: [
      {
        name: 'abcflt',
        image: 'abcflt.sys',
        sites: [
          {
            id: 'ctx',
            module: 'abcflt',
            function: 'AbcAllocateContext',
            callers: [
              { module: 'abcflt', function: 'AbcDispatchCreate' },
              { module: 'nt', function: 'IofCallDriver' },
              { module: 'nt', function: 'IopParseDevice' },
            ],
            tag: 'Abc ',
            pool: 'paged',
            size: { min: 932, max: 932 },
            rate: 40,
            lifetimeMs: { min: 500, max: 500 },
            leak: 0.25,
            free: {
              function: 'AbcFreeContext',
              callers: [
                { module: 'abcflt', function: 'AbcCleanup' },
                { module: 'nt', function: 'IofCallDriver' },
              ],
            },
          },
        ],
      },
    ],
    background: [
      { tag: 'Tron', pool: 'paged', bytes: 7863232, allocs: 552, rate: 5, callers: [] },
      { tag: 'IoN7', pool: 'paged', bytes: 998432, allocs: 10939, rate: 50, callers: [] },
      { tag: 'Gla5', pool: 'paged', bytes: 924352, allocs: 2222, rate: 20, callers: [] },
      { tag: 'Gla5', pool: 'nonpaged', bytes: 128, allocs: 1, rate: 0, callers: [] },
      { tag: 'Ggb ', pool: 'paged', bytes: 828384, allocs: 22, rate: 0.5, callers: [] },
    ],
  };
}

/** The fraction of a site's allocations never freed on a profile: its `leak`, or 0 where `leakOn` excludes the profile's version. */
export function siteLeak(site: Pick<ScenarioSite, 'leak' | 'leakOn'>, profile: Pick<SimProfile, 'major' | 'minor' | 'build'>): number {
  if (site.leakOn === undefined) return site.leak;
  return versionMatches(`${profile.major}.${profile.minor}.${profile.build}`, site.leakOn) ? site.leak : 0;
}

/** The scenario with its drivers on another profile (`sim:<scenario>@<profile>`); unchanged without one. */
export function onProfile(scenario: Scenario, profileId: string | undefined): Scenario {
  if (profileId === undefined || profileId === scenario.profile) return scenario;
  if (!findProfile(profileId)) {
    const known = listProfiles().map((entry) => entry.id).join(', ');
    throw new ScenarioError([{ code: 'SCENARIO_UNKNOWN_PROFILE', message: `Expected a known profile (${known}), got "${profileId}"`, file: '<profile>', line: 1, column: 1, path: ['profile'] }]);
  }
  const moved = { ...scenario, profile: profileId };
  // Offsets fixed for one architecture may not fit the other's code.
  const layout = layoutProblem(moved, findProfile(profileId)!);
  if (layout) throw new ScenarioError([{ code: 'SCENARIO_BAD_OFFSET', message: `On ${profileId}: ${layout.message}`, file: scenario.file, line: 1, column: 1, path: layout.path }]);
  return moved;
}

/** The built-in default scenario (same as scenarios/default.yaml): the procedure's example on Windows XP SP3. */
export function defaultScenario(): Scenario {
  return defaultScenarioFor('winxp-sp3-x86', 0);
}

/** The default leak on any built-in profile (tagging off in the registry where the version needs it). */
export function scenarioForProfile(profileId: string): Scenario {
  const profile = findProfile(profileId);
  if (!profile) {
    const known = listProfiles().map((entry) => entry.id).join(', ');
    throw new ScenarioError([
      { code: 'SCENARIO_UNKNOWN_PROFILE', message: `Expected a known profile (${known}), got "${profileId}"`, file: '<profile>', line: 1, column: 1, path: ['profile'] },
    ]);
  }
  const scenario = defaultScenarioFor(profile.id, 0);
  scenario.file = `<profile ${profile.id}>`;
  return scenario;
}
