// pool.collect-stacks in per-hit mode: one go per stack (setup on the go's line, cleanup by the
// last stop's own event command), every allocation's block read from its site breakpoint and
// equal to the kernel's, frees paired with allocations, and nothing left set in kd afterwards.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { pendingBreakpoints } from '../../plugins/pool/breakpoints.js';
import { collectStacksClassic, collectStacksSegmentHeap } from '../../plugins/pool/collect-stacks.js';
import { hitTag } from '../../plugins/pool/hit-tag.js';
import { readGoEvents, readGoOutput, type GoEvent } from '../../plugins/pool/kd.js';
import { StopKinds, runOnCommand } from '../../plugins/pool/run-on.js';
import { familyProfiles, leakingSites, openBench, type Bench } from './harness.js';

let bench: Bench | undefined;
afterEach(async () => {
  await bench?.close();
  bench = undefined;
});

// Count the exchanges the step starts (commands and go lines), as bench/round-trips.mjs does.
function countExchanges(target: Bench): { sent: string[] } {
  const sent: string[] = [];
  const session = target.session;
  const execute = session.execute.bind(session);
  const resume = session.resume.bind(session);
  session.execute = (command, options) => {
    sent.push(command);
    return execute(command, options);
  };
  session.resume = (command, options) => {
    sent.push([...(options?.before ?? []), command ?? 'g'].join('; '));
    return resume(command, options);
  };
  return { sent };
}

describe.each(familyProfiles)('per-hit on %s', (profile) => {
  test('one exchange per stack; blocks match the kernel; frees pair; no breakpoint or event command left', async () => {
    bench = await openBench({ profile, taggingOn: true });
    const [site] = leakingSites(bench.scenario);
    await bench.run(hitTag, { action: 'set', tag: site!.tag }, { id: 'hit-tag' });
    // Every block the kernel hands out for the tag, by address, to check the addresses read.
    const allocated = new Set<string>();
    const kernel = bench.kernel;
    const run = kernel.run.bind(kernel);
    kernel.run = (maxMs) => {
      const stop = run(maxMs);
      if (stop.kind === 'pool-hit' && stop.operation === 'alloc') allocated.add(stop.allocation.address.toString(16));
      return stop;
    };
    const { sent } = countExchanges(bench);
    const collector = bench.facts.pool.allocator === 'segment-heap' ? collectStacksSegmentHeap : collectStacksClassic;
    const collected = await bench.run(collector, { tag: site!.tag, count: 30, timeout: '30s', mode: 'per-hit' }, { id: 'collect' });
    const out = collected.outputs as { stacks: number; hits: number; stoppedBy: string; method: string; sites: { kind: string; function?: string; addressed: number; allocs: number; freesOf?: Record<string, number> }[] };
    expect(out.stoppedBy).toBe('count');
    expect(out.method).toBe('pairing');
    // One go per hit: cleanup rides on the last stop of `count`; a pairing phase after it (frees
    // only, allocations passed over) ends at a stop nobody could foresee and pays one `bc`/`sxe`.
    // Besides, `vertarget` reads the target clock at the start, at `count` and after the watch.
    const clockReads = sent.filter((line) => line === 'vertarget').length;
    expect(clockReads).toBeLessThanOrEqual(3);
    if (out.hits === out.stacks) expect(sent.length - clockReads).toBeLessThanOrEqual(out.stacks);
    else expect(sent.length - clockReads).toBeLessThanOrEqual(out.hits + 1);
    expect(sent.filter((line) => /(^|; )(gu|r [er]ax|kb)$/.test(line))).toEqual([]);
    const lines = readFileSync(join(bench.files.dir, 'stacks.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { operation: string; address: string | null; site: string; paired?: boolean });
    expect(lines).toHaveLength(out.stacks);
    const allocs = lines.filter((line) => line.operation === 'alloc');
    // Every allocation but possibly the last (its block would come with a go after the collection) has its block.
    expect(allocs.slice(0, -1).every((line) => line.address !== null && allocated.has(line.address))).toBe(true);
    expect(allocs.filter((line) => line.address === null).length).toBeLessThanOrEqual(1);
    expect(lines.filter((line) => line.operation === 'free').some((line) => line.paired)).toBe(true);
    const freeSites = out.sites.filter((s) => s.kind === 'free');
    expect(freeSites.every((s) => s.freesOf !== undefined && Object.keys(s.freesOf).some((frame) => frame.includes(site!.function)))).toBe(true);
    // kd is left as it was found.
    expect(pendingBreakpoints(bench)).toEqual([]);
    expect((await bench.session.execute('bl')).output).toBe('');
    expect((await bench.session.execute('sx')).output).not.toMatch(/Command:/);
    const logged = readFileSync(join(bench.files.dir, 'breakpoints.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { event: string; id: number });
    expect(logged.filter((entry) => entry.event === 'set').map((entry) => entry.id).sort()).toEqual(logged.filter((entry) => entry.event === 'cleared').map((entry) => entry.id).sort());
    await bench.run(hitTag, { action: 'clear' });
  });
});

describe('per-hit exit paths', () => {
  test('a timeout before count clears the breakpoints and the event command (target halted again)', async () => {
    bench = await openBench({ profile: 'winxp-sp3-x86', taggingOn: true });
    await bench.run(hitTag, { action: 'set', tag: 'Abc' }, { id: 'hit-tag' });
    // The timeout is a run limit, kept by the simulator in target time: 10 ms at the bench's time
    // scale of 1000 is 10 target seconds, far too few hits for the count, whatever the host's speed.
    const collected = await bench.run(collectStacksClassic, { tag: 'Abc', count: 100000, timeout: '10ms', mode: 'per-hit' }, { id: 'collect' });
    expect((collected.outputs as { stoppedBy: string }).stoppedBy).toBe('timeout');
    expect(bench.session.running).toBe(false);
    expect(pendingBreakpoints(bench)).toEqual([]);
    expect((await bench.session.execute('bl')).output).toBe('');
    expect((await bench.session.execute('sx')).output).not.toMatch(/Command:/);
    await bench.run(hitTag, { action: 'clear' });
  });

  test('addresses: false sets no breakpoint and costs at most one go per stack', async () => {
    bench = await openBench({ profile: 'win10-22h2-x64', taggingOn: true });
    await bench.run(hitTag, { action: 'set', tag: 'Abc' }, { id: 'hit-tag' });
    const { sent } = countExchanges(bench);
    const collected = await bench.run(collectStacksSegmentHeap, { tag: 'Abc', count: 10, timeout: '20s', mode: 'per-hit', addresses: false }, { id: 'collect' });
    expect((collected.outputs as { stacks: number }).stacks).toBe(10);
    // At most one go per stack (kd runs on past frees by itself), and the target clock read at the start and at `count`.
    expect(sent.filter((line) => line !== 'vertarget').length).toBeLessThanOrEqual(10);
    expect(sent.filter((line) => line === 'vertarget')).toHaveLength(2);
    expect(sent.some((line) => /\bbp\d/.test(line))).toBe(false);
    expect((collected.outputs as { method: string }).method).toBe('counts');
  });
});

describe('readGoOutput', () => {
  test('breakpoint hits with their registers, then the PoolHitTag stop with its stack', () => {
    const text = [
      'Breakpoint 0 hit',
      'eax=e1712b48',
      'Breakpoint 1 hit',
      'rax=ffff910802dcb710',
      'Break instruction exception - code 80000003 (first chance)',
      'nt!DbgBreakPoint:',
      '804d8000 cc              int     3',
      'ChildEBP RetAddr  Args to Child',
      'f78bff14 804d933b 82280000 8231e370 00000001 nt!DbgBreakPoint',
    ].join('\n');
    const parsed = readGoOutput(text);
    expect(parsed.hits).toEqual([{ id: 0, registers: { eax: 'e1712b48' } }, { id: 1, registers: { rax: 'ffff910802dcb710' } }]);
    expect(parsed.stop?.split('\n')[0]).toBe('Break instruction exception - code 80000003 (first chance)');
    expect(parsed.stop?.split('\n')).toHaveLength(5);
  });
});

describe('readGoEvents', () => {
  test('stops an event command continued from, each with its stack and location, in order with the breakpoint hits between them', () => {
    const stop = (retAddr: string, caller: string) => [
      'Break instruction exception - code 80000003 (first chance)',
      'nt!DbgBreakPoint:',
      '804d8000 cc              int     3',
      'ChildEBP RetAddr  Args to Child',
      `f78bff14 ${retAddr} 82280000 8231e370 00000001 nt!DbgBreakPoint`,
      `f78bff30 f7a0101a 00000001 000003a4 20636241 ${caller}`,
    ];
    const text = [...stop('804d933b', 'nt!ExpInsertPoolTracker+0x6e'), 'Breakpoint 0 hit', 'eax=e1712b48', ...stop('804d9a1c', 'nt!ExpRemovePoolTracker+0x5b')].join('\n');
    const events = readGoEvents(text);
    expect(events.map((event) => event.kind)).toEqual(['stop', 'hit', 'stop']);
    const [first, hit, second] = events as [Extract<GoEvent, { kind: 'stop' }>, Extract<GoEvent, { kind: 'hit' }>, Extract<GoEvent, { kind: 'stop' }>];
    expect(first.text.split('\n')).toHaveLength(6);
    expect(first.text).toContain('ExpInsertPoolTracker');
    expect(first.address).toBe('804d8000');
    expect(hit).toEqual({ kind: 'hit', id: 0, registers: { eax: 'e1712b48' } });
    expect(second.text).toContain('ExpRemovePoolTracker');
    expect(second.text).not.toContain('Breakpoint 0 hit');
  });
});

describe('StopKinds', () => {
  test('a pair seen only at one operation is named in its condition; a pair seen at both never is; 32-bit sides are cut to 32 bits', () => {
    const kinds = new StopKinds();
    kinds.learn('804d8000', '804d933b', 'alloc');
    kinds.learn('804d8000', '804d9a1c', 'free');
    kinds.learn('804d8000', '804d933b', 'alloc');
    kinds.learn('804d9100', '804d9200', 'alloc');
    kinds.learn('804d9100', '804d9200', 'free');
    kinds.learn(undefined, '804d9300', 'alloc');
    expect(kinds.condition(4, (pair) => pair.operation === 'alloc')).toBe("(((@$ip & 0x0`ffffffff) == 0x0`804d8000) & ((@$ra & 0x0`ffffffff) == 0x0`804d933b))");
    expect(kinds.condition(8, (pair) => pair.operation === 'free')).toBe('((@$ip == 0x804d8000) & (@$ra == 0x804d9a1c))');
    expect(kinds.condition(8, () => true)).toBe('((@$ip == 0x804d8000) & ((@$ra == 0x804d933b) | (@$ra == 0x804d9a1c)))');
    expect(new StopKinds().condition(4, () => true)).toBeUndefined();
    expect(runOnCommand('C')).toBe(`sxe -c "r @$t1=@$t1-1; kb; j ((@$t1 > 0) & C) 'g' ; ''" bpe`);
  });
});

// kd runs on by itself past the stops the collection need not halt at (plugins/pool/run-on.ts):
// the same stacks as halting at every stop, for fewer exchanges. The watch for frees after
// `count` used to cost a go for every allocation it passed over as well as for each free.
describe.each(['winxp-sp3-x86', 'win7-sp1-x86', 'win7-sp1-x64', 'win10-22h2-x64'] as const)('running on past stops on %s', (profile) => {
  // One collection of 30 stacks on a fresh simulator of the profile (the same seed each time).
  async function collect(runOn: boolean) {
    const target = await openBench({ profile, taggingOn: true });
    try {
      const [site] = leakingSites(target.scenario);
      await target.run(hitTag, { action: 'set', tag: site!.tag }, { id: 'hit-tag' });
      const { sent } = countExchanges(target);
      const collector = target.facts.pool.allocator === 'segment-heap' ? collectStacksSegmentHeap : collectStacksClassic;
      const collected = await target.run(collector, { tag: site!.tag, count: 30, timeout: '30s', mode: 'per-hit', runOn }, { id: 'collect' });
      const lines = readFileSync(join(target.files.dir, 'stacks.jsonl'), 'utf8').trim().split('\n').map((line) => {
        const { atMs: _host, ...rest } = JSON.parse(line) as Record<string, unknown>;
        return rest;
      });
      const left = { breakpoints: (await target.session.execute('bl')).output, events: (await target.session.execute('sx')).output };
      const sites = readFileSync(join(target.files.dir, 'breakpoints.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { event: string; address?: string }).flatMap((entry) => (entry.event === 'set' ? [entry.address!] : []));
      await target.run(hitTag, { action: 'clear' });
      return { sent: sent.filter((line) => line !== 'vertarget'), outputs: collected.outputs as { hits: number; watchEnded?: string }, lines, left, sites };
    } finally {
      await target.close();
    }
  }

  test('the same stacks as halting at every stop; the watch costs a go per free it records, not per allocation it passes over', async () => {
    const halting = await collect(false);
    const running = await collect(true);
    expect(running.lines).toEqual(halting.lines);
    expect(running.outputs.hits).toBe(halting.outputs.hits);
    expect(running.outputs.watchEnded).toBe(halting.outputs.watchEnded);
    // There was a watch, and allocations stopped in it: halting pays more gos than stacks.
    expect(halting.outputs.watchEnded).toBeDefined();
    expect(halting.sent.length).toBeGreaterThan(halting.lines.length);
    expect(running.sent.length).toBeLessThanOrEqual(running.lines.length);
    expect(running.sent.some((line) => line.includes("'g' ; ''") && /r @\$t1=0n\d+; g$/.test(line))).toBe(true);
    // Where the break is inline in the allocation function, @$ra of an allocation stop is its
    // site's return address: allocations at an armed site are run past before `count` too.
    const runPastSites = running.sites.filter((address) => running.sent.some((line) => line.includes("'g' ; ''") && [`== 0x0\`${address})`, `(@$ra == 0x${address})`].some((term) => line.includes(term))));
    if (profile === 'win7-sp1-x86') expect(runPastSites.length).toBeGreaterThan(0);
    else expect(runPastSites).toEqual([]);
    // Nothing of ours left in kd.
    expect(running.left.breakpoints).toBe('');
    expect(running.left.events).not.toMatch(/Command:/);
  });
});

describe('running on past stops: exit paths', () => {
  test('Ctrl+C while kd runs on past allocations in the watch: the target halted, no breakpoint or event command left, PoolHitTag restored', async () => {
    bench = await openBench({ profile: 'winxp-sp3-x86', taggingOn: true });
    const original = bench.kernel.poolHitTag();
    await bench.run(hitTag, { action: 'set', tag: 'Abc' }, { id: 'hit-tag' });
    // The watch begins after the second clock read (`vertarget` at `count`); the abort comes at
    // an allocation stop after that, one kd runs past by itself (its stop location is known by then).
    let clockReads = 0;
    const { sent } = countExchanges(bench);
    const execute = bench.session.execute.bind(bench.session);
    bench.session.execute = (command, options) => {
      if (command === 'vertarget') clockReads++;
      return execute(command, options);
    };
    const controller = new AbortController();
    let abortedRunningOn = false;
    const kernel = bench.kernel;
    const run = kernel.run.bind(kernel);
    kernel.run = (maxMs) => {
      const stop = run(maxMs);
      if (stop.kind === 'pool-hit' && stop.operation === 'alloc' && clockReads >= 2 && !controller.signal.aborted) {
        abortedRunningOn = true;
        controller.abort(new Error('Ctrl+C'));
      }
      return stop;
    };
    await expect(bench.run(collectStacksClassic, { tag: 'Abc', count: 30, timeout: '30s', mode: 'per-hit' }, { id: 'collect', signal: controller.signal })).rejects.toThrow();
    expect(abortedRunningOn).toBe(true);
    // The go the abort came in let kd run on past allocations (the event command counting down was in force).
    const lastGo = sent.filter((line) => line.endsWith('g')).at(-1)!;
    expect(lastGo).toMatch(/r @\$t1=0n\d+; g$/);
    expect(sent.filter((line) => line.includes("'g' ; ''")).length).toBeGreaterThan(0);
    kernel.run = run;
    expect(bench.session.running).toBe(false);
    expect(pendingBreakpoints(bench)).toEqual([]);
    expect((await bench.session.execute('bl')).output).toBe('');
    expect((await bench.session.execute('sx')).output).not.toMatch(/Command:/);
    // What the playbooks' `always:` does after an aborted step.
    await bench.run(hitTag, { action: 'clear' });
    expect(bench.kernel.poolHitTag()).toBe(original);
  });
});
