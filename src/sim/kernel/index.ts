/**
 * The simulated Windows kernel behind the kd console: `createKernel(scenario)` returns a
 * `SimKernel` (src/sim/kernel-api.ts).
 *
 * @see docs/scenarios.md
 */
import type { SimKernel } from '../kernel-api.js';
import type { Scenario } from '../scenario.js';
import { SimulatedKernel } from './kernel.js';
import type { KernelOptions } from './kernel.js';

export { SimulatedKernel, badPoolCaller, defaultTrackCap, poolTaggingFlag } from './kernel.js';
export type { KernelOptions } from './kernel.js';
export { defaultPoolHitTag } from './plan.js';
export { tagString, tagValue } from './code.js';

/** Boot a simulated kernel for a scenario and run its preload; `seed` overrides the scenario's. */
export function createKernel(scenario: Scenario, options: KernelOptions = {}): SimKernel {
  return new SimulatedKernel(scenario, options);
}
