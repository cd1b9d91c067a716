// The Windows smoke test: leakhunt's Windows process path run by a Windows build of Node.js against
// test/windows/fake-kd.c built into kd.exe. The same script runs under Wine (scripts/test-windows.sh,
// from `npm run test:windows`) and on a hosted Windows runner (.github/workflows/windows.yml).
//
//   node test/windows/smoke.mjs --kd-exe <built kd.exe> --ctrl-event-exe <built ctrl-event.exe> [--registry-writable] [--wine]
//
// --registry-writable lets it set the Windows Kits root in HKLM when the machine has none with a
// kd.exe (a throwaway Wine prefix or CI machine; the machine's own value is put back after); without
// it the registry step is checked only against what the machine already has. --wine says it runs
// under Wine, where a console control event reaches the caller's process group only.
// It needs `npm run build` first (it runs dist/). Output: node's test runner (TAP to a file or pipe).
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { after, before, test } from 'node:test';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dist = (path) => new URL(`../../dist/src/${path}`, import.meta.url).href;
const { parseKitsRoot, resolveKdPath, registryKitsRoots } = await import(dist('debuggers/connect.js'));
const { ProcessChannel, breakInHelperPath, machineArch } = await import(dist('debuggers/process-channel.js'));
const { KdConsoleSession } = await import(dist('debuggers/kd-console.js'));
const { parsePoolused } = await import(dist('kd/poolused.js'));

const { values: options } = parseArgs({ options: { 'kd-exe': { type: 'string' }, 'ctrl-event-exe': { type: 'string' }, 'registry-writable': { type: 'boolean', default: false }, wine: { type: 'boolean', default: false } } });
if (process.platform !== 'win32') throw new Error('smoke.mjs tests the Windows build of Node.js: run it with node.exe (under Wine: scripts/test-windows.sh)');
if (!options['kd-exe'] || !existsSync(options['kd-exe'])) throw new Error('pass --kd-exe <kd.exe built from test/windows/fake-kd.c>');
if (!options['ctrl-event-exe'] || !existsSync(options['ctrl-event-exe'])) throw new Error('pass --ctrl-event-exe <ctrl-event.exe built from test/windows/ctrl-event.c>');

const fixtures = join(root, 'test', 'fixtures', 'kd');
const cli = join(root, 'dist', 'src', 'cli', 'main.js');
const arch = machineArch();
// A KDNET key (four base-36 words, as kdnet.exe prints them): it must reach kd and appear in no output of leakhunt.
const secret = '2steg4fzbj2sz.23418vzkd4ko3.1g34ou07z4pev.1sp3yo9yz874p';
const symbolPath = 'srv*C:\\My Symbols*https://msdl.microsoft.com/download/symbols';
const kdArguments = `-k net:port=50000,key=${secret} -y "${symbolPath}"`;
const expectedArgv = ['-k', `net:port=50000,key=${secret}`, '-y', symbolPath];
// Lines of the real transcripts the fake answers with, written out here so a broken fake cannot agree with a broken session.
const vertargetFirst = 'Windows 10 Kernel Version 9926 MP (4 procs) Free x64';
const vertargetLast = 'System Uptime: 0 days 01:31:58.931';
const breakInText = 'You are seeing this message because you pressed either';

let scratch;
let logCount = 0;
before(() => {
  scratch = mkdtempSync(join(tmpdir(), 'leakhunt smoke '));
});
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A kd.exe copied to `<scratch>/<folder>/kd.exe` (folders with spaces, as Program Files has). */
function placeKd(...folders) {
  const folder = join(scratch, ...folders);
  mkdirSync(folder, { recursive: true });
  copyFileSync(options['kd-exe'], join(folder, 'kd.exe'));
  return join(folder, 'kd.exe');
}

/** A fresh log file for the fake kd, and what it recorded: its arguments, commands and control events. */
function fakeLog() {
  const file = join(scratch, `fake-kd-${++logCount}.log`);
  return {
    file,
    lines: () => (existsSync(file) ? readFileSync(file, 'utf8').split(/\r?\n/).filter((line) => line !== '') : []),
    argv() {
      return this.lines().filter((line) => line.startsWith('arg ')).map((line) => line.slice(4));
    },
    commands() {
      return this.lines().filter((line) => line.startsWith('command ')).map((line) => line.slice(8));
    },
  };
}

/** process.env with these variables replaced (names compared without case, as Windows does); undefined removes one. */
function environment(changes) {
  const env = {};
  const changed = new Set(Object.keys(changes).map((name) => name.toLowerCase()));
  for (const [name, value] of Object.entries(process.env)) if (!changed.has(name.toLowerCase())) env[name] = value;
  for (const [name, value] of Object.entries(changes)) if (value !== undefined) env[name] = value;
  return env;
}

const systemPath = [process.env.SystemRoot ?? 'C:\\windows', join(process.env.SystemRoot ?? 'C:\\windows', 'system32')].join(';');

/** Run the leakhunt CLI under this node.exe; resolves with its exit code and output. */
function leakhunt(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: root, env, windowsHide: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => child.kill(), 240_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, output: `${stdout}\n${stderr}` });
    });
  });
}

/** Every file under a folder, as text. */
function filesUnder(folder) {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [{ path, text: readFileSync(path, 'latin1') }];
  });
}

/** `leakhunt run playbooks/rank-only.yaml --check` on the fake, with this environment and extra arguments. */
async function checkRun(env, extra = []) {
  const log = fakeLog();
  const out = join(scratch, `run ${logCount}`);
  const result = await leakhunt(['run', 'playbooks/rank-only.yaml', '--target', `kd:${kdArguments}`, '--check', '--out', out, ...extra], { ...env, FAKE_KD_FIXTURES: fixtures, FAKE_KD_LOG: log.file });
  return { ...result, log, out };
}

test('leakhunt run --check finds kd.exe in a Windows Kits layout under Program Files, passes quoted arguments, and no output shows the key', async (t) => {
  const kitsRoot = registryKitsRoots().find((kits) => existsSync(join(kits, 'Debuggers', arch, 'kd.exe')));
  if (kitsRoot) return t.skip(`the registry names a Windows Kits root with a kd.exe (${kitsRoot}), which comes before Program Files`);
  const programFiles = join(scratch, 'Program Files (x86)');
  const kd = placeKd('Program Files (x86)', 'Windows Kits', '10', 'Debuggers', arch);
  const run = await checkRun(environment({ 'ProgramFiles(x86)': programFiles, PATH: systemPath, LEAKHUNT_KD: undefined }));
  assert.equal(run.code, 0, run.output);
  assert.deepEqual(run.log.argv(), expectedArgv, `kd.exe at ${kd} got its arguments intact`);
  assert.ok(run.log.commands().includes('vertarget'), run.log.lines().join('\n'));
  // Closing leaves the target running: the last thing kd read is `g`, and it never got `q`.
  assert.equal(run.log.commands().at(-1), 'g');
  assert.ok(!run.log.lines().includes('exit q'));
  assert.ok(!run.output.includes(secret), 'the key is not in leakhunt\'s output');
  for (const file of filesUnder(run.out)) assert.ok(!file.text.includes(secret), `the key is not in ${file.path}`);
  assert.ok(readFileSync(join(run.out, 'events.jsonl'), 'utf8').includes('key=***'), 'the spec is recorded, redacted');
});

test('finds kd.exe under the Windows Kits root the registry names (KitsRoot10)', async (t) => {
  const key = 'HKLM\\SOFTWARE\\Microsoft\\Windows Kits\\Installed Roots';
  let kitsRoot = registryKitsRoots().find((kits) => existsSync(join(kits, 'Debuggers', arch, 'kd.exe')));
  let previous;
  if (!kitsRoot) {
    if (!options['registry-writable']) return t.skip('no Windows Kits root with a kd.exe in the registry, and --registry-writable was not given');
    // Put a Kits root of our own in (an SDK "on another drive"), and the machine's value back after.
    try {
      previous = { value: parseKitsRoot(execFileSync('reg.exe', ['query', key, '/v', 'KitsRoot10'], { encoding: 'utf8', windowsHide: true, stdio: ['ignore', 'pipe', 'ignore'] })) };
    } catch {
      previous = { value: undefined };
    }
    kitsRoot = join(scratch, 'Other Drive Kits', '10') + '\\';
    placeKd('Other Drive Kits', '10', 'Debuggers', arch);
    execFileSync('reg.exe', ['add', key, '/v', 'KitsRoot10', '/t', 'REG_SZ', '/d', kitsRoot, '/f'], { windowsHide: true, stdio: 'ignore' });
  }
  try {
    const expected = join(kitsRoot, 'Debuggers', arch, 'kd.exe');
    assert.equal(resolveKdPath(undefined, { env: environment({ PATH: systemPath, LEAKHUNT_KD: undefined, 'ProgramFiles(x86)': join(scratch, 'nothing here') }) }), expected);
  } finally {
    if (previous?.value !== undefined) execFileSync('reg.exe', ['add', key, '/v', 'KitsRoot10', '/t', 'REG_SZ', '/d', previous.value, '/f'], { windowsHide: true, stdio: 'ignore' });
    else if (previous) execFileSync('reg.exe', ['delete', key, '/v', 'KitsRoot10', '/f'], { windowsHide: true, stdio: 'ignore' });
  }
});

test('takes kd.exe from --kd (a path with spaces), LEAKHUNT_KD and PATH; a wrong explicit path is DEBUGGER_NOT_FOUND naming it, not a cmd.exe exit code', async () => {
  const kd = placeKd('Debuggers With Spaces', 'x64');
  const byFlag = await checkRun(environment({ LEAKHUNT_KD: undefined }), ['--kd', kd]);
  assert.equal(byFlag.code, 0, byFlag.output);
  assert.deepEqual(byFlag.log.argv(), expectedArgv);
  const noRegistry = () => [];
  assert.equal(resolveKdPath(undefined, { env: environment({ LEAKHUNT_KD: kd }), kitsRoots: noRegistry }), kd);
  assert.equal(resolveKdPath(undefined, { env: environment({ PATH: `${join(scratch, 'Debuggers With Spaces', 'x64')};${systemPath}`, LEAKHUNT_KD: undefined }), kitsRoots: noRegistry }), kd);

  const missing = join(scratch, 'No Such Folder', 'kd.exe');
  const wrong = await checkRun(environment({ LEAKHUNT_KD: undefined }), ['--kd', missing]);
  assert.notEqual(wrong.code, 0);
  assert.match(wrong.stderr, /DEBUGGER_NOT_FOUND/, wrong.output);
  assert.ok(wrong.stderr.includes(missing), wrong.output);
  assert.doesNotMatch(wrong.output, /9009/);
  assert.equal(wrong.log.lines().length, 0, 'nothing was started');
  assert.throws(() => resolveKdPath(undefined, { env: environment({ LEAKHUNT_KD: missing }) }), (error) => error.code === 'DEBUGGER_NOT_FOUND' && error.message.includes(missing));
});

/** A kd-console session on the fake kd.exe, with the raw bytes it printed. */
async function openFake(channelOptions = {}) {
  const log = fakeLog();
  const channel = new ProcessChannel(options['kd-exe'], ['-k', `net:port=50000,key=${secret}`], {
    env: { FAKE_KD_FIXTURES: fixtures, FAKE_KD_LOG: log.file },
    ...channelOptions,
  });
  let raw = '';
  channel.onData((chunk) => (raw += chunk));
  const session = await KdConsoleSession.open(channel, { connectTimeoutMs: 120_000, commandTimeoutMs: 120_000 });
  return { channel, session, log, raw: () => raw };
}

test('frames commands over CRLF output, breaks in three times, and closes leaving the target running', async () => {
  const { channel, session, log, raw } = await openFake();
  try {
    assert.equal(session.prompt, '0: kd> ');
    assert.match(session.banner, /Kernel Debugger connection established\./);
    const vertarget = await session.execute('vertarget');
    assert.ok(vertarget.complete);
    const lines = vertarget.output.split('\n');
    assert.equal(lines[0], vertargetFirst);
    assert.equal(lines.at(-1), vertargetLast);
    assert.ok(!vertarget.output.includes('\r'), 'no carriage return is left in an output');
    assert.match(raw(), /Free x64\r\nProduct: WinNt/, 'the console printed CRLF line ends');
    assert.match((await session.execute('.reload')).output, /^Loading Kernel Symbols$/m);
    const poolused = parsePoolused((await session.execute('!poolused 2')).output);
    assert.equal(poolused.rows[0].tag, 'ConT');
    assert.equal(poolused.rows.length, 20);
    for (let round = 1; round <= 3; round++) {
      await session.resume('g');
      assert.equal(session.running, true);
      const stop = await session.breakIn({ timeoutMs: 120_000 });
      assert.equal(stop.kind, 'break-in');
      assert.ok(stop.output.includes(breakInText), stop.output);
      assert.equal(stop.prompt, '0: kd> ');
      assert.equal((await session.execute(`.echo after break-in ${round}`)).output, `after break-in ${round}`);
    }
    assert.equal(log.lines().filter((line) => line === 'ctrl ctrl-c running').length, 3, log.lines().join('\n'));
    await session.close();
    assert.ok(channel.hasExited);
    assert.equal(log.commands().at(-1), 'g', 'close() resumed the target');
    assert.ok(!log.lines().includes('exit q'), 'close() did not quit (q leaves a kernel target halted)');
    assert.ok(!log.lines().some((line) => line.startsWith('ctrl ') && !line.endsWith('running')), 'no control event reached the halted debugger');
  } finally {
    await session.close().catch(() => undefined);
  }
});

test('close({ resume: false }) quits with q, leaving the target halted as asked', async () => {
  const { channel, session, log } = await openFake();
  await session.close({ resume: false });
  assert.ok(channel.hasExited);
  assert.equal(log.commands().at(-1), 'q');
  assert.equal(log.lines().at(-1), 'exit q');
  assert.ok(!log.commands().includes('g'));
});

test('windowsHide is load-bearing: without a console of its own, kd cannot be broken into without leakhunt being hit too', async (t) => {
  if (!options.wine) return t.skip('on Windows the event would reach every process on this console, the shell running this step included');
  let hitSelf = 0;
  const onSigint = () => hitSelf++;
  process.on('SIGINT', onSigint);
  const { channel, session, log } = await openFake({ windowsHide: false, endGraceMs: 500 });
  try {
    await session.resume('g');
    const outcome = await session.breakIn({ timeoutMs: 60_000 }).then((stop) => stop.kind, (error) => error.code);
    // Under Wine kd then has no console at all, so the helper cannot attach to one: the break-in fails,
    // with a coded error, and nothing reaches leakhunt. (On Windows kd would share leakhunt's console
    // and the event would reach both.)
    assert.equal(outcome, 'BREAK_IN_FAILED', log.lines().join(' | '));
    assert.equal(hitSelf, 0);
    assert.equal(session.running, true);
  } finally {
    process.off('SIGINT', onSigint);
    await channel.end();
  }
});

test('the simulator hunt runs end to end under this node.exe (its break-ins are console control events too)', async () => {
  const out = join(scratch, 'sim hunt');
  const run = await leakhunt(['run', 'playbooks/find-pool-leak.yaml', '--out', out], process.env);
  assert.equal(run.code, 0, run.output);
  assert.match(run.stdout, /leak: abcflt!AbcAllocateContext\+0x1a/);
  const transcript = readFileSync(join(out, 'transcript.jsonl'), 'utf8');
  assert.ok(transcript.includes('"event":"break-in"'), 'the hunt broke in at least once');
});

/**
 * A hunt on the simulator with leakhunt in a console of its own (without a window), and `press`
 * (a program and its arguments; leakhunt's pid is added last) run once collect-stacks has started (PoolHitTag is set then). Resolves
 * to leakhunt's exit code, its stderr, the run directory and the pressing program's exit code.
 */
async function interruptedHunt(name, press) {
  const out = join(scratch, name);
  // Started as a person's terminal would not be (it has a console of its own, without a window), so
  // the event sent to that console reaches leakhunt alone; the simulator it runs has its own console.
  const child = spawn(process.execPath, [cli, 'run', 'playbooks/find-pool-leak.yaml', '--json', '--out', out], { cwd: root, windowsHide: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let sent;
  const exited = new Promise((resolve) => child.on('close', resolve));
  child.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  child.stdout.setEncoding('utf8').on('data', (chunk) => {
    stdout += chunk;
    if (!sent && /"event":"stepStart"[^\n]*"step":"collect"/.test(stdout)) {
      sent = new Promise((resolve) => {
        const helper = spawn(press[0], [...press.slice(1), String(child.pid)], { windowsHide: true, stdio: 'ignore' });
        helper.on('close', resolve);
      });
    }
  });
  const timer = setTimeout(() => child.kill(), 240_000);
  const code = await exited;
  clearTimeout(timer);
  assert.ok(sent, `the hunt reached the collect step: ${stdout.slice(-2000)}\n${stderr}`);
  return { code, stderr, out, pressed: await sent };
}

/** The run stopped in collect and cleanup ran: PoolHitTag back to its default, nothing patched, the target running. */
function assertCleanedUp({ code, stderr, out }) {
  assert.equal(code, 1, stderr);
  assert.match(stderr, /stopping the current step, then running cleanup/);
  const state = JSON.parse(readFileSync(join(out, 'sim-state.json'), 'utf8'));
  assert.equal(state.poolHitTag >>> 0, 0xffffff0f, 'PoolHitTag is back to its default');
  assert.deepEqual(state.patchedBytes, []);
  assert.equal(state.halted, false, 'the target runs');
  assert.match(readFileSync(join(out, 'events.jsonl'), 'utf8'), /"event":"stepEnd"[^\n]*"step":"clear-hit-tag"[^\n]*"status":"(ok|changed)"/);
}

test("Ctrl+C at leakhunt's own console mid-hunt stops the step and runs cleanup: the target is left running with PoolHitTag restored", async () => {
  const outcome = await interruptedHunt('interrupted hunt', [breakInHelperPath()]);
  assert.equal(outcome.pressed, 0, 'the helper sent the event');
  assertCleanedUp(outcome);
});

test("Ctrl+Break at leakhunt's console mid-hunt gets the same cleanup as Ctrl+C (under Wine: the event cannot be sent)", async () => {
  if (options.wine) {
    // Wine 8's server delivers CTRL_C_EVENT only (server/console.c, propagate_console_signal:
    // 'FIXME: should support the other events (like CTRL_BREAK)', STATUS_NOT_IMPLEMENTED), so
    // GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT) fails and leakhunt never sees SIGBREAK; the same
    // helper's Ctrl+C does reach it, which shows the helper and the console are not the cause.
    const refused = await interruptedHunt('ctrl-break refused', [options['ctrl-event-exe'], 'break']);
    assert.equal(refused.pressed, 4, 'GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT) refused under Wine');
    assert.equal(refused.code, 0, `the hunt ran to its end, untouched: ${refused.stderr}`);
    const ctrlC = await interruptedHunt('ctrl-c by the same helper', [options['ctrl-event-exe'], 'c']);
    assert.equal(ctrlC.pressed, 0, 'the same helper sends Ctrl+C');
    assertCleanedUp(ctrlC);
    return;
  }
  const outcome = await interruptedHunt('interrupted by ctrl-break', [options['ctrl-event-exe'], 'break']);
  assert.equal(outcome.pressed, 0, 'the helper sent Ctrl+Break');
  assert.match(outcome.stderr, /SIGBREAK/);
  assertCleanedUp(outcome);
});
