// Start test/support/fake-kd.mjs as a real child process and open a kd-console session on it.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KdConsoleSession, type KdConsoleOptions } from '../../src/debuggers/kd-console.js';
import { ProcessChannel } from '../../src/debuggers/process-channel.js';
import { MemoryTranscript } from '../../src/debuggers/transcript.js';

export const fakeKdPath = fileURLToPath(new URL('../support/fake-kd.mjs', import.meta.url));

/** What the fake recorded about itself. */
export interface FakeState {
  read: string[];
  running: boolean;
  interrupts: number;
  exit?: string;
}

/** A fake kd process with a session on it. */
export interface FakeKd {
  session: KdConsoleSession;
  channel: ProcessChannel;
  transcript: MemoryTranscript;
  state(): FakeState;
}

const scratch = mkdtempSync(join(tmpdir(), 'leakhunt-fake-kd-'));
let counter = 0;

/** The FAKE_KD environment for a configuration, with a fresh state file. */
export function fakeEnvironment(config: Record<string, unknown> = {}): { env: Record<string, string>; stateFile: string } {
  const stateFile = join(scratch, `state-${++counter}.json`);
  return { env: { FAKE_KD: JSON.stringify({ stateFile, ...config }) }, stateFile };
}

/** Spawn the fake with a configuration and open a session on it. */
export async function startFakeKd(config: Record<string, unknown> = {}, options: KdConsoleOptions = {}): Promise<FakeKd> {
  const { env, stateFile } = fakeEnvironment(config);
  const channel = new ProcessChannel(process.execPath, [fakeKdPath], { env, endGraceMs: 1000 });
  const transcript = new MemoryTranscript();
  const session = await KdConsoleSession.open(channel, { transcript, commandTimeoutMs: 5000, connectTimeoutMs: 5000, breakGraceMs: 1000, ...options });
  return { session, channel, transcript, state: () => JSON.parse(readFileSync(stateFile, 'utf8')) as FakeState };
}
