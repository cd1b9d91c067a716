// pool.hit-tag against the simulator on every profile family: set, verify, clear to the original.
import { afterEach, describe, expect, test } from 'vitest';
import { hitTag, POOL_HIT_TAG_DEFAULT } from '../../plugins/pool/hit-tag.js';
import { familyProfiles, openBench, withErrors, type Bench } from './harness.js';

let bench: Bench | undefined;
afterEach(async () => {
  await bench?.close();
  bench = undefined;
});

describe('pool.hit-tag with schema', () => {
  // The one tag rule: any printable ASCII character is legal in a tag (kd gets its bytes).
  test.each(['Abc', 'Abc ', 'Lea2', 'a', 'Ab1?', 'Ab;c', "Ab'c", 'Ab"c', 'Ab`c'])('accepts %j', (tag) => {
    expect(withErrors(hitTag, { action: 'set', tag })).toEqual([]);
  });
  test.each(['', 'Abcde', 'A\nb', '    ', 'Ab\u0001', 'Abé'])('refuses %j', (tag) => {
    expect(withErrors(hitTag, { action: 'set', tag }).length).toBeGreaterThan(0);
  });
  test('set needs a tag, clear does not', () => {
    expect(withErrors(hitTag, { action: 'set' }).join()).toMatch(/tag/);
    expect(withErrors(hitTag, { action: 'clear' })).toEqual([]);
  });
});

describe.each(familyProfiles)('pool.hit-tag on %s', (profile) => {
  test('set writes the tag in memory byte order, verify reads it back, clear restores 0xffffff0f', async () => {
    bench = await openBench({ profile, taggingOn: true });
    expect(bench.kernel.poolHitTag()).toBe(POOL_HIT_TAG_DEFAULT);
    const set = await bench.run(hitTag, { action: 'set', tag: 'Abc' });
    expect(set.outputs).toMatchObject({ tag: 'Abc ', value: 0x20636241, original: POOL_HIT_TAG_DEFAULT });
    expect(bench.kernel.poolHitTag()).toBe(0x20636241);
    const verified = await bench.run(hitTag, { action: 'verify', tag: 'Abc' });
    expect(verified.status).toBe('ok');
    await expect(bench.run(hitTag, { action: 'verify', tag: 'Xyz' })).rejects.toMatchObject({ code: 'HIT_TAG_MISMATCH' });
    const cleared = await bench.run(hitTag, { action: 'clear' });
    expect(cleared.outputs).toMatchObject({ restored: true, value: POOL_HIT_TAG_DEFAULT });
    expect(bench.kernel.poolHitTag()).toBe(POOL_HIT_TAG_DEFAULT);
    expect(bench.memory.pending()).toEqual([]);
  });
});

describe('pool.hit-tag restores what it found', () => {
  test('setting twice, then clearing, returns to the first original value, not 0', async () => {
    bench = await openBench({ profile: 'win7-sp1-x86' });
    await bench.session.execute('ed nt!PoolHitTag 12345678');
    await bench.run(hitTag, { action: 'set', tag: 'Abc' });
    await bench.run(hitTag, { action: 'set', tag: 'Tron' });
    expect(bench.kernel.poolHitTag()).toBe(0x6e6f7254);
    await bench.run(hitTag, { action: 'clear' });
    expect(bench.kernel.poolHitTag()).toBe(0x12345678);
  });

  test('clear with nothing to undo leaves PoolHitTag as found', async () => {
    bench = await openBench({ profile: 'win11-24h2-x64' });
    await bench.session.execute('ed nt!PoolHitTag 41414141');
    const cleared = await bench.run(hitTag, { action: 'clear' });
    expect(cleared.status).toBe('ok');
    expect(bench.kernel.poolHitTag()).toBe(0x41414141);
    await bench.run(hitTag, { action: 'clear', original: 0xffffff0f });
    expect(bench.kernel.poolHitTag()).toBe(0xffffff0f);
  });
});
