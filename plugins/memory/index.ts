/**
 * The memory plugin: undo every write a run made to target memory (PoolHitTag, patched code),
 * newest first, and clear any breakpoint a step set and could not clear (a breakpoint is an
 * int 3 in the target's code while it runs). Meant for a playbook's `always:` so no exit path
 * leaves the target patched.
 */
import { definePlugin, defineProvider } from '../../src/core/plugin.js';
import { clearPendingBreakpoints } from '../pool/breakpoints.js';
import { pendingWrites, restoreWrites } from '../pool/undo.js';

/** `with` of memory.restore. */
export interface RestoreParams {
  /** Restore only writes whose purpose starts with this text (`PoolHitTag`, `retag site`). */
  purpose?: string;
}

/** memory.restore on every version: replays the undo log backwards. */
export const restore = defineProvider<RestoreParams>({
  uses: 'memory.restore',
  id: 'undo-log',
  description: 'Restore every byte this run wrote to target memory (undo log, newest first).',
  with: {
    type: 'object',
    additionalProperties: false,
    properties: {
      purpose: { type: 'string', minLength: 1, maxLength: 200, description: 'Only writes whose purpose starts with this (default: all).' },
    },
  },
  outputs: {
    restored: { type: 'integer', description: 'Writes undone.' },
    records: { type: 'array', description: 'The undone writes: address, original, written, purpose, step.' },
    remaining: { type: 'integer', description: 'Writes still pending afterwards (0 unless filtered).' },
    breakpointsCleared: { type: 'integer', description: 'Breakpoints of this run that were still set and are now cleared.' },
  },
  checkCommands(params) {
    return [`(restore pending writes${params.purpose ? ` for "${params.purpose}"` : ''} with eb, newest first)`];
  },
  async run(params, ctx) {
    // Breakpoints first: kd must not stop at a patched site's return address while bytes go back.
    if (ctx.session.running) await ctx.session.breakIn({ timeoutMs: 10_000 });
    const breakpointsCleared = (await clearPendingBreakpoints(ctx)).length;
    const pending = pendingWrites(ctx, params.purpose);
    const cleared = breakpointsCleared > 0 ? `cleared ${breakpointsCleared} breakpoint(s); ` : '';
    if (pending.length === 0) {
      return { status: breakpointsCleared > 0 ? 'changed' : 'ok', outputs: { restored: 0, records: [], remaining: pendingWrites(ctx).length, breakpointsCleared }, summary: `${cleared}nothing to restore` };
    }
    const restored = await restoreWrites(pending);
    return {
      status: 'changed',
      outputs: { restored: restored.length, records: restored, remaining: pendingWrites(ctx).length, breakpointsCleared },
      summary: `${cleared}restored ${restored.length} write(s): ${[...new Set(restored.map((r) => r.purpose))].join(', ')}`,
    };
  },
});

export default definePlugin({
  name: 'memory',
  version: '0.1.0',
  description: 'Undo this run\'s writes to target memory.',
  steps: [restore],
});
