/**
 * `${{ … }}` expressions over `inputs`, `facts`, `steps.<id>.outputs` and `env`, parsed and
 * evaluated by @actions/expressions (the GitHub Actions grammar and functions; no eval, no
 * process or file-system access), plus the status functions success(), failure(),
 * cancelled() and always().
 *
 * @see ../../docs/playbooks.md#expressions
 */
import { Evaluator, Lexer, Parser, data } from '@actions/expressions';
import type { Expr } from '@actions/expressions';
import { ContextAccess, FunctionCall, Binary, Grouping, IndexAccess, Literal, Logical, Unary } from '@actions/expressions/ast';
import { truthy } from '@actions/expressions/result';

/** The names an expression may read. */
export const expressionContexts = ['inputs', 'facts', 'steps', 'env'] as const;

/** Status of the run so far, read by success(), failure(), cancelled(). */
export interface RunStatus {
  failed: boolean;
  cancelled: boolean;
}

const statusFunctions = ['success', 'failure', 'cancelled', 'always'] as const;

/** One `${{ … }}` inside a string: its expression text and where it sits in the string. */
export interface TemplatePart {
  expression: string;
  /** Offset of `${{` in the string. */
  start: number;
  /** Offset just after `}}`. */
  end: number;
  /** Offset of the expression text (after `${{`) in the string. */
  expressionStart: number;
}

/** A read of a context value: `inputs.tag` → { context: 'inputs', path: ['tag'] }. */
export interface Reference {
  context: string;
  path: string[];
  /** 0-based column of the context name in the expression text. */
  column: number;
}

/** An expression that does not parse, with the 0-based column in the expression text. */
export class ExpressionSyntaxError extends Error {
  constructor(message: string, readonly column: number) {
    super(message);
  }
}

/** Find every `${{ … }}` in a string; a `}}` inside a quoted string does not end an expression. */
export function findTemplates(text: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let index = text.indexOf('${{');
  while (index !== -1) {
    let i = index + 3;
    let quoted = false;
    let end = -1;
    for (; i < text.length; i++) {
      const ch = text[i];
      if (ch === "'") {
        if (quoted && text[i + 1] === "'") i++;
        else quoted = !quoted;
      } else if (!quoted && ch === '}' && text[i + 1] === '}') {
        end = i;
        break;
      }
    }
    if (end === -1) throw new ExpressionSyntaxError('"${{" has no closing "}}"', index);
    parts.push({ expression: text.slice(index + 3, end).trim(), start: index, end: end + 2, expressionStart: index + 3 + (text.slice(index + 3, end).length - text.slice(index + 3, end).trimStart().length) });
    index = text.indexOf('${{', end + 2);
  }
  return parts;
}

/** True when a value holds at least one `${{`. */
export function hasTemplate(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('${{');
  if (Array.isArray(value)) return value.some(hasTemplate);
  if (value && typeof value === 'object') return Object.values(value).some(hasTemplate);
  return false;
}

// Parsed expressions by text: a playbook's few expressions are evaluated at every step of every
// target of a lab. The trees are only read, never changed. Bounded, for a long-lived embedder.
const parsed = new Map<string, Expr>();
const parsedLimit = 2000;

/** Parse one expression; throws ExpressionSyntaxError with the column of the bad token. */
export function parseExpression(expression: string): Expr {
  const known = parsed.get(expression);
  if (known) return known;
  if (expression.trim() === '') throw new ExpressionSyntaxError('the expression is empty', 0);
  try {
    const tokens = new Lexer(expression).lex().tokens;
    const expr = new Parser(tokens, [...expressionContexts], statusFunctions.map((name) => ({ name, minArgs: 0, maxArgs: 0 }))).parse();
    if (parsed.size >= parsedLimit) parsed.clear();
    parsed.set(expression, expr);
    return expr;
  } catch (error) {
    const pos = (error as { pos?: { column: number } }).pos;
    throw new ExpressionSyntaxError((error as Error).message, pos?.column ?? 0);
  }
}

// The chain of property names under a context read, e.g. steps.rank.outputs.suspect.
function accessChain(node: Expr): Reference | undefined {
  const path: string[] = [];
  let current: Expr = node;
  while (current instanceof IndexAccess) {
    const index = current.index;
    if (index instanceof Literal && index.literal.kind === data.Kind.String) path.unshift(index.literal.coerceString());
    else path.length = 0; // a computed index ends what can be checked statically
    current = current.expr;
  }
  if (current instanceof ContextAccess) return { context: current.name.lexeme.toLowerCase(), path, column: current.name.range.start.column };
  return undefined;
}

/** Every context read in an expression, with as much of its property path as is static. */
export function collectReferences(expr: Expr): Reference[] {
  const found: Reference[] = [];
  const visit = (node: Expr): void => {
    if (node instanceof IndexAccess || node instanceof ContextAccess) {
      const reference = accessChain(node);
      if (reference) {
        found.push(reference);
        // Still visit computed indexes: steps[inputs.x] reads inputs too.
        let current: Expr = node;
        while (current instanceof IndexAccess) {
          if (!(current.index instanceof Literal)) visit(current.index);
          current = current.expr;
        }
        return;
      }
      if (node instanceof IndexAccess) {
        visit(node.expr);
        visit(node.index);
      }
    } else if (node instanceof Binary) {
      visit(node.left);
      visit(node.right);
    } else if (node instanceof Logical) {
      node.args.forEach(visit);
    } else if (node instanceof Unary) {
      visit(node.expr);
    } else if (node instanceof Grouping) {
      visit(node.group);
    } else if (node instanceof FunctionCall) {
      node.args.forEach(visit);
    }
  };
  visit(expr);
  return found;
}

/** True when an expression calls one of the status functions (success(), failure(), …). */
export function usesStatusFunction(expr: Expr): boolean {
  if (expr instanceof FunctionCall) {
    if ((statusFunctions as readonly string[]).includes(expr.functionName.lexeme.toLowerCase())) return true;
    return expr.args.some(usesStatusFunction);
  }
  if (expr instanceof Binary) return usesStatusFunction(expr.left) || usesStatusFunction(expr.right);
  if (expr instanceof Logical) return expr.args.some(usesStatusFunction);
  if (expr instanceof Unary) return usesStatusFunction(expr.expr);
  if (expr instanceof Grouping) return usesStatusFunction(expr.group);
  if (expr instanceof IndexAccess) return usesStatusFunction(expr.expr) || usesStatusFunction(expr.index);
  return false;
}

/** What an expression reads of one step that ran. */
export interface StepView {
  outputs: Record<string, unknown>;
  status: string;
}

/** The steps an expression sees: provider steps, and includes as groups of their steps. */
export interface StepsView {
  readonly [id: string]: StepView | StepsView;
}

/** What expressions read at evaluation time. */
export interface ExpressionScope {
  inputs: Readonly<Record<string, unknown>>;
  facts: unknown;
  /** Steps by id; an include's steps sit under its id (`steps.<include-id>.<step-id>`). */
  steps: StepsView;
  env: Readonly<Record<string, unknown>>;
  status?: RunStatus;
}

// Plain JSON value to the library's data model (undefined becomes null).
function toData(value: unknown): data.ExpressionData {
  return JSON.parse(JSON.stringify(value ?? null), data.reviver) as data.ExpressionData;
}

// The library's data model back to plain JSON.
function fromData(value: data.ExpressionData): unknown {
  return JSON.parse(JSON.stringify(value, data.replacer)) as unknown;
}

// The status functions over the run's state.
function statusImplementations(status: RunStatus): Map<string, { name: string; minArgs: number; maxArgs: number; call: () => data.ExpressionData }> {
  const fn = (name: string, value: () => boolean) => ({ name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(value()) });
  return new Map([
    ['success', fn('success', () => !status.failed && !status.cancelled)],
    ['failure', fn('failure', () => status.failed)],
    ['cancelled', fn('cancelled', () => status.cancelled)],
    ['always', fn('always', () => true)],
  ]);
}

// What of `value` the property paths read: each path's subtree, nothing else (keys match in any
// case, as the library's lookups do). An empty path reads the whole value; so does any path into an
// array or a scalar.
function pick(value: unknown, paths: readonly (readonly string[])[]): unknown {
  if (paths.some((path) => path.length === 0) || value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const rest = new Map<string, string[][]>();
  for (const [first, ...more] of paths) rest.set(first!.toLowerCase(), [...(rest.get(first!.toLowerCase()) ?? []), more]);
  const picked: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const below = rest.get(key.toLowerCase());
    if (below) picked[key] = pick(child, below);
  }
  return picked;
}

// The part of the scope an expression reads: only the contexts it names, and of each only the
// properties its static paths name (a computed index reads the whole context). Converting the whole
// scope for every expression made each `when:` cost as much as all the steps' outputs so far.
function readScope(expr: Expr, scope: ExpressionScope): { key: string; value: unknown }[] {
  const references = collectReferences(expr);
  const read: { key: string; value: unknown }[] = [];
  for (const key of expressionContexts) {
    const paths = references.filter((reference) => reference.context === key).map((reference) => reference.path);
    if (paths.length) read.push({ key, value: pick(scope[key], paths) });
  }
  return read;
}

// Evaluate a parsed expression over the part of the scope it reads.
function evaluate(expr: Expr, scope: ExpressionScope): data.ExpressionData {
  const context = new data.Dictionary(...readScope(expr, scope).map(({ key, value }) => ({ key, value: toData(value) })));
  return new Evaluator(expr, context, statusImplementations(scope.status ?? { failed: false, cancelled: false })).evaluate();
}

/** Evaluate one expression to a plain JSON value. */
export function evaluateExpression(expression: string | Expr, scope: ExpressionScope): unknown {
  const expr = typeof expression === 'string' ? parseExpression(expression) : expression;
  return fromData(evaluate(expr, scope));
}

// Text of a value embedded in a longer string, the way GitHub Actions prints it.
function embed(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * Resolve every `${{ }}` in a value: a string that is exactly one expression keeps the
 * expression's type (number, boolean, object); expressions inside longer strings are embedded as text.
 */
export function evaluateTemplates(value: unknown, scope: ExpressionScope): unknown {
  if (typeof value === 'string') {
    const parts = findTemplates(value);
    if (parts.length === 0) return value;
    if (parts.length === 1 && parts[0]!.start === 0 && parts[0]!.end === value.length) return evaluateExpression(parts[0]!.expression, scope);
    let out = '';
    let last = 0;
    for (const part of parts) {
      out += value.slice(last, part.start) + embed(evaluateExpression(part.expression, scope));
      last = part.end;
    }
    return out + value.slice(last);
  }
  if (Array.isArray(value)) return value.map((item) => evaluateTemplates(item, scope));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, evaluateTemplates(item, scope)]));
  }
  return value;
}

/** The expression text of a `when:` (a bare expression or one `${{ }}`). */
export function conditionText(when: string): string {
  const parts = findTemplates(when);
  if (parts.length === 1 && when.trim() === when.slice(parts[0]!.start, parts[0]!.end).trim()) return parts[0]!.expression;
  return when;
}

/** Evaluate a `when:` condition with GitHub Actions truthiness. */
export function evaluateCondition(when: string | boolean, scope: ExpressionScope): boolean {
  if (typeof when === 'boolean') return when;
  return truthy(evaluate(parseExpression(conditionText(when)), scope));
}
