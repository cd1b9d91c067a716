/**
 * Playbook inputs from the command line: `--input key=value`, converted to the declared type
 * and checked (enum, minimum, maximum); defaults applied; missing required inputs reported.
 */
import { describeValue, errInvalidInput } from './errors.js';
import type { PlaybookError } from './errors.js';
import type { InputDeclaration } from './playbook.js';
import { didYouMean } from './suggest.js';

/** Check one value against an input declaration; returns the problem, or undefined when it fits. */
export function inputProblem(decl: InputDeclaration, value: unknown): string | undefined {
  const typeOk =
    decl.type === 'string' ? typeof value === 'string'
    : decl.type === 'boolean' ? typeof value === 'boolean'
    : decl.type === 'integer' ? typeof value === 'number' && Number.isInteger(value)
    : typeof value === 'number' && Number.isFinite(value);
  if (!typeOk) return `expected ${decl.type === 'integer' ? 'an integer' : `a ${decl.type}`}, got ${describeValue(value)}`;
  if (decl.enum && !decl.enum.includes(value as string | number | boolean)) return `expected one of ${decl.enum.join(', ')}, got ${describeValue(value)}`;
  if (typeof value === 'number' && decl.minimum !== undefined && value < decl.minimum) return `expected at least ${decl.minimum}, got ${value}`;
  if (typeof value === 'number' && decl.maximum !== undefined && value > decl.maximum) return `expected at most ${decl.maximum}, got ${value}`;
  return undefined;
}

// Convert command-line text to the declared type, or explain why it cannot be.
function convert(decl: InputDeclaration, text: string): { value: unknown } | { problem: string } {
  switch (decl.type) {
    case 'string':
      return { value: text };
    case 'boolean': {
      const lower = text.toLowerCase();
      if (['true', 'yes', '1', 'on'].includes(lower)) return { value: true };
      if (['false', 'no', '0', 'off'].includes(lower)) return { value: false };
      return { problem: `expected true or false, got "${text}"` };
    }
    case 'integer':
    case 'number': {
      const value = text.trim() === '' ? Number.NaN : Number(text);
      if (!Number.isFinite(value)) return { problem: `expected ${decl.type === 'integer' ? 'an integer' : 'a number'}, got "${text}"` };
      return { value };
    }
  }
}

/** Split `key=value` arguments; a missing `=` is an INVALID_INPUT error. */
export function parseInputArgs(args: readonly string[]): { given: Record<string, string>; errors: PlaybookError[] } {
  const given: Record<string, string> = {};
  const errors: PlaybookError[] = [];
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) {
      errors.push(errInvalidInput(arg, 'expected --input key=value', { hint: 'for example --input stacks=20' }));
      continue;
    }
    given[arg.slice(0, eq)] = arg.slice(eq + 1);
  }
  return { given, errors };
}

/** Resolve the root playbook's inputs from command-line text: convert, check, default, require. */
export function resolveInputs(declarations: Readonly<Record<string, InputDeclaration>>, given: Readonly<Record<string, string>>): { values: Record<string, unknown>; errors: PlaybookError[] } {
  const values: Record<string, unknown> = {};
  const errors: PlaybookError[] = [];
  const known = Object.keys(declarations);
  for (const [name, text] of Object.entries(given)) {
    const decl = declarations[name];
    if (!decl) {
      errors.push(errInvalidInput(name, 'the playbook declares no such input', { hint: didYouMean(name, known, 'input') }));
      continue;
    }
    const converted = convert(decl, text);
    const problem = 'problem' in converted ? converted.problem : inputProblem(decl, converted.value);
    if (problem) errors.push(errInvalidInput(name, problem, { location: decl.location, ...(decl.description && { hint: decl.description }) }));
    else values[name] = (converted as { value: unknown }).value;
  }
  for (const decl of Object.values(declarations)) {
    if (decl.name in values || decl.name in given) continue;
    if (decl.default !== undefined) values[decl.name] = decl.default;
    else if (decl.required) errors.push(errInvalidInput(decl.name, 'is required', { location: decl.location, hint: `pass --input ${decl.name}=…${decl.description ? ` (${decl.description})` : ''}` }));
  }
  return { values, errors };
}
