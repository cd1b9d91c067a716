/**
 * A small YAML file checked against a JSON Schema (the project configuration, a lab inventory):
 * parsed with positions, validated strictly, every problem as a coded error with its
 * file:line:col and code frame (lines with a connection key redacted).
 */
import { LineCounter, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import { createSchemaCompiler } from './ajv.js';
import { errYamlSyntax, type ErrorDetails, type PlaybookError } from './errors.js';
import { indexSource, nodeAtPath, pairOf, pointAt, startOf, type SourceText } from './locate.js';
import { mapSchemaErrors } from './schema-errors.js';
import type { JsonSchema } from './types.js';

/** A parsed, schema-checked YAML file: its data when valid, and how to point into it. */
export interface YamlFile {
  raw?: unknown;
  errors: PlaybookError[];
  doc: Document;
  source: SourceText;
  /** Location and frame of the value (or key) at a path, for checks the schema cannot make. */
  locate(path: readonly (string | number)[], which?: 'value' | 'key'): ErrorDetails;
}

/**
 * Parse `text` (shown as `shown` in positions) and check it against `schema`; schema problems
 * become errors made by `make`, their messages naming the document `root`.
 */
export function readYamlFile(shown: string, text: string, schema: JsonSchema, root: string, make: (message: string, details: ErrorDetails) => PlaybookError): YamlFile {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const source = indexSource(shown, text, lines);
  const locate = (path: readonly (string | number)[], which?: 'value' | 'key'): ErrorDetails => {
    const node = which === 'key' && path.length > 0 ? pairOf(nodeAtPath(doc.contents, path.slice(0, -1)), String(path.at(-1)))?.key : nodeAtPath(doc.contents, path);
    return pointAt(source, startOf((node ?? doc.contents) as Parameters<typeof startOf>[0]));
  };
  if (doc.errors.length > 0) return { errors: doc.errors.map((error) => errYamlSyntax(error.message.split('\n')[0]!, pointAt(source, error.pos[0]))), doc, source, locate };
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 }) ?? {};
  } catch (error) {
    return { errors: [errYamlSyntax(`Cannot expand aliases: ${(error as Error).message}`, pointAt(source, 0))], doc, source, locate };
  }
  const validate = createSchemaCompiler().compile(schema);
  if (!validate(raw)) return { errors: mapSchemaErrors(validate.errors ?? [], locate, [], (message, details) => make(message, details), root), doc, source, locate };
  return { raw, errors: [], doc, source, locate };
}
