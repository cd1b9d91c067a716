/**
 * The one Ajv (JSON Schema 2020-12) setup of the engine: strict, every error at once,
 * compiled validators cached by schema object. Schemas the package ships (the playbook
 * envelope, the built-in plugins' `with`) are compiled at build time by
 * scripts/build-validators.mjs into dist/validators/; Ajv itself is loaded only for a schema
 * that has no generated validator, such as a `--plugins` folder's.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Ajv2020Module from 'ajv/dist/2020.js';
import type { ErrorObject, Options, ValidateFunction } from 'ajv';
import type { JsonSchema } from './types.js';

/** A strict 2020-12 validator factory with a compile cache. */
export interface SchemaCompiler {
  compile(schema: JsonSchema): ValidateFunction;
  /** Throw when the schema does not compile in strict mode (a generated validator passed that at build time). */
  check(schema: JsonSchema): void;
}

/** The options of every validator, generated at build time or compiled at run time. */
export const ajvOptions = { strict: true, allowUnionTypes: true, allErrors: true, verbose: true, useDefaults: false } as const satisfies Options;

const require = createRequire(import.meta.url);

// The Ajv 2020-12 class (the CommonJS module's `default` under NodeNext).
type Ajv2020 = InstanceType<typeof Ajv2020Module.default>;

/** A new strict Ajv with `ajvOptions` (plus `extra`, e.g. `{ code: { source: true } }` for the build), loaded on first use. */
export function createAjv(extra: Options = {}): Ajv2020 {
  // ajv ships CommonJS with a `default` export; required here so start-up never loads it unless needed.
  const module = require('ajv/dist/2020.js') as { default: typeof Ajv2020Module.default };
  return new module.default({ ...ajvOptions, ...extra });
}

/** The name of a schema's generated validator: a hash of the options and the schema's JSON. */
export function validatorKey(schema: JsonSchema): string {
  return createHash('sha256').update(JSON.stringify(ajvOptions)).update('\n').update(JSON.stringify(schema)).digest('hex').slice(0, 32);
}

/** The folder of build-time validators (dist/validators), or undefined when running from TypeScript sources. */
export function generatedValidatorsFolder(): string | undefined {
  // dist/src/core/ajv.js → dist/validators; the sources always compile with Ajv, so tests of them check every schema.
  const here = import.meta.url;
  return here.endsWith('.ts') ? undefined : fileURLToPath(new URL('../../validators/', here));
}

// The generated validator of a schema, if the build made one for exactly this schema.
function generatedValidator(folder: string | undefined, schema: JsonSchema): ValidateFunction | undefined {
  if (folder === undefined) return undefined;
  const file = join(folder, `${validatorKey(schema)}.cjs`);
  return existsSync(file) ? (require(file) as ValidateFunction) : undefined;
}

/** Create a strict, allErrors, verbose compiler whose validators are cached per schema object. */
export function createSchemaCompiler(): SchemaCompiler {
  const folder = generatedValidatorsFolder();
  let ajv: Ajv2020 | undefined;
  const cache = new WeakMap<object, ValidateFunction>();
  const compile = (schema: JsonSchema): ValidateFunction => {
    let validate = cache.get(schema);
    if (!validate) {
      validate = generatedValidator(folder, schema) ?? (ajv ??= createAjv()).compile(schema as Record<string, unknown>);
      cache.set(schema, validate);
    }
    return validate;
  };
  return {
    compile,
    check(schema) {
      if (cache.has(schema)) return;
      if (folder !== undefined && existsSync(join(folder, `${validatorKey(schema)}.cjs`))) return;
      compile(schema);
    },
  };
}

export type { ErrorObject, ValidateFunction };
