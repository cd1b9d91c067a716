/**
 * Load a playbook: YAML with positions, the envelope schema, each provider's `with` schema,
 * step names, includes and expression references, all checked in one pass. Returns every
 * problem as data; nothing is thrown for a user's mistake.
 *
 * @see ../../docs/playbooks.md
 * @see ../../docs/errors.md
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, isScalar, parseDocument, visit } from 'yaml';
import type { Document, Node } from 'yaml';
import { createSchemaCompiler } from './ajv.js';
import { parseDuration } from './duration.js';
import { deepestNodeOffset, deepTextOffset, isStackOverflow, maxNestingDepth, tooDeepMessage } from './depth.js';
import type { ErrorObject, ValidateFunction } from './ajv.js';
import {
  errDuplicateStepId,
  errExpression,
  errIncludeCycle,
  errIncludeNotFound,
  errInvalidInput,
  errInvalidPlaybook,
  errInvalidWith,
  errPlaybookNotFound,
  errUndeclaredOutput,
  errUnknownInput,
  errUnknownKey,
  errUnknownStep,
  errUnknownStepId,
  errYamlSyntax,
} from './errors.js';
import type { ErrorDetails, PlaybookError } from './errors.js';
import { conditionText, ExpressionSyntaxError, collectReferences, findTemplates, hasTemplate, parseExpression } from './expressions.js';
import { inputProblem } from './inputs.js';
import { indexSource, nodeAtPath, pairOf, pointAt, startOf } from './locate.js';
import type { SourceText } from './locate.js';
import type { InputDeclaration, InputType, Playbook, PlaybookScope, PlaybookStep } from './playbook.js';
import { preflightWith } from './preflight.js';
import type { Registry } from './registry.js';
import { decodeUtf8, invalidUtf8Message } from './utf8.js';
import { isExplicitPath, resolvePackageSpecifier } from './resolve.js';
import { describePath, mapSchemaErrors } from './schema-errors.js';
import { closestMatch, didYouMean } from './suggest.js';
import type { JsonSchema, SourceLocation, StepProvider } from './types.js';

/** Check one value against an input declaration (kept here for callers of the loader). */
export { inputProblem };

/** What loading produced: the playbook when it is valid, and every problem found. */
export interface LoadResult {
  playbook?: Playbook;
  errors: PlaybookError[];
  warnings: PlaybookError[];
}

/** Options of loadPlaybook. */
export interface LoadOptions {
  registry: Registry;
  /** Paths in messages are shown relative to this folder (default: the working directory). */
  cwd?: string;
}

// A parsed file and how to point into it.
interface FileContext {
  abs: string;
  source: SourceText;
  doc: Document;
  /** The document as plain data (aliases expanded, at most 100 times). */
  raw: unknown;
}

// State shared by one load, across included files.
interface LoadState {
  registry: Registry;
  cwd: string;
  errors: PlaybookError[];
  warnings: PlaybookError[];
  includedAlways: PlaybookStep[];
}

// A raw mapping from YAML.
type RawMap = Record<string, unknown>;

const envelopeSchemaFile = (): string => {
  // src/core/load.ts → ../../schemas; dist/src/core/load.js → ../../../schemas.
  const here = import.meta.url;
  return fileURLToPath(new URL(here.endsWith('.ts') ? '../../schemas/playbook.schema.json' : '../../../schemas/playbook.schema.json', here));
};

let envelopeValidator: ValidateFunction | undefined;

/** The playbook envelope schema (schemas/playbook.schema.json). */
export function playbookSchema(): JsonSchema {
  return JSON.parse(readFileSync(envelopeSchemaFile(), 'utf8')) as JsonSchema;
}

// The envelope validator, compiled once per process.
function envelope(): ValidateFunction {
  envelopeValidator ??= createSchemaCompiler().compile(playbookSchema());
  return envelopeValidator;
}

// Details (location + frame) for the value at a path, or for its key when asked.
function at(fc: FileContext, path: readonly (string | number)[], which: 'value' | 'key' = 'value'): ErrorDetails {
  let offset: number | undefined;
  if (which === 'key' && path.length > 0) {
    const parent = nodeAtPath(fc.doc.contents as Node, path.slice(0, -1));
    const pair = pairOf(parent, String(path[path.length - 1]));
    if (pair && isScalar(pair.key)) offset = startOf(pair.key);
  }
  if (offset === undefined) {
    for (let depth = path.length; depth >= 0 && offset === undefined; depth--) {
      const node = nodeAtPath(fc.doc.contents as Node, path.slice(0, depth));
      if (node?.range) offset = node.range[0];
    }
  }
  return pointAt(fc.source, offset ?? 0);
}

// Read and parse one file; YAML errors are reported and end the file's processing.
function parseFile(state: LoadState, abs: string, notFound: () => PlaybookError): FileContext | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(abs);
  } catch {
    state.errors.push(notFound());
    return undefined;
  }
  const { text, invalid } = decodeUtf8(bytes);
  const shown = relative(state.cwd, abs);
  const file = shown.startsWith('..') || isAbsolute(shown) ? abs : shown;
  if (invalid) {
    // A byte that is not UTF-8 would otherwise become U+FFFD without a word.
    state.errors.push(errYamlSyntax(invalidUtf8Message(invalid.byte), { ...pointAt(indexSource(file, text), invalid.offset), hint: 'save the file as UTF-8' }));
    return undefined;
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const source = indexSource(file, text, lines);
  const fc: FileContext = { abs, source, doc, raw: undefined };
  // Nested past any real playbook: refused at a stable place before the parser's (or a walk's) stack runs out.
  const overflow = doc.errors.find((error) => isStackOverflow(error.message));
  const tooDeep = overflow ? (deepestNodeOffset(doc) ?? deepTextOffset(text) ?? overflow.pos[0]) : doc.errors.length === 0 ? deepestNodeOffset(doc) : undefined;
  if (tooDeep !== undefined) {
    state.errors.push(errInvalidPlaybook(tooDeepMessage(), { ...pointAt(source, tooDeep), hint: `a playbook needs only a few levels; ${maxNestingDepth} is the most leakhunt reads` }));
    return undefined;
  }
  for (const error of doc.errors) {
    const message = error.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    state.errors.push(errYamlSyntax(message, { ...pointAt(source, error.pos[0]), hint: error.code === 'DUPLICATE_KEY' ? 'each key may appear once in a mapping' : yamlHint(error.code) }));
  }
  for (const warning of doc.warnings) state.warnings.push(errYamlSyntax(warning.message.split('\n')[0]!, pointAt(source, warning.pos[0])));
  if (doc.errors.length > 0) return undefined;
  try {
    fc.raw = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // yaml throws for an alias bomb (billion laughs) or an alias without its anchor: a user's mistake.
    state.errors.push(errYamlSyntax(`Cannot expand aliases: ${(error as Error).message}`, { ...pointAt(source, firstAliasOffset(doc)), hint: 'an alias (*name) needs its anchor (&name) earlier in the file; aliases may expand at most 100 times' }));
    return undefined;
  }
  return fc;
}

// Offset of the first alias (*name) in a document, where an alias bomb starts.
function firstAliasOffset(doc: Document): number {
  let offset = 0;
  visit(doc, {
    Alias(_key, node) {
      offset = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
}

// A hint for the YAML mistakes people make most.
function yamlHint(code: string): string | undefined {
  switch (code) {
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
      return 'check the indentation: items of a list start with "- " at the same column';
    case 'TAB_AS_INDENT':
      return 'indent with spaces, not tabs';
    case 'BLOCK_AS_IMPLICIT_KEY':
      return 'a key needs ": " after it; quote values that contain ": "';
    default:
      return undefined;
  }
}

// Normalize the declared inputs of a file.
function readInputs(fc: FileContext, raw: unknown): Record<string, InputDeclaration> {
  const inputs: Record<string, InputDeclaration> = {};
  if (!raw || typeof raw !== 'object') return inputs;
  for (const [name, value] of Object.entries(raw as RawMap)) {
    if (!value || typeof value !== 'object') continue;
    const decl = value as RawMap;
    const type = (['string', 'number', 'integer', 'boolean'].includes(decl.type as string) ? decl.type : 'string') as InputType;
    inputs[name] = {
      name,
      type,
      ...(typeof decl.description === 'string' && { description: decl.description }),
      ...(decl.default !== undefined && { default: decl.default as string | number | boolean }),
      ...(Array.isArray(decl.enum) && { enum: decl.enum as (string | number | boolean)[] }),
      ...(typeof decl.minimum === 'number' && { minimum: decl.minimum }),
      ...(typeof decl.maximum === 'number' && { maximum: decl.maximum }),
      required: typeof decl.required === 'boolean' ? decl.required : decl.default === undefined,
      location: at(fc, ['inputs', name], 'key').location!,
      ...(decl.default !== undefined && { defaultLocation: at(fc, ['inputs', name, 'default']).location! }),
    };
  }
  return inputs;
}

// Validate a step's `with` against each provider of its step name; errors only when none accepts it.
function checkWith(state: LoadState, fc: FileContext, path: readonly string[], uses: string, value: unknown, providers: readonly { provider: StepProvider<any> }[]): void {
  const params = (value ?? {}) as RawMap;
  let best: readonly ErrorObject[] | undefined;
  for (const { provider } of providers) {
    const validate = state.registry.withValidator(provider);
    validate(structuredClone(params));
    // A value that is still an expression cannot be type-checked before it is resolved.
    const errors = (validate.errors ?? []).filter((e) => !(typeof e.data === 'string' && e.data.includes('${{') && e.keyword !== 'required' && e.keyword !== 'additionalProperties'));
    if (errors.length === 0) return;
    if (!best || errors.length < best.length) best = errors;
  }
  if (!best) return;
  state.errors.push(...mapSchemaErrors(best, (where, which) => at(fc, where, which), [...path, 'with'], (message, details) => errInvalidWith(uses, message, details)));
}

// Where an expression's reference sits: the scalar's offset plus the expression's offset in it.
function referenceDetails(fc: FileContext, path: readonly (string | number)[], expression: string, column: number): ErrorDetails {
  const node = nodeAtPath(fc.doc.contents as Node, path);
  if (!node?.range) return at(fc, path);
  const raw = fc.source.text.slice(node.range[0], node.range[1]);
  const index = raw.indexOf(expression);
  return pointAt(fc.source, node.range[0] + (index >= 0 ? index + column : 0));
}

// A step an expression may name: a provider step, or an include whose steps are named below it
// (`steps.<include-id>.<step-id>.outputs`).
interface VisibleStep {
  uses?: string;
  include?: Map<string, VisibleStep>;
}

// The step ids an expression at this point may read, with their providers' outputs.
interface VisibleSteps {
  ids: Map<string, VisibleStep>;
  later: Set<string>;
}

// The steps of an include as an expression of the including file names them, nested by include.
function includedSteps(steps: readonly PlaybookStep[], key: string): Map<string, VisibleStep> {
  const root = new Map<string, VisibleStep>();
  for (const step of steps) {
    if (!step.id.startsWith(`${key}.`)) continue;
    const parts = step.id.slice(key.length + 1).split('.');
    let level = root;
    for (const part of parts.slice(0, -1)) {
      let group = level.get(part);
      if (!group) level.set(part, (group = { include: new Map() }));
      level = group.include ??= new Map();
    }
    level.set(parts.at(-1)!, { uses: step.uses });
  }
  return root;
}

// Check every reference of one expression against inputs, visible steps and declared outputs.
function checkExpression(state: LoadState, fc: FileContext, path: readonly (string | number)[], expression: string, scope: { inputs: Readonly<Record<string, InputDeclaration>> }, visible: VisibleSteps): void {
  let expr;
  try {
    expr = parseExpression(expression);
  } catch (error) {
    const column = error instanceof ExpressionSyntaxError ? error.column : 0;
    state.errors.push(errExpression(expression, (error as Error).message, { ...referenceDetails(fc, path, expression, column), hint: 'expressions may read inputs, facts, steps.<id>.outputs and env' }));
    return;
  }
  for (const ref of collectReferences(expr)) {
    // Point at the offending property (`rnak` in steps.rnak.outputs), not at the context name.
    const columnOf = (depth: number): number => {
      let column = ref.column;
      for (let i = 0; i <= depth && i < ref.path.length; i++) {
        const next = expression.indexOf(ref.path[i]!, column);
        if (next < 0) return ref.column;
        column = next;
      }
      return column;
    };
    const at = (depth: number) => referenceDetails(fc, path, expression, columnOf(depth));
    const details = () => at(0);
    if (ref.context === 'inputs' && ref.path.length > 0) {
      const name = ref.path[0]!;
      if (!(name in scope.inputs)) state.errors.push(errUnknownInput(name, { ...details(), hint: didYouMean(name, Object.keys(scope.inputs), 'input') }));
    } else if (ref.context === 'steps' && ref.path.length > 0) {
      // Through includes: steps.<include-id>.<step-id>… down to a provider step.
      let depth = 0;
      let id = ref.path[0]!;
      let step = visible.ids.get(id);
      let known = visible.ids;
      while (step?.include && ref.path[depth + 1] !== undefined) {
        known = step.include;
        depth += 1;
        const inner = ref.path[depth]!;
        step = known.get(inner);
        id = `${id}.${inner}`;
      }
      if (!step) {
        const name = ref.path[depth]!;
        const hint = depth === 0 && visible.later.has(name) ? `step "${name}" runs later; an expression reads only steps that ran before it`
          : known.size === 0 ? `no step runs before this one, so there is no step id to read here`
          : didYouMean(name, [...known.keys()], 'step id') + (depth > 0 ? ` (steps of the include "${id.slice(0, id.lastIndexOf('.'))}")` : '');
        state.errors.push(errUnknownStepId(depth === 0 ? name : id, { ...at(depth), hint }));
        continue;
      }
      if (step.include) continue; // steps.<include-id> alone: an object of its steps
      const field = ref.path[depth + 1];
      if (field === undefined || field === 'status') continue;
      if (field !== 'outputs') {
        state.errors.push(errExpression(expression, `steps.${id} has "outputs" and "status", not "${field}"`, { ...at(depth + 1), hint: didYouMean(field, ['outputs', 'status']) }));
        continue;
      }
      const output = ref.path[depth + 2];
      if (output === undefined || !step.uses) continue;
      const providers = state.registry.providersOf(step.uses);
      if (providers.length === 0) continue; // the unknown step is reported already
      const declared = [...new Set(providers.flatMap((p) => Object.keys(p.provider.outputs)))].sort();
      if (!declared.includes(output)) state.errors.push(errUndeclaredOutput(id, output, declared, { ...at(depth + 2), hint: didYouMean(output, declared, 'output') }));
    }
  }
}

// Check every `${{ }}` inside a value (strings at any depth).
function checkTemplates(state: LoadState, fc: FileContext, path: readonly (string | number)[], value: unknown, scope: { inputs: Readonly<Record<string, InputDeclaration>> }, visible: VisibleSteps): void {
  if (typeof value === 'string') {
    let parts;
    try {
      parts = findTemplates(value);
    } catch (error) {
      state.errors.push(errExpression(value, (error as Error).message, at(fc, path)));
      return;
    }
    for (const part of parts) checkExpression(state, fc, path, part.expression, scope, visible);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => checkTemplates(state, fc, [...path, String(i)], item, scope, visible));
  } else if (value && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) checkTemplates(state, fc, [...path, key], item, scope, visible);
  }
}

// Keys an include step may carry.
const includeKeys = new Set(['id', 'name', 'include', 'with', 'when']);

// A step as read from one file, before expression checks.
interface FileStep {
  raw: RawMap;
  path: string[];
  localId: string;
  section: 'steps' | 'always';
  uses?: string;
  include?: { scope: PlaybookScope; steps: PlaybookStep[] };
}

// Load one playbook file into steps of a scope; includes recurse with the chain for cycle checks.
function loadFile(state: LoadState, fc: FileContext, scopeKey: string, parent: { scope: PlaybookScope; bindings: RawMap; bindingLocations: Record<string, SourceLocation>; when?: string | boolean } | undefined, chain: readonly string[]): { scope: PlaybookScope; steps: PlaybookStep[]; always: PlaybookStep[]; description?: string } {
  const raw = (fc.raw ?? {}) as unknown;
  const validate = envelope();
  if (!validate(raw)) {
    state.errors.push(...mapSchemaErrors(validate.errors ?? [], (where, which) => at(fc, where, which), [], (message, details, unknownKey) => (unknownKey !== undefined ? errUnknownKey(unknownKey, message.replace(/^Unknown key "[^"]*" in /, ''), details) : errInvalidPlaybook(message, details))));
  }
  const root: RawMap = raw && typeof raw === 'object' && !Array.isArray(raw) ? (raw as RawMap) : {};
  const inputs = readInputs(fc, root.inputs);
  for (const decl of Object.values(inputs)) {
    if (decl.default !== undefined) {
      const problem = inputProblem(decl, decl.default);
      if (problem) state.errors.push(errInvalidInput(decl.name, `default: ${problem}`, at(fc, ['inputs', decl.name, 'default'])));
    }
  }
  const env = root.env && typeof root.env === 'object' ? { ...(parent?.scope.env ?? {}), ...(root.env as RawMap) } : { ...(parent?.scope.env ?? {}) };
  const stepIds = new Map<string, string>();
  const scope: PlaybookScope = {
    key: scopeKey,
    file: fc.source.file,
    name: typeof root.name === 'string' ? root.name : fc.source.file,
    inputs,
    env,
    bindings: parent?.bindings ?? {},
    ...(parent && { bindingLocations: parent.bindingLocations }),
    ...(parent?.when !== undefined && { when: parent.when }),
    ...(parent && { parent: parent.scope }),
    stepIds,
  };
  const globalId = (local: string) => (scopeKey ? `${scopeKey}.${local}` : local);

  // First pass: ids, step names, with schemas, includes.
  const fileSteps: FileStep[] = [];
  const seen = new Set<string>();
  for (const section of ['steps', 'always'] as const) {
    const list = Array.isArray(root[section]) ? (root[section] as unknown[]) : [];
    list.forEach((item, index) => {
      if (!item || typeof item !== 'object' || Array.isArray(item)) return;
      const step = item as RawMap;
      const path = [section, String(index)];
      const localId = typeof step.id === 'string' ? step.id : `${section === 'always' ? 'always' : 'step'}-${index + 1}`;
      if (seen.has(localId)) state.errors.push(errDuplicateStepId(localId, at(fc, typeof step.id === 'string' ? [...path, 'id'] : path)));
      seen.add(localId);
      const entry: FileStep = { raw: step, path, localId, section };
      if (step.uses !== undefined && step.include !== undefined) {
        state.errors.push(errInvalidPlaybook(`${describePath(path)} has both "uses" and "include"`, { ...at(fc, [...path, 'include'], 'key'), hint: 'a step either runs a step provider (uses:) or includes a playbook (include:)' }));
      } else if (typeof step.uses === 'string') {
        entry.uses = step.uses;
        const providers = state.registry.providersOf(step.uses);
        if (providers.length === 0) {
          state.errors.push(errUnknownStep(step.uses, { ...at(fc, [...path, 'uses']), hint: didYouMean(step.uses, state.registry.stepNames(), 'step name') + ' (`leakhunt plugins` lists the steps)' }));
        } else {
          checkWith(state, fc, path, step.uses, step.with, providers);
        }
        stepIds.set(localId, globalId(localId));
      } else if (typeof step.include === 'string') {
        for (const key of Object.keys(step)) {
          if (!includeKeys.has(key)) state.errors.push(errInvalidPlaybook(`"${key}" is not allowed on an include (allowed: ${[...includeKeys].join(', ')})`, at(fc, [...path, key], 'key')));
        }
        entry.include = loadInclude(state, fc, path, step, scope, globalId(localId), chain);
      } else if (step.uses === undefined && step.include === undefined) {
        state.errors.push(errInvalidPlaybook(`${describePath(path)} needs "uses:" (a step name) or "include:" (a playbook file)`, at(fc, path)));
      }
      fileSteps.push(entry);
    });
  }

  // Second pass: expressions, now that every id in the file is known.
  const steps: PlaybookStep[] = [];
  const always: PlaybookStep[] = [];
  const visible: VisibleSteps = { ids: new Map(), later: new Set(fileSteps.filter((s) => s.uses || s.include).map((s) => s.localId)) };
  checkTemplates(state, fc, ['env'], root.env ?? {}, scope, { ids: new Map(), later: new Set() });
  for (const entry of fileSteps) {
    const { raw: step, path } = entry;
    if (step.when !== undefined && typeof step.when === 'string') {
      const text = conditionText(step.when);
      if (text.includes('${{')) checkTemplates(state, fc, [...path, 'when'], step.when, scope, visible);
      else checkExpression(state, fc, [...path, 'when'], text, scope, visible);
    }
    checkTemplates(state, fc, [...path, 'with'], step.with ?? {}, scope, visible);
    if (entry.include) {
      const target = entry.section === 'steps' ? steps : always;
      target.push(...entry.include.steps);
      visible.ids.set(entry.localId, { include: includedSteps(entry.include.steps, globalId(entry.localId)) });
      visible.later.delete(entry.localId);
      continue;
    }
    if (!entry.uses) continue;
    const normalized: PlaybookStep = {
      id: globalId(entry.localId),
      localId: entry.localId,
      ...(typeof step.name === 'string' && { name: step.name }),
      uses: entry.uses,
      location: at(fc, path).location!,
      section: entry.section,
      scope,
      with: (step.with && typeof step.with === 'object' ? step.with : {}) as RawMap,
      ...(step.when !== undefined && { when: step.when as string | boolean }),
      ...(parseDuration(step.timeout) !== undefined && { timeoutMs: parseDuration(step.timeout) }),
      retries: typeof step.retries === 'number' ? step.retries : 0,
      delayMs: parseDuration(step.delay) ?? 0,
      continueOnError: step['continue-on-error'] === true,
      locateWith: (withPath) => at(fc, [...path, 'with', ...withPath]),
    };
    (entry.section === 'steps' ? steps : always).push(normalized);
    visible.ids.set(entry.localId, { uses: entry.uses });
    visible.later.delete(entry.localId);
  }
  return { scope, steps, always, ...(typeof root.description === 'string' && { description: root.description }) };
}

/**
 * Where an `include:` points, from the including file: a path relative to it (`./cleanup.yaml`,
 * or a bare `cleanup.yaml` that exists beside it), else a file of an installed package
 * (`@team/leak-recipes/nic.yaml`, `leakhunt/playbooks/find-pool-leak.yaml`) found as Node finds
 * modules (node_modules upward, the package's `exports`); undefined when neither exists.
 */
export function resolveInclude(includePath: string, fromFile: string): string | undefined {
  const local = resolve(dirname(fromFile), includePath);
  if (existsSync(local)) return local;
  if (isExplicitPath(includePath)) return undefined;
  try {
    return resolvePackageSpecifier(includePath, fromFile);
  } catch {
    return undefined;
  }
}

// Resolve, load and check one include; its cleanup joins the run's always list.
function loadInclude(state: LoadState, fc: FileContext, path: readonly string[], step: RawMap, parentScope: PlaybookScope, key: string, chain: readonly string[]): { scope: PlaybookScope; steps: PlaybookStep[] } | undefined {
  const includePath = step.include as string;
  const where = at(fc, [...path, 'include']);
  const abs = resolveInclude(includePath, fc.abs);
  if (abs === undefined) {
    state.errors.push(errIncludeNotFound(includePath, where));
    return undefined;
  }
  if (chain.includes(abs)) {
    state.errors.push(errIncludeCycle([...chain, abs].map((file) => relative(state.cwd, file) || file), where));
    return undefined;
  }
  const child = parseFile(state, abs, () => errIncludeNotFound(includePath, where));
  if (!child) return undefined;
  const bindings = (step.with && typeof step.with === 'object' ? step.with : {}) as RawMap;
  const bindingLocations = Object.fromEntries(Object.keys(bindings).map((name) => [name, at(fc, [...path, 'with', name]).location!]));
  const loaded = loadFile(state, child, key, { scope: parentScope, bindings, bindingLocations, ...(step.when !== undefined && { when: step.when as string | boolean }) }, [...chain, abs]);
  for (const [name, value] of Object.entries(bindings)) {
    const decl = loaded.scope.inputs[name];
    if (!decl) {
      const declared = Object.keys(loaded.scope.inputs);
      const close = closestMatch(name, declared);
      const hint = close !== undefined ? `did you mean "${close}"? ${includePath} declares the inputs ${declared.join(', ')}`
        : declared.length === 0 ? `${includePath} declares no inputs`
        : `${includePath} declares the inputs ${declared.join(', ')}`;
      state.errors.push(errUnknownInput(name, { ...at(fc, [...path, 'with', name], 'key'), hint }));
    } else if (!hasTemplate(value)) {
      const problem = inputProblem(decl, value);
      if (problem) state.errors.push(errInvalidInput(name, problem, at(fc, [...path, 'with', name])));
    }
  }
  for (const decl of Object.values(loaded.scope.inputs)) {
    if (decl.required && decl.default === undefined && !(decl.name in bindings)) {
      state.errors.push(errInvalidInput(decl.name, `${includePath} needs this input; set it under with:`, where));
    }
  }
  state.includedAlways.push(...loaded.always);
  return { scope: loaded.scope, steps: loaded.steps };
}

/** Load and check a playbook file completely; `playbook` is set only when there are no errors. */
export function loadPlaybook(file: string, options: LoadOptions): LoadResult {
  const cwd = options.cwd ?? process.cwd();
  const state: LoadState = { registry: options.registry, cwd, errors: [], warnings: [], includedAlways: [] };
  const abs = resolve(cwd, file);
  const fc = parseFile(state, abs, () => errPlaybookNotFound(file));
  if (!fc) return { errors: state.errors, warnings: state.warnings };
  const loaded = loadFile(state, fc, '', undefined, [abs]);
  const errors = dedupe(state.errors);
  if (errors.length > 0) return { errors, warnings: state.warnings };
  const playbook: Playbook = {
    file: fc.source.file,
    name: loaded.scope.name,
    ...(loaded.description !== undefined && { description: loaded.description }),
    scope: loaded.scope,
    inputs: loaded.scope.inputs,
    steps: loaded.steps,
    always: [...state.includedAlways, ...loaded.always],
  };
  // Defaults and include bindings are known now: what they feed through expressions is checked too.
  const refused = dedupe(preflightWith(playbook, options.registry));
  if (refused.length > 0) return { errors: refused, warnings: state.warnings };
  return { playbook, errors: [], warnings: state.warnings };
}

// Drop repeated reports of one problem (Ajv's allErrors can say a thing twice).
function dedupe(errors: readonly PlaybookError[]): PlaybookError[] {
  const seen = new Set<string>();
  const out: PlaybookError[] = [];
  for (const error of errors) {
    const key = `${error.code}|${error.location?.file}:${error.location?.line}:${error.location?.column}|${error.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(error);
  }
  return out;
}

/** Sort errors by file, line and column for display. */
export function sortErrors(errors: readonly PlaybookError[]): PlaybookError[] {
  return [...errors].sort((a, b) => {
    const la = a.location;
    const lb = b.location;
    if (!la || !lb) return la ? -1 : lb ? 1 : 0;
    return la.file.localeCompare(lb.file) || la.line - lb.line || la.column - lb.column || a.message.localeCompare(b.message);
  });
}

