// memory.restore (the playbooks' always: cleanup) also clears breakpoints a step set and could
// not clear itself — a breakpoint is an int 3 in the target's code while the target runs.
import { afterEach, expect, test } from 'vitest';
import { restore } from '../../plugins/memory/index.js';
import { pendingBreakpoints, planBreakpoint } from '../../plugins/pool/breakpoints.js';
import { defineProvider } from '../../src/core/plugin.js';
import { openBench, type Bench } from './harness.js';

let bench: Bench | undefined;
afterEach(async () => {
  await bench?.close();
  bench = undefined;
});

// A step that sets a breakpoint at nt's allocator and dies before clearing it.
const diesWithBreakpoint = defineProvider<Record<string, never>>({
  uses: 'test.dies-with-breakpoint',
  id: 'test',
  description: 'sets a breakpoint, then fails',
  with: { type: 'object', additionalProperties: false },
  outputs: {},
  async run(_params, ctx) {
    const address = (await ctx.session.execute('? nt!ExAllocatePoolWithTag')).output.match(/= ([0-9a-f`]+)/)?.[1]?.replace('`', '');
    const { text } = planBreakpoint(ctx, address!, 'r eax; g', 'test breakpoint');
    await ctx.session.execute(text);
    return ctx.fail('TEST_DIED', 'died with a breakpoint set');
  },
});

test('a breakpoint left by a failed step is cleared by memory.restore, and kd lists none afterwards', async () => {
  bench = await openBench({ profile: 'winxp-sp3-x86', taggingOn: true });
  await expect(bench.run(diesWithBreakpoint, {}, { id: 'dies' })).rejects.toThrow(/died with a breakpoint set/);
  expect(pendingBreakpoints(bench)).toHaveLength(1);
  expect((await bench.session.execute('bl')).output).toMatch(/^\s*0 e/m);

  const outcome = await bench.run(restore, {}, { id: 'restore' });
  expect(outcome).toMatchObject({ status: 'changed', outputs: { breakpointsCleared: 1, restored: 0 } });
  expect(pendingBreakpoints(bench)).toEqual([]);
  expect((await bench.session.execute('bl')).output).toBe('');
});

test('with nothing set and nothing written, memory.restore changes nothing', async () => {
  bench = await openBench({ profile: 'win11-24h2-x64', taggingOn: true });
  const outcome = await bench.run(restore, {}, { id: 'restore' });
  expect(outcome).toMatchObject({ status: 'ok', outputs: { breakpointsCleared: 0, restored: 0 } });
});
