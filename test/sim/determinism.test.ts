// Same scenario, seed and commands → the same bytes, through the in-process channel that
// carries exactly what the `leakhunt sim` process prints.
import { describe, expect, test } from 'vitest';
import { createInProcessChannel } from '../../src/sim/in-process.js';
import { createKernel } from '../../src/sim/kernel/index.js';
import { scenarioForProfile } from '../../src/sim/scenario.js';

// Run a script of command lines; every line waits for the prompt before the next is sent.
async function transcript(profile: string, seed: number, lines: readonly string[]): Promise<string> {
  const scenario = scenarioForProfile(profile);
  scenario.preloadMs = 20 * 60_000;
  const channel = createInProcessChannel(createKernel(scenario, { seed }), { poolfindMsPer1000Blocks: 0 });
  let output = '';
  let waiting: (() => void) | undefined;
  channel.onData((chunk) => {
    output += chunk;
    if (/kd> $/.test(output)) waiting?.();
  });
  const prompt = () => new Promise<void>((resolve) => {
    if (/kd> $/.test(output)) resolve();
    else waiting = resolve;
  });
  await prompt();
  for (const line of lines) {
    output += '';
    const mark = output.length;
    channel.write(`${line}\n`);
    await new Promise<void>((resolve) => {
      waiting = () => {
        if (output.length > mark) resolve();
      };
      waiting();
    });
  }
  await channel.end();
  return output;
}

describe('determinism', () => {
  test.each([['win7-sp1-x86'], ['win10-22h2-x64']])('%s: two runs with the same seed and commands print the same bytes', async (profile) => {
    const script = ['.reload', '!poolused 4', "ed nt!poolhittag ' cbA'", 'g', 'kb', 'g', 'kn', 'r', 'eb abcflt!AbcAllocateContext+0x10 90', '!poolfind -tag "Abc " -paged', 'vertarget'];
    const first = await transcript(profile, 21, script);
    const second = await transcript(profile, 21, script);
    expect(first).toBe(second);
    expect(first.match(/Break instruction exception/g)?.length).toBeGreaterThanOrEqual(3);
    const other = await transcript(profile, 22, script);
    expect(other).not.toBe(first);
  });
});
