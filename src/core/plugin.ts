/**
 * The identity helper plugin authors wrap their plugin object in, for type inference.
 *
 * @see ../../docs/plugins.md
 */
import type { Plugin, StepProvider } from './types.js';

/** Declare a plugin: returns its argument unchanged, typed as a Plugin. */
export function definePlugin<const P extends Plugin>(plugin: P): P {
  return plugin;
}

/** Declare one step provider with its params type, for type inference inside `run`. */
export function defineProvider<Params = Record<string, unknown>>(provider: StepProvider<Params>): StepProvider<Params> {
  return provider;
}
