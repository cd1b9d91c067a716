/**
 * The playbook schema with every provider's `with` folded in, for editor completion and
 * checking (`leakhunt schema`).
 */
import { playbookSchema } from './load.js';
import type { Registry } from './registry.js';
import type { JsonSchema } from './types.js';

/** Build the combined schema: `uses` lists the step names; each name's `with` gets its providers' schemas. */
export function combinedSchema(registry: Registry): JsonSchema {
  const schema = structuredClone(playbookSchema()) as Record<string, any>;
  schema.$id = 'urn:leakhunt:schema:playbook-combined';
  const defs = schema.$defs as Record<string, any>;
  const step = defs.step as Record<string, any>;
  const names = registry.stepNames();
  if (names.length > 0) step.properties.uses = { ...step.properties.uses, enum: names };
  step.allOf = names.map((uses) => {
    const providers = registry.providersOf(uses);
    const variants = providers.map(({ plugin, provider }) => {
      const key = `with:${plugin}:${provider.id}`;
      // Its own $id keeps the provider schema's internal "#/…" references pointing into itself.
      defs[key] = { ...structuredClone(provider.with), $id: `urn:leakhunt:with:${plugin}:${provider.id}`, description: `${provider.description} (${plugin}/${provider.id}${provider.appliesTo?.os ? `, os ${provider.appliesTo.os}` : ''})` };
      return { $ref: `#/$defs/${encodeURIComponent(key).replace(/%3A/g, ':')}` };
    });
    return {
      if: { properties: { uses: { const: uses } }, required: ['uses'] },
      then: { properties: { with: variants.length === 1 ? variants[0] : { anyOf: variants } } },
    };
  });
  if (step.allOf.length === 0) delete step.allOf;
  return schema;
}
