/**
 * The scenario JSON Schema, read once from schemas/sim-scenario.schema.json (shipped with the
 * package), so the published file and the validator can never disagree.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Walk up from this module (src/sim or dist/src/sim) to the folder that holds schemas/.
function findSchemaFile(): string {
  let folder = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    const candidate = join(folder, 'schemas', 'sim-scenario.schema.json');
    if (existsSync(candidate)) return candidate;
    folder = dirname(folder);
  }
  throw new Error('schemas/sim-scenario.schema.json not found above ' + dirname(fileURLToPath(import.meta.url)));
}

const schema = JSON.parse(readFileSync(findSchemaFile(), 'utf8')) as Record<string, unknown>;

/** The scenario schema document (JSON Schema 2020-12). */
export default schema;
