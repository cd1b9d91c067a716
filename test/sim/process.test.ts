// `leakhunt sim` spawned as a real child: kd's console on stdin/stdout, Ctrl+C, --state-out on
// every way out, each fault, the link options, and the host channel as a second command.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parseBreak } from '../../src/kd/break.js';
import { parseVertarget } from '../../src/kd/version.js';
import type { SimStateJson } from '../../src/sim/kernel-api.js';
import { buildSimCli, spawnLeakhunt } from './process-helpers.js';

let dir: string;
beforeAll(() => {
  buildSimCli();
  dir = mkdtempSync(join(tmpdir(), 'leakhunt-sim-process-'));
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A fresh --state-out path.
let files = 0;
function stateFile(): string {
  files++;
  return join(dir, `state-${files}.json`);
}

// The JSON a run left in --state-out.
function readState(file: string): SimStateJson {
  return JSON.parse(readFileSync(file, 'utf8')) as SimStateJson;
}

const XP_PROMPT = /\nkd> $/;
const MP_PROMPT = /\n0: kd> $/;

describe.concurrent('leakhunt sim process', () => {
  test('answers kd commands on stdin; stdin EOF answers what is queued, exits 0 and writes --state-out (halted)', async () => {
    const state = stateFile();
    const sim = spawnLeakhunt(['sim', '--profile', 'win10-22h2-x64', '--seed', '5', '--state-out', state]);
    await sim.waitFor(MP_PROMPT);
    const before = sim.output().length;
    sim.send('vertarget\n');
    await sim.waitFor(/System Uptime:[^\n]*\n0: kd> $/, 20_000, before);
    const vertarget = parseVertarget(sim.output().slice(before).replace(/0: kd> $/, ''));
    expect(vertarget.os).toMatchObject({ pointerSize: 8, processors: 4 });
    sim.send("ed nt!poolhittag ' cbA'\n.echo one\n.echo two\n");
    sim.child.stdin!.end();
    expect((await sim.exited).code).toBe(0);
    expect(sim.output()).toMatch(/0: kd> one\n0: kd> two\n0: kd> $/);
    expect(readState(state)).toMatchObject({ profile: 'win10-22h2-x64', poolHitTag: 0x20636241, halted: true });
  });

  test('commands sent while the target runs wait; SIGINT breaks in like Ctrl+C; SIGTERM while running leaves halted false', async () => {
    const state = stateFile();
    const sim = spawnLeakhunt(['sim', '--profile', 'win7-sp1-x64', '--seed', '2', '--state-out', state]);
    await sim.waitFor(/\nkd> $/);
    const before = sim.output().length;
    sim.send('.echo armed\ng\n.echo queued\n');
    await sim.waitFor(/armed\n/, 20_000, before);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(sim.output().slice(before)).toBe('armed\nkd> ');
    sim.child.kill('SIGINT');
    await sim.waitFor(/queued\nkd> $/, 20_000, before);
    const text = sim.output().slice(before + 'armed\nkd> '.length).replace(/queued\nkd> $/, '');
    const events = parseBreak(text, { command: 'g' }).events;
    expect(events[0]).toMatchObject({ kind: 'break-in', code: '80000003' });
    expect(text).toContain('nt!DbgBreakPointWithStatus:');
    const again = sim.output().length;
    sim.send("ed nt!poolhittag 'tseT'\n.echo resumed\ng\n");
    await sim.waitFor(/resumed\n/, 20_000, again);
    await new Promise((resolve) => setTimeout(resolve, 300));
    sim.child.kill('SIGTERM');
    expect((await sim.exited).code).toBe(143);
    const result = readState(state);
    // 'tseT' is stored little-endian as the bytes of "Test": 0x74736554.
    expect(result).toMatchObject({ halted: false, poolHitTag: 0x74736554, profile: 'win7-sp1-x64' });
  });

  test('faults stall, truncate and exit-after, and --latency, in one run', async () => {
    const state = stateFile();
    const sim = spawnLeakhunt(['sim', '--fault', 'stall:1@1', '--fault', 'truncate:30', '--fault', 'exit-after:4', '--latency', '150', '--state-out', state]);
    await sim.waitFor(XP_PROMPT);
    let asked = Date.now();
    sim.send('.echo a\n');
    await sim.waitFor(/a\nkd> $/);
    expect(Date.now() - asked).toBeGreaterThanOrEqual(140);
    asked = Date.now();
    const before = sim.output().length;
    sim.send('vertarget\n');
    await sim.waitFor(/kd> $/, 20_000, before);
    // Stalled a second after command 1; the vertarget answer cut after 30 characters.
    expect(Date.now() - asked).toBeGreaterThanOrEqual(900);
    expect(sim.output().slice(before)).toBe('Windows XP Kernel Version 2600\nkd> ');
    sim.send('.echo b\n.echo c\n.echo d\n');
    expect((await sim.exited).code).toBe(3);
    expect(sim.output()).toMatch(/b\nkd> c\nkd> $/);
    expect(sim.output()).not.toContain('d\n');
    expect(readState(state).halted).toBe(true);
  });

  test('fault garbage:1 puts a garbage line before every output; --bandwidth throttles the bytes', async () => {
    const started = Date.now();
    const sim = spawnLeakhunt(['sim', '--fault', 'garbage:1', '--bandwidth', '3000', '--seed', '9']);
    await sim.waitFor(XP_PROMPT);
    // The banner and break-in (~2,100 bytes) at 3000 bytes/s take well over half a second.
    expect(Date.now() - started).toBeGreaterThanOrEqual(600);
    expect(sim.output().split('\n')[0]).toMatch(/^(KDTARGET: Refreshing KD connection|\u00ff\u00fe\u0000\u0013)[0-9a-z]+$/);
    const before = sim.output().length;
    sim.send('.echo payload\n');
    await sim.waitFor(/payload\nkd> $/, 20_000, before);
    const answer = sim.output().slice(before).split('\n');
    expect(answer[0]).toMatch(/^(KDTARGET: Refreshing KD connection|\u00ff\u00fe\u0000\u0013)[0-9a-z]+$/);
    expect(answer.slice(1)).toEqual(['payload', 'kd> ']);
    sim.send('q\n');
    expect((await sim.exited).code).toBe(0);
  });

  test('fault reboot-at:5s reboots the running target: shutdown, reconnect, banner, initial break', async () => {
    const state = stateFile();
    const sim = spawnLeakhunt(['sim', '--profile', 'win11-24h2-x64', '--fault', 'reboot-at:5s', '--state-out', state]);
    await sim.waitFor(MP_PROMPT);
    const before = sim.output().length;
    sim.send("ed nt!poolhittag 'zzzz'\ng\n");
    await sim.waitFor(/Shutdown occurred[\s\S]*0: kd> $/, 20_000, before);
    const text = sim.output().slice(sim.output().indexOf('Shutdown occurred', before)).replace(/0: kd> $/, '');
    const events = parseBreak(text, { command: 'g' }).events;
    expect(events.map((event) => event.kind)).toEqual(['reconnect', 'break-in']);
    expect(text).toContain('Waiting to reconnect...\nConnected to Windows 10 26100 x64 target at (');
    sim.send('q\n');
    expect((await sim.exited).code).toBe(0);
    const result = readState(state);
    expect(result.bootCount).toBe(1);
    expect(result.poolHitTag).toBe(0xffffff0f);
    expect(result.halted).toBe(true);
  });

  test('sim-host and sim share the registry: gflags /r +ptg, then .reboot turns XP pool tagging on', async () => {
    const host = join(dir, 'host');
    const sim = spawnLeakhunt(['sim', '--host-state', host, '--seed', '3']);
    await sim.waitFor(XP_PROMPT);
    const gflags = spawnLeakhunt(['sim-host', '--state', host, '--', 'gflags', '/r', '+ptg']);
    expect((await gflags.exited).code).toBe(0);
    expect(gflags.output()).toBe('Current Boot Registry Settings are: 00000400\r\n    ptg - Enable pool tagging\r\n');
    const before = sim.output().length;
    // After the reboot the workload starts again from an empty pool: let it run, then look.
    sim.send('.reboot\n.echo rebooted\ng\n');
    await sim.waitFor(/rebooted\n/, 20_000, before);
    await new Promise((resolve) => setTimeout(resolve, 300));
    sim.child.kill('SIGINT');
    await sim.waitFor(/RtlpBreakWithStatusInstruction:\n[^\n]+\nkd> $/, 20_000, before);
    sim.send('!poolused 4\n');
    await sim.waitFor(/Sorting by Paged Pool Consumed[\s\S]*TOTAL[^\n]*\nkd> $/, 20_000, before);
    const text = sim.output().slice(before);
    expect(text).toContain('Waiting to reconnect...');
    expect(text).toMatch(/\n Abc  +0 +0 +\d+ +\d+UNKNOWN pooltag 'Abc '/);
    sim.send('q\n');
    expect((await sim.exited).code).toBe(0);
  });
});
