/**
 * A reporter that prints nothing (embedding, tests that read results instead).
 */
import type { Reporter } from '../events.js';

/** A reporter that observes nothing. */
export function createSilentReporter(): Reporter {
  return { name: 'silent' };
}
