/**
 * The one Ajv (JSON Schema 2020-12) setup of the engine: strict, every error at once,
 * compiled validators cached by schema object.
 */
import Ajv2020Module from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { JsonSchema } from './types.js';

// ajv ships CommonJS with a `default` export; under NodeNext the class sits on `.default`.
const Ajv2020 = ((Ajv2020Module as unknown as { default?: unknown }).default ?? Ajv2020Module) as typeof Ajv2020Module.default;

/** A strict 2020-12 validator factory with a compile cache. */
export interface SchemaCompiler {
  compile(schema: JsonSchema): ValidateFunction;
}

/** Create a strict, allErrors, verbose Ajv whose compiled validators are cached per schema object. */
export function createSchemaCompiler(): SchemaCompiler {
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true, verbose: true, useDefaults: false });
  const cache = new WeakMap<object, ValidateFunction>();
  return {
    compile(schema) {
      let validate = cache.get(schema);
      if (!validate) {
        validate = ajv.compile(schema as Record<string, unknown>);
        cache.set(schema, validate);
      }
      return validate;
    },
  };
}

export type { ErrorObject, ValidateFunction };
