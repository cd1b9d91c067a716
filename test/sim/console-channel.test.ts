// The in-process ConsoleChannel: the bytes of the sim process, Ctrl+C as interrupt(), and the
// sx fast mode on the real kernel model.
import { describe, expect, test } from 'vitest';
import { parsePoolfind } from '../../src/kd/poolfind.js';
import { parseStack } from '../../src/kd/stack.js';
import { createInProcessChannel } from '../../src/sim/in-process.js';
import { createKernel } from '../../src/sim/kernel/index.js';
import { scenarioForProfile } from '../../src/sim/scenario.js';
import { createStubKernel } from './stub-kernel.js';

// Collect a channel's output and wait for patterns in it.
function collect(channel: ReturnType<typeof createInProcessChannel>) {
  let output = '';
  const waiters: (() => void)[] = [];
  channel.onData((chunk) => {
    output += chunk;
    for (const waiter of [...waiters]) waiter();
  });
  return {
    output: () => output,
    waitFor: (pattern: RegExp, from = 0) => new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}: ${output.slice(-500)}`)), 15_000);
      const check = () => {
        const match = pattern.exec(output.slice(from));
        if (!match) return;
        clearTimeout(timer);
        waiters.splice(waiters.indexOf(check), 1);
        resolve(output.slice(from));
      };
      waiters.push(check);
      check();
    }),
  };
}

describe('in-process channel', () => {
  test('banner, commands, interrupt() breaks in, q ends with exit code 0', async () => {
    const channel = createInProcessChannel(createStubKernel('winxp-sp3-x86'), { timeScale: 10 });
    const io = collect(channel);
    await io.waitFor(/\nkd> $/);
    const exits: (number | null)[] = [];
    channel.onExit((exit) => exits.push(exit.code));
    let from = io.output().length;
    channel.write('g\n.echo after\n');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(io.output().length).toBe(from);
    channel.interrupt();
    const text = await io.waitFor(/after\nkd> $/, from);
    expect(text).toMatch(/^Break instruction exception - code 80000003 \(first chance\)\n\*{79}\n/);
    from = io.output().length;
    channel.write('db 0 L80000000\n');
    expect(await io.waitFor(/kd> $/, from)).toBe("    ^ Range error in 'db 0 L80000000'\nkd> ");
    channel.write('q\n');
    await io.waitFor(/quit:\n$/);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(exits).toEqual([0]);
  });

  test('sxe -c fast mode on the real kernel: one kb per PoolHitTag hit, kd continues by itself, then done', async () => {
    const scenario = scenarioForProfile('win10-22h2-x64');
    scenario.preloadMs = 5 * 60_000;
    const kernel = createKernel(scenario, { seed: 8 });
    const channel = createInProcessChannel(kernel, { poolfindMsPer1000Blocks: 0 });
    const io = collect(channel);
    await io.waitFor(/0: kd> $/);
    const from = io.output().length;
    channel.write(`ed nt!poolhittag ' cbA'\nr @$t0=0\nsxe -c "kb 20; j (@$t0 < 0n9) 'r @$t0=@$t0+1; g' ; '.echo done'" bpe\ng\n`);
    const text = await io.waitFor(/done\n0: kd> $/, from);
    const hits = text.split('Break instruction exception - code 80000003 (first chance)\n').slice(1);
    expect(hits).toHaveLength(10);
    for (const hit of hits) {
      const stack = parseStack(hit.slice(hit.indexOf(' # RetAddr')).replace(/done\n0: kd> $/, ''));
      expect(stack.frames.some((frame) => frame.function === 'ExAllocateHeapPool' || frame.function === 'ExFreeHeapPool')).toBe(true);
      expect(stack.frames.some((frame) => frame.module === 'abcflt')).toBe(true);
    }
    expect(kernel.currentStop()?.kind).toBe('pool-hit');
    await channel.end();
  });

  test('Ctrl+C during the slow !poolfind prints the hits so far and kd\'s terminating line', async () => {
    const scenario = scenarioForProfile('win7-sp1-x86');
    scenario.preloadMs = 10 * 60_000;
    const kernel = createKernel(scenario, { seed: 5 });
    const channel = createInProcessChannel(kernel, { poolfindMsPer1000Blocks: 100_000, poolfindMaxDelayMs: 1500 });
    const io = collect(channel);
    await io.waitFor(/\nkd> $/);
    const from = io.output().length;
    channel.write('!poolfind Abc 1\n');
    await new Promise((resolve) => setTimeout(resolve, 400));
    channel.interrupt();
    const text = await io.waitFor(/kd> $/, from);
    const parsed = parsePoolfind(text.replace(/kd> $/, ''));
    const total = [...kernel.outstanding('Abc ')].filter((allocation) => allocation.pool === 'paged').length;
    expect(parsed.complete).toBe(false);
    expect(parsed.stoppedAt).toBeDefined();
    expect(parsed.hits.length).toBeGreaterThan(0);
    expect(parsed.hits.length).toBeLessThan(total);
    expect(parsed.stoppedAt).toBe(parsed.hits[parsed.hits.length - 1].address);
    await channel.end();
  });
});
