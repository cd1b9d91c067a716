import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { kdDialect } from '../../src/debuggers/kd-dialect.js';

// The transcript body of a real fixture (everything after the `# ---` header line).
function fixtureBody(name: string): string {
  const text = readFileSync(fileURLToPath(new URL(`../fixtures/kd/${name}`, import.meta.url)), 'utf8');
  return text.slice(text.indexOf('# ---\n') + 6);
}

describe('kdDialect.classifyStop', () => {
  test('a real bugcheck keeps its code and its arguments as lowercase hex strings', () => {
    const stop = kdDialect.classifyStop(fixtureBody('break-win7-x86-1.txt'), { breakInRequested: false, goCommand: 'g' });
    expect(stop).toEqual({ kind: 'bugcheck', bugcheck: { code: 0xc4, args: ['62', '86a84ebc', '86a2d4f8', '1'] } });
  });

  test('64-bit bugcheck arguments survive without losing precision', () => {
    const stop = kdDialect.classifyStop(fixtureBody('step-win10-x64-1.txt'), { breakInRequested: false, goCommand: 'g' });
    expect(stop).toEqual({ kind: 'bugcheck', bugcheck: { code: 0xfc, args: ['32b2f0000', '22b000013dbb8867', 'ffffd001cb0948e0', '80000005'] } });
  });
});
