/**
 * The target plugin: `target.reboot`. Reboots the target under the debugger, waits for kd to
 * reconnect, gathers facts again and proves that a reboot happened (the boot time moved on, or
 * the uptime went back). Needed on Windows 2000/XP after enabling pool tagging.
 */
import { definePlugin, defineProvider } from '../../src/core/plugin.js';
import type { StepContext } from '../../src/core/types.js';
import { targetClockMs } from '../pool/kd.js';
import { durationSchema, toMs } from '../pool/params.js';

/** `with` of target.reboot. */
export interface RebootParams {
  /** Reboot even when the facts show nothing waiting for a reboot. */
  force?: boolean;
  /** Reboot because an earlier step said so (e.g. `${{ steps.tagging.outputs.rebootRequired }}`). */
  required?: boolean;
  /** How long to wait for the reconnect (default 10m). */
  timeout?: string | number;
}

// Uptime of the running kernel, when kd shows it.
async function uptime(ctx: StepContext): Promise<number | undefined> {
  const clock = await targetClockMs(ctx);
  return clock.source === 'target' ? clock.ms : undefined;
}

/** target.reboot on every version that has `.reboot` (not local kd). */
export const reboot = defineProvider<RebootParams>({
  uses: 'target.reboot',
  id: 'dot-reboot',
  description: '`.reboot`, wait for the reconnect, gather facts again, prove the reboot by boot time or uptime.',
  with: {
    type: 'object',
    additionalProperties: false,
    properties: {
      force: { type: 'boolean', description: 'Reboot even if nothing asks for it (default false).' },
      required: { type: 'boolean', description: 'An earlier step asked for a reboot.' },
      timeout: { ...durationSchema, description: 'Wait at most this long for the reconnect (default 10m).' },
    },
  },
  outputs: {
    rebooted: { type: 'boolean', description: 'A reboot happened and was proven.' },
    proof: { type: 'string', description: 'How the reboot was proven.' },
    bootTimeMs: { type: ['integer', 'null'], description: 'Boot time after the reboot, when known.' },
    taggingEnabled: { type: 'boolean', description: 'Pool tagging in the new boot.' },
  },
  checkCommands: () => ['vertarget', '.reboot', '(wait for the reconnect)', 'vertarget'],
  async run(params, ctx) {
    const needed = params.force === true || params.required === true || ctx.facts.pool.taggingEnabled === false;
    if (!needed) return { status: 'skipped', reason: 'nothing asks for a reboot (use force: true to reboot anyway)', outputs: { rebooted: false, proof: '', bootTimeMs: null, taggingEnabled: ctx.facts.pool.taggingEnabled } };
    const bootBefore = ctx.facts.target.bootTimeMs;
    const uptimeBefore = await uptime(ctx);
    await ctx.session.resume('.reboot');
    const event = await ctx.session.waitForBreak({ timeoutMs: toMs(params.timeout, 600_000), signal: ctx.signal });
    if (event.kind !== 'reconnect' && event.kind !== 'break-in' && event.kind !== 'breakpoint') {
      ctx.fail('REBOOT_FAILED', `after .reboot the debugger reported "${event.kind}" instead of a reconnect`);
    }
    const facts = await ctx.refreshFacts();
    const uptimeAfter = await uptime(ctx);
    let proof: string | undefined;
    if (bootBefore !== undefined && facts.target.bootTimeMs !== undefined && facts.target.bootTimeMs > bootBefore) {
      proof = `boot time moved from ${new Date(bootBefore).toISOString()} to ${new Date(facts.target.bootTimeMs).toISOString()}`;
    } else if (uptimeBefore !== undefined && uptimeAfter !== undefined && uptimeAfter < uptimeBefore) {
      proof = `uptime went back from ${Math.round(uptimeBefore / 1000)} s to ${Math.round(uptimeAfter / 1000)} s`;
    }
    if (!proof) ctx.fail('REBOOT_UNPROVEN', 'the debugger reconnected but neither boot time nor uptime shows a reboot');
    return {
      status: 'changed',
      outputs: { rebooted: true, proof, bootTimeMs: facts.target.bootTimeMs ?? null, taggingEnabled: facts.pool.taggingEnabled },
      facts,
      summary: `rebooted: ${proof}; pool tagging ${facts.pool.taggingEnabled ? 'on' : 'off'}`,
    };
  },
});

export default definePlugin({
  name: 'target',
  version: '0.1.0',
  description: 'Reboot the target under the debugger and prove it.',
  errors: {
    REBOOT_FAILED: { description: 'After `.reboot` the debugger did not reconnect (it stopped or exited instead).', remedy: 'Check the kd connection survives a reboot (KDNET key and port, serial settings) and reconnect.' },
    REBOOT_UNPROVEN: { description: 'The debugger reconnected, but neither the boot time nor the uptime shows the target rebooted.', remedy: 'Reboot the target by hand and run again; a GlobalFlag change takes effect only after a real boot.' },
  },
  steps: [reboot],
});
