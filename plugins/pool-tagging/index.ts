/**
 * The pool-tagging plugin: `pool-tagging.enable`. On Windows 2000 and XP per-tag accounting
 * (and so `!poolused` and PoolHitTag) needs GlobalFlag 0x400 (`ptg`) in the registry at boot,
 * which GFlags sets on the target itself; from Server 2003 on it is always on.
 */
import { definePlugin, defineProvider } from '../../src/core/plugin.js';
import { parseGflags } from '../../src/kd/global-flags.js';

/** GlobalFlag bit of "Enable pool tagging". */
export const FLG_POOL_ENABLE_TAGGING = 0x400;

/** What the operator does by hand when leakhunt cannot reach the target's command line. */
export const GFLAGS_STEPS = [
  'On the target machine (Windows 2000/XP), enable pool tagging with GFlags:',
  '  1. Start GFlags (gflags.exe, in Debugging Tools for Windows).',
  '  2. Choose the System Registry tab.',
  '  3. Check "Enable Pool Tagging", then click Apply.',
  '  (or run: gflags /r +ptg)',
  'Then restart Windows: the setting takes effect at the next boot.',
].join('\n');

/** `with` of pool-tagging.enable. */
export interface EnableParams {
  /** Do not ask on a TTY; fail with the GFlags steps when there is no host channel. */
  noPrompt?: boolean;
}

const outputs = {
  enabled: { type: 'boolean', description: 'Tagging is on in the running kernel.' },
  rebootRequired: { type: 'boolean', description: 'The registry now enables tagging but the running kernel does not: reboot.' },
  method: { type: 'string', description: '`always-on`, `already-on`, `host-channel` or `operator`.' },
} as const;

/** Windows 2000 and XP: set `ptg` in the registry through the host channel, or ask the operator. */
export const enableGflags = defineProvider<EnableParams>({
  uses: 'pool-tagging.enable',
  id: 'gflags-registry',
  description: 'Windows 2000/XP: `gflags /r +ptg` on the target (host channel) or the GFlags steps for the operator; a reboot follows.',
  appliesTo: { os: '<5.2.0' },
  with: {
    type: 'object',
    additionalProperties: false,
    properties: { noPrompt: { type: 'boolean', description: 'Never ask on a TTY (default false).' } },
  },
  outputs,
  checkCommands(_params, ctx) {
    return ctx.facts.pool.taggingEnabled ? [] : [ctx.facts.target.hostChannel ? `(host) gflags /r +ptg` : '(operator) GFlags: System Registry → Enable Pool Tagging → Apply'];
  },
  async run(params, ctx) {
    if (ctx.facts.pool.taggingEnabled) {
      return { status: 'ok', outputs: { enabled: true, rebootRequired: false, method: 'already-on' }, summary: 'pool tagging is already on in this boot' };
    }
    if (ctx.host) {
      const before = await ctx.host('gflags /r');
      const current = before.exitCode === 0 ? parseGflags(before.stdout) : undefined;
      if (current && (current.value & FLG_POOL_ENABLE_TAGGING) !== 0) {
        return { status: 'ok', outputs: { enabled: false, rebootRequired: true, method: 'host-channel' }, summary: 'the registry already enables pool tagging; reboot to apply it' };
      }
      const reply = await ctx.host('gflags /r +ptg');
      if (reply.exitCode !== 0) {
        ctx.fail('GFLAGS_FAILED', `"gflags /r +ptg" on the target exited with ${reply.exitCode}: ${(reply.stderr || reply.stdout).trim()}`, { hint: GFLAGS_STEPS });
      }
      const after = parseGflags(reply.stdout);
      if ((after.value & FLG_POOL_ENABLE_TAGGING) === 0) {
        ctx.fail('GFLAGS_NOT_SET', `"gflags /r +ptg" left the registry flags at 0x${after.value.toString(16)} (no ptg)`, { hint: GFLAGS_STEPS });
      }
      return { status: 'changed', outputs: { enabled: false, rebootRequired: true, method: 'host-channel' }, summary: `registry GlobalFlag now 0x${after.value.toString(16)} (ptg); reboot required` };
    }
    if (ctx.confirm && !params.noPrompt) {
      const done = await ctx.confirm(`${GFLAGS_STEPS}\nHave you enabled pool tagging on the target?`);
      if (!done) ctx.fail('TAGGING_NOT_ENABLED', 'pool tagging was not enabled on the target', { hint: GFLAGS_STEPS });
      return { status: 'changed', outputs: { enabled: false, rebootRequired: true, method: 'operator' }, summary: 'the operator enabled pool tagging; reboot required' };
    }
    return ctx.fail('TAGGING_OFF', `pool tagging is off on this Windows ${ctx.facts.os.alias} target and leakhunt has no host channel to enable it.\n${GFLAGS_STEPS}`, {
      hint: 'give the target a host channel (a command template such as `winrs -r:HOST {cmd}`) or enable it by hand and reboot',
    });
  },
});

/** Server 2003 and later: tagging is always on; nothing to do. */
export const enableAlwaysOn = defineProvider<EnableParams>({
  uses: 'pool-tagging.enable',
  id: 'always-on',
  description: 'Server 2003 and later: pool tagging is always enabled; confirms it and reports ok.',
  appliesTo: { os: '>=5.2.0' },
  with: enableGflags.with,
  outputs,
  checkCommands: () => [],
  async run(_params, ctx) {
    if (!ctx.facts.pool.taggingEnabled) ctx.log.warn('facts say tagging is off, which this version does not allow; continuing');
    return { status: 'ok', outputs: { enabled: true, rebootRequired: false, method: 'always-on' }, summary: 'always enabled on this version' };
  },
});

export default definePlugin({
  name: 'pool-tagging',
  version: '0.1.0',
  description: 'Turn on per-tag pool accounting (Windows 2000/XP need GFlags and a reboot).',
  errors: {
    GFLAGS_FAILED: { description: '`gflags /r +ptg` run through the host channel exited with an error.', remedy: 'Run it on the target by hand as an administrator and read its message; check the host channel (winrs) works.' },
    GFLAGS_NOT_SET: { description: '`gflags /r +ptg` ran but the registry flags still lack ptg (0x400).', remedy: 'Run gflags on the target as an administrator, or set HKLM\\SYSTEM\\CurrentControlSet\\Control\\Session Manager GlobalFlag by hand.' },
    TAGGING_NOT_ENABLED: { description: 'The operator answered no when asked to enable pool tagging with GFlags.', remedy: 'Enable pool tagging as the message describes (GFlags, System Registry, Enable Pool Tagging), then run again.' },
    TAGGING_OFF: { description: 'Pool tagging is off (Windows 2000/XP) and there is neither a host channel nor a terminal to ask on.', remedy: 'Enable it with GFlags on the target and reboot, or run leakhunt on a TTY, or give the target a host channel.' },
  },
  steps: [enableGflags, enableAlwaysOn],
});
