/**
 * Placeholder until the kd layer lands: opens a target from its spec.
 * Specs: `sim:<scenario.yaml|profile>` (default), `kd:<args>`, `process:<command line>`, `replay:<transcript.jsonl>`.
 */
import type { ConnectOptions, ConnectedTarget } from '../core/types.js';

/** Open a target from its spec. */
export async function connectTarget(spec: string, _options: ConnectOptions): Promise<ConnectedTarget> {
  throw new Error(`target connection is not implemented yet (spec ${spec})`);
}
