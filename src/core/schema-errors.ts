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

/** Human form of a path: steps[2].with.tag. */
export function describePath(path: readonly (string | number)[]): string {
  if (path.length === 0) return 'the playbook';
  return path.map((part, i) => (/^\d+$/.test(String(part)) ? `[${part}]` : i === 0 ? String(part) : `.${String(part)}`)).join('');
}

/** Where a path of the document is, for its value or (unknown keys) its key. */
export type LocatePath = (path: readonly (string | number)[], which?: 'value' | 'key') => ErrorDetails;

/** Turn Ajv errors into coded errors pointing at the YAML nodes (keys for unknown keys). */
export function mapSchemaErrors(
  errors: readonly ErrorObject[],
  locate: LocatePath,
  base: readonly string[],
  make: (message: string, details: ErrorDetails, unknownKey: string | undefined, error: ErrorObject) => PlaybookError,
): PlaybookError[] {
  const out: PlaybookError[] = [];
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  for (const error of errors) {
    const path = [...base, ...pointerToPath(error.instancePath)];
    const where = describePath(path);
    // anyOf branches repeat themselves; the anyOf error with the schema's description says it once.
    if (error.keyword !== 'anyOf' && anyOfPaths.has(error.instancePath) && error.schemaPath.includes('/anyOf/')) continue;
    switch (error.keyword) {
      case 'additionalProperties': {
        const key = String((error.params as { additionalProperty: string }).additionalProperty);
        const known = Object.keys(((error.parentSchema as RawMap | undefined)?.properties as RawMap | undefined) ?? {});
        out.push(make(`Unknown key "${key}" in ${where}`, { ...locate([...path, key], 'key'), hint: didYouMean(key, known) }, key, error));
        break;
      }
      case 'required': {
        const key = String((error.params as { missingProperty: string }).missingProperty);
        out.push(make(`${where} is missing the required key "${key}"`, locate(path), undefined, error));
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
      case 'anyOf': {
        const description = (error.parentSchema as RawMap | undefined)?.description;
        out.push(make(`Expected ${where} to be ${typeof description === 'string' ? description : 'one of the allowed forms'}, got ${describeValue(error.data)}`, locate(path), undefined, error));
        break;
      }
      case 'propertyNames':
        break; // reported by the `pattern` error on the name itself
      case 'pattern': {
        if (error.propertyName !== undefined) {
          out.push(make(`Name "${error.propertyName}" in ${where} must match ${String((error.params as { pattern: string }).pattern)}`, locate([...path, error.propertyName], 'key'), undefined, error));
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
