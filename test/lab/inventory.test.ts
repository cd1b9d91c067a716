// The lab inventory: merged settings, positioned errors like playbooks, keys never shown, --limit.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { limitTargets, loadInventory } from '../../src/lab/inventory.js';
import { formatError } from '../../src/cli/output.js';

const root = fileURLToPath(new URL('../../', import.meta.url));

function inventory(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'leakhunt-inventory-'));
  writeFileSync(join(dir, 'lab.yaml'), text);
  return join(dir, 'lab.yaml');
}

describe('loadInventory', () => {
  test('defaults, then groups in order, then the target: inputs and labels by key, runner replaced', () => {
    const file = inventory(`defaults:
  inputs: { samples: 3 }
  labels: { owner: lab }
  runner: [self-hosted]
groups:
  net:
    inputs: { samples: 5, tag: NxRx }
    labels: { owner: net-team }
    runner: [self-hosted, kd-host-1]
targets:
  - name: w10
    target: "kd:-k net:port=50000,key=1.2.3.4"
    groups: [net]
    labels: { version: "10.0.17763", arch: x64 }
  - name: xp
    target: sim:drv.yaml
    profile: winxp-sp3-x86
    inputs: { samples: 2 }
`);
    const { inventory: inv, errors } = loadInventory(file);
    expect(errors).toEqual([]);
    const [w10, xp] = inv!.targets;
    expect(w10).toMatchObject({ name: 'w10', inputs: { samples: 5, tag: 'NxRx' }, labels: { owner: 'net-team', version: '10.0.17763', arch: 'x64' }, runner: ['self-hosted', 'kd-host-1'] });
    expect(w10!.spec).toContain('key=1.2.3.4');
    expect(w10!.shownSpec).toBe('kd:-k net:port=50000,key=***');
    // A sim: scenario is relative to the inventory; profile: becomes @profile.
    expect(xp).toMatchObject({ inputs: { samples: 2 }, labels: { owner: 'lab' }, runner: ['self-hosted'], spec: `sim:${join(file, '..', 'drv.yaml')}@winxp-sp3-x86` });
  });

  test('every problem at once, each at its position, with the key redacted in the frame', () => {
    const file = inventory(`targets:
  - name: a
    target: "kd:-k net:port=1,key=s3cret"
    groups: [nett]
    labels: { arch: mips }
  - name: a
    target: kd:-k com:port=1
    profile: win7-sp1-x64
  - name: b
    targt: "sim:"
`);
    const { inventory: inv, errors } = loadInventory(file);
    expect(inv).toBeUndefined();
    // The schema's problems come first and alone: the unknown key and the bad arch.
    expect(errors.map((e) => [e.code, e.location?.line, e.location?.column])).toEqual([
      ['INVALID_INVENTORY', 5, 21],
      ['INVALID_INVENTORY', 9, 5],
      ['INVALID_INVENTORY', 10, 5],
    ]);
    expect(errors.map((e) => e.message).join('\n')).toMatch(/Unknown key "targt"/);
    expect(errors[2]!.hint).toMatch(/target/);
  });

  test('names twice, unknown groups and a profile on a real target are errors after the schema passes', () => {
    const file = inventory(`groups: { net: {} }
targets:
  - name: a
    target: "kd:-k net:port=1,key=s3cret"
    groups: [nett]
  - name: a
    target: kd:-k com:port=1
    profile: win7-sp1-x64
`);
    const { errors } = loadInventory(file);
    expect(errors.map((e) => [e.location?.line, e.location?.column])).toEqual([[5, 14], [6, 11], [7, 13]]);
    expect(errors[0]!.message).toBe('Target "a" names the group "nett", which the inventory does not define');
    expect(errors[0]!.hint).toMatch(/did you mean "net"/i);
    expect(errors[1]!.message).toMatch(/named twice/);
    expect(errors[2]!.message).toMatch(/only sim: targets take one/);
    for (const error of errors) expect(formatError(error)).not.toContain('s3cret');
  });

  test('a missing file is one coded error', () => {
    expect(loadInventory(join(tmpdir(), 'no-such-lab.yaml')).errors.map((e) => e.code)).toEqual(['INVALID_INVENTORY']);
  });

  test('the ready inventory lists all 13 profiles', () => {
    const { inventory: inv, errors } = loadInventory(join(root, 'scenarios/lab-all-versions.yaml'));
    expect(errors).toEqual([]);
    expect(inv!.targets.map((t) => t.spec.split('@')[1])).toHaveLength(13);
    expect(new Set(inv!.targets.map((t) => t.spec.split('@')[1])).size).toBe(13);
  });
});

describe('--limit', () => {
  test('every selector must match; commas give alternatives; name= selects by name', () => {
    const { inventory: inv } = loadInventory(join(root, 'scenarios/lab-all-versions.yaml'));
    const x86 = limitTargets(inv!.targets, ['arch=x86']);
    expect(x86.errors).toEqual([]);
    expect(x86.targets.map((t) => t.name)).toEqual(['win2000-sp4-x86', 'winxp-sp3-x86', 'win2003-sp2-x86', 'vista-sp2-x86', 'win7-sp1-x86']);
    expect(limitTargets(inv!.targets, ['arch=x64', 'name=win7-sp1-x64,win7-sp1-x86']).targets.map((t) => t.name)).toEqual(['win7-sp1-x64']);
    expect(limitTargets(inv!.targets, ['arch']).errors.map((e) => e.code)).toEqual(['INVALID_INVENTORY']);
  });
});
