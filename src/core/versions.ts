/**
 * Windows versions as semver `major.minor.build`, and the named aliases providers and users
 * write instead of numbers. Defined once here; everything else asks this module.
 *
 * @see ../../docs/playbooks.md#versions
 */
// Only the functions used: the whole semver package costs start-up time on every command.
import gte from 'semver/functions/gte.js';
import lt from 'semver/functions/lt.js';
import patch from 'semver/functions/patch.js';
import satisfies from 'semver/functions/satisfies.js';
import valid from 'semver/functions/valid.js';
import validRange from 'semver/ranges/valid.js';
import type { Arch, Facts } from './types.js';
import { errUnknownOs } from './errors.js';

/** A named Windows release: its range over `major.minor.build` and a representative build for `plan --os`. */
export interface VersionAlias {
  name: string;
  title: string;
  range: string;
  /** Lowest version in the alias (what `>=alias` means). */
  lowest: string;
  /** First version after the alias, if bounded (what `<=alias` and `>alias` mean). */
  next?: string;
  /** The version `plan --os <alias>` assumes. */
  representative: string;
}

// One table; aliases are ordered oldest first, and only real products name a fact alias.
const aliasTable: readonly VersionAlias[] = [
  { name: 'win2000', title: 'Windows 2000', range: '>=5.0.0 <5.1.0', lowest: '5.0.0', next: '5.1.0', representative: '5.0.2195' },
  { name: 'xp', title: 'Windows XP', range: '>=5.1.0 <5.2.0', lowest: '5.1.0', next: '5.2.0', representative: '5.1.2600' },
  { name: '2003', title: 'Windows Server 2003 / XP x64', range: '>=5.2.0 <6.0.0', lowest: '5.2.0', next: '6.0.0', representative: '5.2.3790' },
  { name: 'vista', title: 'Windows Vista / Server 2008', range: '>=6.0.0 <6.1.0', lowest: '6.0.0', next: '6.1.0', representative: '6.0.6002' },
  { name: 'win7', title: 'Windows 7 / Server 2008 R2', range: '>=6.1.0 <6.2.0', lowest: '6.1.0', next: '6.2.0', representative: '6.1.7601' },
  { name: 'win8', title: 'Windows 8 / Server 2012', range: '>=6.2.0 <6.3.0', lowest: '6.2.0', next: '6.3.0', representative: '6.2.9200' },
  { name: 'win81', title: 'Windows 8.1 / Server 2012 R2', range: '>=6.3.0 <6.4.0', lowest: '6.3.0', next: '6.4.0', representative: '6.3.9600' },
  { name: 'win10', title: 'Windows 10 (1507–22H2)', range: '>=10.0.10240 <10.0.22000', lowest: '10.0.10240', next: '10.0.22000', representative: '10.0.19045' },
  { name: 'win10-19h1+', title: 'Windows 10 1903 and later, Windows 11 (kernel segment heap)', range: '>=10.0.18362', lowest: '10.0.18362', representative: '10.0.18362' },
  { name: 'win11', title: 'Windows 11', range: '>=10.0.22000', lowest: '10.0.22000', representative: '10.0.22631' },
];

const productAliases = ['win2000', 'xp', '2003', 'vista', 'win7', 'win8', 'win81', 'win10', 'win11'];

/** Every alias, oldest first. */
export function listAliases(): readonly VersionAlias[] {
  return aliasTable;
}

/** The alias with this name, if any. */
export function findAlias(name: string): VersionAlias | undefined {
  return aliasTable.find((a) => a.name === name.toLowerCase());
}

/** True for `major.minor.build` (each a non-negative integer). */
export function isVersion(text: string): boolean {
  return /^\d+\.\d+\.\d+$/.test(text) && valid(text) !== null;
}

/** The product alias of a version (`xp` for 5.1.2600, `win11` for 10.0.22631), or `unknown`. */
export function aliasForVersion(version: string): string {
  if (!isVersion(version)) return 'unknown';
  for (const name of productAliases) {
    if (satisfies(version, findAlias(name)!.range)) return name;
  }
  return 'unknown';
}

// Turn one comparator token (`xp`, `>=win7`, `<=2003`, `>=5.1.0`) into semver comparators.
function expandToken(token: string): string {
  const match = /^(>=|<=|>|<|=)?(.+)$/.exec(token);
  if (!match) return token;
  const op = match[1] ?? '';
  const alias = findAlias(match[2]!);
  if (!alias) return token;
  switch (op) {
    case '':
    case '=':
      return alias.range;
    case '>=':
      return `>=${alias.lowest}`;
    case '<':
      return `<${alias.lowest}`;
    case '<=':
      return alias.next ? `<${alias.next}` : '>=0.0.0';
    case '>':
      return alias.next ? `>=${alias.next}` : '<0.0.0';
    default:
      return token;
  }
}

/**
 * Expand an `os` spec with aliases (`xp`, `>=win7 <win10`, `xp || 2003`) into a semver range;
 * throws a plain Error naming the bad part when it is neither alias nor semver.
 */
export function expandOsRange(spec: string): string {
  const expanded = spec
    .split('||')
    .map((part) => part.trim().split(/\s+/).filter(Boolean).map(expandToken).join(' '))
    .join(' || ');
  const range = validRange(expanded);
  if (range === null || spec.trim() === '') {
    throw new Error(`"${spec}" is neither a semver range over major.minor.build nor an alias (${aliasTable.map((a) => a.name).join(', ')})`);
  }
  return expanded;
}

/** Does a version fall in an `os` spec (alias or semver range)? */
export function versionMatches(version: string, spec: string): boolean {
  return satisfies(version, expandOsRange(spec));
}

/**
 * A target the caller resolved from a name of its own (the CLI: a simulator profile id, such as
 * `win7-sp1-x64`). The engine cannot tell a simulated kernel from a real one, so it never looks
 * names up itself.
 */
export interface NamedTarget {
  major: number;
  minor: number;
  build: number;
  sp: number;
  arch: Arch;
  processors: number;
  buildLab?: string;
}

/** Facts for planning without a target: from a named target the caller resolved, an alias, or a version, plus an arch. */
export function factsForOs(os: string, arch?: Arch, profile?: NamedTarget): Facts {
  let version: string;
  let sp = 0;
  let chosenArch: Arch;
  let processors = 1;
  let buildLab: string | undefined;
  if (profile) {
    version = `${profile.major}.${profile.minor}.${profile.build}`;
    sp = profile.sp;
    chosenArch = arch ?? profile.arch;
    processors = profile.processors;
    buildLab = profile.buildLab;
  } else {
    const alias = findAlias(os);
    if (alias) version = alias.representative;
    else if (isVersion(os)) version = os;
    else if (/^\d+\.\d+$/.test(os)) version = `${os}.0`;
    else throw errUnknownOs(os);
    // 2000 and XP x86 were the common case; XP x64 is 5.2 and has its own alias.
    chosenArch = arch ?? (lt(version, '5.2.0') ? 'x86' : 'x64');
  }
  const build = patch(version);
  return {
    os: {
      version,
      alias: aliasForVersion(version),
      build,
      sp,
      arch: chosenArch,
      pointerSize: chosenArch === 'x86' ? 4 : 8,
      mp: processors > 1,
      processors,
      ...(buildLab && { buildLab }),
    },
    pool: {
      taggingEnabled: gte(version, '5.2.0'),
      allocator: gte(version, '10.0.18362') ? 'segment-heap' : 'classic',
    },
    debugger: { transport: 'none' },
    target: { kind: 'plan', spec: os },
  };
}
