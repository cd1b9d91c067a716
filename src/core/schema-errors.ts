/**
 * Ajv's errors as coded, positioned playbook errors: one message per problem, pointing at the
 * YAML node (or, for an unknown key, at the key), in the "Expected …, got …" form.
 *
 * @see ../../docs/errors.md
 */
import type { ErrorObject } from './ajv.js';
import { describeValue } from './errors.js';
import type { ErrorDetails, PlaybookError } from './errors.js';
import { pointerToPath } from './locate.js';
import { didYouMean } from './suggest.js';

// A raw mapping from a schema.
type RawMap = Record<string, unknown>;

/** Human form of a path: steps[2].with.tag (`root` names the whole document). */
export function describePath(path: readonly (string | number)[], root = 'the playbook'): string {
  if (path.length === 0) return root;
  return path.map((part, i) => (/^\d+$/.test(String(part)) ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`)).join('');
}

/** Where a path of the document is, for its value or (unknown keys) its key. */
export type LocatePath = (path: readonly (string | number)[], which?: 'value' | 'key') => ErrorDetails;

// Keywords about the value itself (not its keys): several of them failing on one value are one problem.
const keysKeywords = new Set(['additionalProperties', 'required', 'propertyNames', 'dependentRequired', 'unevaluatedProperties']);

// The words a schema gives for the form it accepts: its `title`, else (for anyOf/oneOf) its `description`.
function formOf(error: ErrorObject): string | undefined {
  const schema = error.parentSchema as RawMap | undefined;
  if (typeof schema?.title === 'string') return schema.title;
  if ((error.keyword === 'anyOf' || error.keyword === 'oneOf') && typeof schema?.description === 'string') return schema.description;
  return undefined;
}

// A value as found, for "got …": strings also say how long they are when length is the problem.
function found(error: ErrorObject, group: readonly ErrorObject[]): string {
  const lengthMatters = group.some((e) => e.keyword === 'maxLength' || e.keyword === 'minLength');
  return typeof error.data === 'string' && lengthMatters ? `${JSON.stringify(error.data)} (${[...error.data].length} characters)` : describeValue(error.data);
}

// For an error inside a `then`, the `if` that chose it in words: `action is set or verify`.
function conditionOf(error: ErrorObject, errors: readonly ErrorObject[]): string | undefined {
  const at = error.schemaPath.lastIndexOf('/then/');
  if (at < 0) return undefined;
  const ifError = errors.find((e) => e.keyword === 'if' && e.instancePath === error.instancePath && e.schemaPath === `${error.schemaPath.slice(0, at)}/if`);
  const properties = ((ifError?.parentSchema as RawMap | undefined)?.if as RawMap | undefined)?.properties as Record<string, RawMap> | undefined;
  if (!properties) return undefined;
  const parts = Object.entries(properties).map(([name, rule]) =>
    Array.isArray(rule.enum) ? `${name} is ${rule.enum.map(String).join(' or ')}` : rule.const !== undefined ? `${name} is ${String(rule.const)}` : undefined);
  return parts.every((part) => part !== undefined) && parts.length > 0 ? parts.join(' and ') : undefined;
}

/**
 * Turn Ajv errors into coded errors pointing at the YAML nodes (keys for unknown keys).
 * One problem gives one error: when several keywords fail on the same value (a tag too long
 * and outside the pattern; a duration neither integer nor text of the right form), the error
 * says in words what was found and what the schema accepts (its `title`), never a regex.
 */
export function mapSchemaErrors<E = PlaybookError>(
  errors: readonly ErrorObject[],
  locate: LocatePath,
  base: readonly string[],
  make: (message: string, details: ErrorDetails, unknownKey: string | undefined, error: ErrorObject) => E,
  root = 'the playbook',
): E[] {
  const out: E[] = [];
  // `if` only says which `then` applied; the `then` branch's own errors say what is wrong.
  const relevant = errors.filter((e) => e.keyword !== 'if');
  const valueErrors = (instancePath: string) => relevant.filter((e) => e.instancePath === instancePath && e.propertyName === undefined && !keysKeywords.has(e.keyword));
  const described = new Set<string>();
  const combinatorPaths = new Set(relevant.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => e.instancePath));
  for (const error of relevant) {
    const path = [...base, ...pointerToPath(error.instancePath)];
    const where = describePath(path, root);
    if (error.propertyName === undefined && !keysKeywords.has(error.keyword)) {
      if (described.has(error.instancePath)) continue;
      const group = valueErrors(error.instancePath);
      // The last titled error is the outermost schema (Ajv reports a combinator after its branches).
      const form = group.map(formOf).findLast((text) => text !== undefined);
      if (form !== undefined) {
        described.add(error.instancePath);
        out.push(make(`Expected ${where} to be ${form}, got ${found(error, group)}`, locate(path), undefined, error));
        continue;
      }
      // anyOf/oneOf branches repeat themselves; the combinator's own error says it once.
      if (error.keyword !== 'anyOf' && error.keyword !== 'oneOf' && combinatorPaths.has(error.instancePath) && /\/(anyOf|oneOf)\//.test(error.schemaPath)) continue;
    }
    switch (error.keyword) {
      case 'additionalProperties': {
        const key = String((error.params as { additionalProperty: string }).additionalProperty);
        const known = Object.keys(((error.parentSchema as RawMap | undefined)?.properties as RawMap | undefined) ?? {});
        out.push(make(`Unknown key "${key}" in ${where}`, { ...locate([...path, key], 'key'), hint: didYouMean(key, known) }, key, error));
        break;
      }
      case 'required': {
        const key = String((error.params as { missingProperty: string }).missingProperty);
        const condition = conditionOf(error, errors);
        out.push(make(`${where} is missing the required key "${key}"${condition ? ` (required when ${condition})` : ''}`, locate(path), undefined, error));
        break;
      }
      case 'type':
        out.push(make(`Expected ${where} to be ${String((error.params as { type: string }).type)}, got ${describeValue(error.data)}`, locate(path), undefined, error));
        break;
      case 'enum': {
        const allowed = ((error.params as { allowedValues: unknown[] }).allowedValues ?? []).map(String);
        out.push(make(`Expected ${where} to be one of ${allowed.join(', ')}, got ${describeValue(error.data)}`, { ...locate(path), hint: typeof error.data === 'string' ? didYouMean(error.data, allowed, 'value') : undefined }, undefined, error));
        break;
      }
      case 'anyOf':
      case 'oneOf':
        out.push(make(`Expected ${where} to be one of the allowed forms, got ${describeValue(error.data)}`, locate(path), undefined, error));
        break;
      case 'propertyNames':
        break; // reported by the `pattern` error on the name itself
      case 'pattern': {
        // Only a schema without a `title` (a third-party plugin's) shows its pattern: it is all it says.
        if (error.propertyName !== undefined) {
          const form = formOf(error);
          out.push(make(`Name "${error.propertyName}" in ${where} must be ${form ?? `a name matching ${String((error.params as { pattern: string }).pattern)}`}`, locate([...path, error.propertyName], 'key'), undefined, error));
        } else {
          out.push(make(`Expected ${where} to match ${String((error.params as { pattern: string }).pattern)}, got ${describeValue(error.data)}`, locate(path), undefined, error));
        }
        break;
      }
      default:
        out.push(make(`${where} ${error.message ?? 'is invalid'}`, locate(path), undefined, error));
    }
  }
  return out;
}
