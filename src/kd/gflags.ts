/**
 * GFlags' own report (`gflags /r`, `gflags /k` run on the target): the same grammar as
 * `!gflag` (see gflag.ts), but GFlags always prints the value, so a missing one is an error.
 */
import { KdParseError } from './common.js';
import { parseGflag, type GflagResult } from './gflag.js';

/** A GFlags report whose value line was present. */
export interface GflagsResult extends GflagResult {
  value: number;
}

/** Parse `gflags /r` / `gflags /k` output. Throws KdParseError when no `Current … Settings are:` value is in it. */
export function parseGflags(text: string): GflagsResult {
  const parsed = parseGflag(text);
  if (parsed.value === undefined) {
    throw new KdParseError('gflags', 'GFlags output without a "Current … Settings are: <hex>" line');
  }
  return parsed as GflagsResult;
}
