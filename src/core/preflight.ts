/**
 * Pre-flight of the values known before connecting. Input defaults, `--input` values and include
 * bindings reach `with:` through `${{ }}` expressions, which the loader cannot type-check as
 * written. Every `with:` value whose expressions read only such values (inputs, env, literals) is
 * resolved here and checked against the `with` schema of each provider of its step, and refused
 * when no provider accepts it, so a hostile value never waits for the run to reach its step
 * (DESIGN.md, safety invariants 5 and 6). A step whose `when:` is known to be false is skipped.
 *
 * @see ../../docs/playbooks.md#expressions
 */
import type { ErrorObject } from './ajv.js';
import { errExpression, errInvalidInput, errInvalidWith } from './errors.js';
import type { PlaybookError } from './errors.js';
import { collectReferences, conditionText, evaluateCondition, evaluateTemplates, findTemplates, hasTemplate, parseExpression, usesStatusFunction } from './expressions.js';
import type { ExpressionScope } from './expressions.js';
import { inputProblem } from './inputs.js';
import { pointerToPath } from './locate.js';
import type { Playbook, PlaybookScope, PlaybookStep } from './playbook.js';
import type { Registry } from './registry.js';
import { mapSchemaErrors } from './schema-errors.js';
import type { SourceLocation } from './types.js';

/** What is known besides the playbook itself. */
export interface PreflightOptions {
  /** The root playbook's inputs as `run` resolved them (`--input` and defaults); without them only defaults are known. */
  inputs?: Readonly<Record<string, unknown>>;
  /** Names set with `--input`, so messages can say where a value came from. */
  given?: readonly string[];
}

// One name's value known before connecting, and a sentence saying where it came from.
interface KnownValue {
  value: unknown;
  origin: string;
}

// What one context (inputs or env) holds before connecting; a name in `unknown` is only known later.
interface KnownContext {
  values: Map<string, KnownValue>;
  unknown: Set<string>;
}

// What the expressions of one scope can read before connecting.
interface KnownScope {
  inputs: KnownContext;
  env: KnownContext;
}

// A `with:` value resolved before connecting: where it sits and what it read.
interface ResolvedPath {
  path: string[];
  origins: string[];
}

const hint = 'this value is known before connecting, so it is checked then; fix it where it is set';

// file:line:col of a location, as messages show it.
function where(location: SourceLocation | undefined): string {
  return location ? `${location.file}:${location.line}:${location.column}` : 'an unknown place';
}

// A context with nothing in it (the env an env value sees while it is resolved, as at run time).
function emptyContext(): KnownContext {
  return { values: new Map(), unknown: new Set() };
}

// True when an expression reads nothing but known inputs and env; pushes the origins of what it reads.
function readsOnlyKnown(expression: string, view: KnownScope, origins: string[]): boolean {
  const expr = parseExpression(expression);
  if (usesStatusFunction(expr)) return false;
  for (const ref of collectReferences(expr)) {
    const context = ref.context === 'inputs' ? view.inputs : ref.context === 'env' ? view.env : undefined;
    if (!context) return false;
    const name = ref.path[0];
    if (name === undefined) {
      // The whole context (or a computed index into it): known only when every name is.
      if (context.unknown.size > 0) return false;
      for (const known of context.values.values()) origins.push(known.origin);
      continue;
    }
    if (context.unknown.has(name)) return false;
    const known = context.values.get(name);
    if (known && !origins.includes(known.origin)) origins.push(known.origin);
  }
  return true;
}

// The data an expression sees before connecting: known inputs and env, no facts, no steps.
function expressionScope(view: KnownScope): ExpressionScope {
  const plain = (context: KnownContext) => Object.fromEntries([...context.values].map(([name, known]) => [name, known.value]));
  return { inputs: plain(view.inputs), facts: {}, steps: {}, env: plain(view.env) };
}

// A string's value when every expression in it reads only known values; undefined otherwise. Throws when evaluation fails.
function resolveText(text: string, view: KnownScope, origins: string[]): { value: unknown } | undefined {
  for (const part of findTemplates(text)) {
    if (!readsOnlyKnown(part.expression, view, origins)) return undefined;
  }
  return { value: evaluateTemplates(text, expressionScope(view)) };
}

// A whole value (a binding, an env entry) when all of it is known; undefined otherwise.
function resolveWhole(value: unknown, view: KnownScope, origins: string[]): { value: unknown } | undefined {
  if (!hasTemplate(value)) return { value };
  if (typeof value === 'string') return resolveText(value, view, origins);
  if (Array.isArray(value)) {
    const items: unknown[] = [];
    for (const item of value) {
      const resolved = resolveWhole(item, view, origins);
      if (!resolved) return undefined;
      items.push(resolved.value);
    }
    return { value: items };
  }
  const entries: [string, unknown][] = [];
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    const resolved = resolveWhole(item, view, origins);
    if (!resolved) return undefined;
    entries.push([key, resolved.value]);
  }
  return { value: Object.fromEntries(entries) };
}

// A `when:` known before connecting: true or false, or undefined when it reads facts, steps or run status.
function knownCondition(when: string | boolean | undefined, view: KnownScope): boolean | undefined {
  if (when === undefined) return true;
  if (typeof when === 'boolean') return when;
  try {
    if (!readsOnlyKnown(conditionText(when), view, [])) return undefined;
    return evaluateCondition(when, expressionScope(view));
  } catch {
    return undefined;
  }
}

/**
 * Check every `with:` value that is known before connecting against the `with` schema of each
 * provider of its step; returns the refusals (INVALID_WITH, INVALID_INPUT, EXPRESSION_ERROR),
 * each at the expression with the place its value came from.
 */
export function preflightWith(playbook: Playbook, registry: Registry, options: PreflightOptions = {}): PlaybookError[] {
  const errors: PlaybookError[] = [];
  const views = new Map<PlaybookScope, KnownScope>();
  const gates = new Map<PlaybookScope, boolean>();
  const given = new Set(options.given ?? []);

  // The root's inputs: resolved by run, or (validate, plan) the defaults alone.
  const rootInputs = (scope: PlaybookScope): KnownContext => {
    const context = emptyContext();
    for (const decl of Object.values(scope.inputs)) {
      const fromDefault = `inputs.${decl.name} is the default at ${where(decl.defaultLocation ?? decl.location)}`;
      if (options.inputs) {
        if (decl.name in options.inputs) context.values.set(decl.name, { value: options.inputs[decl.name], origin: given.has(decl.name) ? `inputs.${decl.name} is set by --input ${decl.name}` : fromDefault });
      } else if (decl.default !== undefined) {
        context.values.set(decl.name, { value: decl.default, origin: fromDefault });
      } else {
        context.unknown.add(decl.name);
      }
    }
    return context;
  };

  // An include's inputs: its bindings resolved in the parent scope, else its defaults.
  const boundInputs = (scope: PlaybookScope, parent: KnownScope): KnownContext => {
    const context = emptyContext();
    for (const decl of Object.values(scope.inputs)) {
      const location = scope.bindingLocations?.[decl.name];
      if (!(decl.name in scope.bindings)) {
        if (decl.default !== undefined) context.values.set(decl.name, { value: decl.default, origin: `inputs.${decl.name} is the default at ${where(decl.defaultLocation ?? decl.location)}` });
        continue;
      }
      const binding = scope.bindings[decl.name];
      const origins: string[] = [];
      let resolved: { value: unknown } | undefined;
      try {
        resolved = resolveWhole(binding, parent, origins);
      } catch (error) {
        errors.push(errExpression(String(binding), (error as Error).message, { ...(location && { location }), hint }));
      }
      if (!resolved) {
        context.unknown.add(decl.name);
        continue;
      }
      // A literal binding was checked by the loader; one from an expression is checked here.
      const problem = hasTemplate(binding) ? inputProblem(decl, resolved.value) : undefined;
      if (problem) errors.push(errInvalidInput(decl.name, `${problem}, where ${origins.join('; ')}`, { ...(location && { location }), hint }));
      context.values.set(decl.name, { value: resolved.value, origin: `inputs.${decl.name} is bound at ${where(location)}${origins.length ? `, where ${origins.join('; ')}` : ''}` });
    }
    return context;
  };

  // What a scope's expressions can read before connecting (cached per scope).
  const viewOf = (scope: PlaybookScope): KnownScope => {
    let view = views.get(scope);
    if (view) return view;
    const inputs = scope.parent ? boundInputs(scope, viewOf(scope.parent)) : rootInputs(scope);
    // env is resolved with the scope's inputs and an empty env, as the runner does.
    const env = emptyContext();
    for (const [name, value] of Object.entries(scope.env)) {
      const origins: string[] = [];
      let resolved: { value: unknown } | undefined;
      try {
        resolved = resolveWhole(value, { inputs, env: emptyContext() }, origins);
      } catch {
        resolved = undefined; // reported when the run resolves env
      }
      if (resolved) env.values.set(name, { value: resolved.value, origin: `env.${name} is set in ${scope.file}${origins.length ? `, where ${origins.join('; ')}` : ''}` });
      else env.unknown.add(name);
    }
    view = { inputs, env };
    views.set(scope, view);
    return view;
  };

  // False only when an include's `when:` on the way to this scope is known to be false.
  const gateOpen = (scope: PlaybookScope): boolean => {
    if (!scope.parent) return true;
    let open = gates.get(scope);
    if (open === undefined) {
      open = gateOpen(scope.parent) && knownCondition(scope.when, viewOf(scope.parent)) !== false;
      gates.set(scope, open);
    }
    return open;
  };

  for (const step of [...playbook.steps, ...playbook.always]) {
    if (!gateOpen(step.scope)) continue;
    const view = viewOf(step.scope);
    if (knownCondition(step.when, view) === false) continue;
    checkStep(step, view, registry, errors);
  }
  return errors;
}

// Resolve one step's known `with:` values and check them against every provider of the step.
function checkStep(step: PlaybookStep, view: KnownScope, registry: Registry, errors: PlaybookError[]): void {
  const resolved: ResolvedPath[] = [];
  // Replace each string whose expressions read only known values by its value; keep the rest.
  const walk = (value: unknown, path: string[]): unknown => {
    if (typeof value === 'string') {
      if (!value.includes('${{')) return value;
      const origins: string[] = [];
      try {
        const known = resolveText(value, view, origins);
        if (!known) return value;
        resolved.push({ path, origins });
        return known.value;
      } catch (error) {
        errors.push(errExpression(value, (error as Error).message, { ...step.locateWith(path), step: step.id, hint }));
        return value;
      }
    }
    if (Array.isArray(value)) return value.map((item, i) => walk(item, [...path, String(i)]));
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, walk(item, [...path, key])]));
    return value;
  };
  const params = walk(step.with, []);
  if (resolved.length === 0) return;

  // The resolved value an error sits in (errors about literal parts were the loader's to report).
  const within = (error: ErrorObject): ResolvedPath | undefined => {
    const path = pointerToPath(error.instancePath);
    return resolved.find((r) => r.path.every((part, i) => path[i] === part));
  };
  let best: ErrorObject[] | undefined;
  for (const { provider } of registry.providersOf(step.uses)) {
    const validate = registry.withValidator(provider);
    validate(structuredClone(params));
    const relevant = (validate.errors ?? []).filter((error) => within(error) !== undefined);
    if (relevant.length === 0) return;
    if (!best || relevant.length < best.length) best = relevant;
  }
  if (!best) return;
  errors.push(
    ...mapSchemaErrors(best, (path) => step.locateWith(path.slice(1).map(String)), ['with'], (message, details, _key, error) => {
      const origins = within(error)?.origins ?? [];
      return errInvalidWith(step.uses, `${message}${origins.length ? `, where ${origins.join('; ')}` : ''}`, { ...details, step: step.id, hint });
    }),
  );
}
