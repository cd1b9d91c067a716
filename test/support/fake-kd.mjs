#!/usr/bin/env node
// A scripted stand-in for kd.exe, run as a real child process by the transport tests.
//
// It speaks like a kd console whose stdin is a pipe: it prints a banner and a prompt, answers
// commands with the outputs of real transcripts (test/fixtures/kd, lines after `# ---`, split at
// the `kd> <command>` lines; lines starting with `# ` are authors' notes there and are skipped),
// honours `.echo`, prints nothing for the command itself (a console does not echo piped input),
// and reads nothing while the "target" runs. Everything else is configured by the FAKE_KD
// environment variable (JSON):
//   prompt        prompt text (default "kd> ")
//   files         fixture files whose commands it answers (default: a small set)
//   banner        fixture whose body is the connect banner (default banner-win10-x64-1.txt)
//   startRunning  print the banner of a running target and no prompt; SIGINT breaks in
//   split         seed: split every write at random points (1–23 characters a piece)
//   echo          echo each line read, as a console with echo on would
//   garbage       print a line of junk (DbgPrint noise, control bytes) before every answer
//   stallOn       command that prints half its output, then hangs until SIGINT
//   exitOn        command that prints half its output, then exits with code 3
//   hitAfterMs    after `g`, stop on the PoolHitTag break after this long (else run until SIGINT)
//   promptMidStop with hitAfterMs: print the break and a prompt, go quiet this many ms, then print
//                 a second break and the real prompt (output after a prompt the target runs past)
//   reconnect     "net" | "pipe": form of the banner printed after `.reboot`
//   reconnectBreak  after `.reboot`, stop at a prompt once reconnected (else run on)
//   stateFile     JSON file rewritten on every change: lines read, running, exit reason
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const config = JSON.parse(process.env.FAKE_KD ?? '{}');
const here = dirname(fileURLToPath(import.meta.url));
const fixturesDir = config.fixtures ?? join(here, '..', 'fixtures', 'kd');
const prompt = config.prompt ?? 'kd> ';

// The transcript part of a fixture file (after the `# ---` header line), authors' note lines dropped.
function body(file) {
  const text = readFileSync(join(fixturesDir, file), 'utf8').replace(/\r/g, '');
  const start = text.indexOf('\n# ---\n');
  return text
    .slice(start + 7)
    .split('\n')
    .filter((line) => !line.startsWith('# '))
    .join('\n');
}

// Command → output lines, from the `kd> command` lines of the chosen fixtures (first occurrence wins).
function responseTable(files) {
  const table = new Map();
  for (const file of files) {
    let command;
    let lines = [];
    const flush = () => {
      if (command !== undefined && command !== '' && !table.has(command)) table.set(command, lines);
    };
    for (const line of body(file).split('\n')) {
      const match = /^(?:\d{1,2}: )?kd> (.*)$/.exec(line);
      if (match) {
        flush();
        command = match[1].trim();
        lines = [];
      } else if (command !== undefined) {
        lines.push(line);
      }
    }
    flush();
  }
  for (const lines of table.values()) while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return table;
}

const defaultFiles = ['vertarget-win10-x64-2.txt', 'db-winxp-x86-1.txt', 'ed-win7-x86-1.txt', 'dd-win7-x86-1.txt', 'poolhittag-win7-x86-1.txt'];
const table = responseTable(config.files ?? defaultFiles.filter((file) => readdirSync(fixturesDir).includes(file)));

// The lines of a fixture's body from the first line matching `from` up to (not including) the first matching `to`.
function excerpt(file, from, to) {
  const lines = body(file).split('\n');
  const start = lines.findIndex((line) => from.test(line));
  const end = to ? lines.findIndex((line, index) => index > start && to.test(line)) : -1;
  return lines.slice(start, end < 0 ? undefined : end);
}

const breakInLines = excerpt('breakin-winxp-x86-1.txt', /^Break instruction exception/);
const poolHitLines = excerpt('poolhittag-win7-x86-1.txt', /^Break instruction exception/, /^1: kd> kvn/).filter((line, index, all) => !(line === '' && index === all.length - 1));
const stepLines = excerpt('step-win10-x64-1.txt', /^nt!KeQueryIntervalProfile\+0x4:/, /^0: kd> /);
const rebootLines = excerpt('gflag-win10-x64-1.txt', /^Shutdown occurred/, /^Connected to Windows/);
const reconnectLines = excerpt('gflag-win10-x64-1.txt', /^Connected to Windows/, /^kd> /);
// Named-pipe form as quoted in the Windows-versions reference (§1.2, VM pipe sample).
const pipeLines = ['Opened \\\\.\\pipe\\WS2012Dbg', 'Waiting to reconnect...'];
// KDNET form, from the connect banner of banner-win10-x64-1.txt.
const netLines = excerpt('banner-win10-x64-1.txt', /^Using NET for debugging/, /^Connected to Windows/);

// ─── Output, optionally split at random points ─────────────────────────────────────────
let seed = Number(config.split ?? 0) >>> 0;
function random() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
let writing = Promise.resolve();
function out(text) {
  if (config.split === undefined) {
    writing = writing.then(() => new Promise((resolve) => process.stdout.write(text, () => resolve())));
    return writing;
  }
  const pieces = [];
  for (let at = 0; at < text.length; ) {
    const size = 1 + Math.floor(random() * 23);
    pieces.push(text.slice(at, at + size));
    at += size;
  }
  for (const piece of pieces) {
    writing = writing.then(
      () => new Promise((resolve) => process.stdout.write(piece, () => setTimeout(resolve, random() < 0.3 ? 1 : 0))),
    );
  }
  return writing;
}
const lines = (list) => out(list.map((line) => `${line}\n`).join(''));

// ─── State, recorded for the tests ────────────────────────────────────────────────────
const state = { read: [], running: false, interrupts: 0, exit: undefined };
function save() {
  if (config.stateFile) writeFileSync(config.stateFile, JSON.stringify(state));
}
async function exit(code, reason) {
  state.exit = reason;
  save();
  await writing;
  process.exit(code);
}

// ─── The console ──────────────────────────────────────────────────────────────────────
let running = false;
let stalled = false;
let pending = [];
let partial = '';
let hitTimer;

function setRunning(value) {
  running = value;
  state.running = value;
  save();
}

function stop(outputLines) {
  clearTimeout(hitTimer);
  setRunning(false);
  lines(outputLines);
  out(prompt);
  drain();
}

function garbage() {
  if (!config.garbage) return;
  const junk = Array.from({ length: 12 }, () => String.fromCharCode(1 + Math.floor(random() * 126))).join('').replace(/\n/g, ' ');
  lines([`[+] DbgPrint noise ${junk}`]);
}

function handle(line) {
  const command = line.trim();
  state.read.push(command);
  save();
  if (config.echo) lines([line]);
  if (command === 'q') return exit(0, 'q');
  if (command === 'g') {
    setRunning(true);
    if (config.hitAfterMs !== undefined && config.promptMidStop !== undefined) {
      hitTimer = setTimeout(() => {
        lines(poolHitLines);
        out(prompt);
        hitTimer = setTimeout(() => {
          out('\n');
          stop(poolHitLines);
        }, config.promptMidStop);
      }, config.hitAfterMs);
    } else if (config.hitAfterMs !== undefined) hitTimer = setTimeout(() => stop(poolHitLines), config.hitAfterMs);
    return;
  }
  if (command === 'p' || command === 't') {
    setRunning(true);
    setTimeout(() => stop(stepLines), 5);
    return;
  }
  if (command === '.reboot') {
    setRunning(true);
    const transport = config.reconnect === 'pipe' ? pipeLines : [...netLines.filter((l) => l !== 'Waiting to reconnect...'), 'Waiting to reconnect...'];
    setTimeout(() => lines([...rebootLines.filter((l) => l !== 'Waiting to reconnect...'), ...transport]), 5);
    setTimeout(() => {
      const reconnect = reconnectLines.slice(0, config.reconnectBreak ? undefined : reconnectLines.findIndex((l) => l.startsWith('nt!DebugService2')));
      if (config.reconnectBreak) stop(reconnect);
      else lines(reconnect);
    }, 30);
    return;
  }
  if (command.startsWith('.echo')) {
    lines([command.slice(5).trim()]);
    out(prompt);
    return;
  }
  garbage();
  const answer = table.get(command) ?? [];
  if (command === config.stallOn || command === config.exitOn) {
    lines(answer.slice(0, Math.ceil(answer.length / 2)));
    stalled = true;
    if (command === config.exitOn) {
      writing.then(() => exit(3, 'exitOn'));
    }
    return;
  }
  lines(answer);
  out(prompt);
}

// Handle queued input lines while the target is halted and no command hangs.
function drain() {
  while (!running && !stalled && pending.length > 0) handle(pending.shift());
}

process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  partial += chunk.replace(/\r/g, '');
  const parts = partial.split('\n');
  partial = parts.pop();
  pending.push(...parts);
  drain();
});
process.stdin.on('end', () => {
  writing.then(() => exit(0, running ? 'stdin-closed-running' : 'stdin-closed-halted'));
});

process.on('SIGINT', () => {
  state.interrupts++;
  save();
  if (running) return stop(breakInLines);
  if (stalled) {
    stalled = false;
    out(prompt);
    drain();
  }
});
process.on('SIGTERM', () => exit(143, running ? 'sigterm-running' : 'sigterm-halted'));

// Banner: the connect banner of a real KDNET session; a running target shows no prompt.
const bannerLines = body(config.banner ?? 'banner-win10-x64-1.txt').split('\n');
while (bannerLines.length > 0 && bannerLines[bannerLines.length - 1] === '') bannerLines.pop();
lines(bannerLines);
if (config.startRunning) {
  setRunning(true);
} else {
  lines(excerpt('breakin-winxp-x86-1.txt', /^Break instruction exception/));
  out(prompt);
}
save();
