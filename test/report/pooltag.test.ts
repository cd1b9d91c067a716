import { describe, expect, test } from 'vitest';
import { fileURLToPath } from 'node:url';
import { loadPoolTags, parsePoolTagFile, PoolTagDatabase, defaultPoolTagPaths } from '../../src/report/pooltag.js';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/pooltag/${name}`, import.meta.url));

describe('parsePoolTagFile', () => {
  const file = parsePoolTagFile(
    ['rem comment', '// comment', '', 'Abc  - abcflt.sys   - Abc filter', 'Dh 0 - <unknown>    - DirectDraw', 'Ggb  - Glyph cache', 'garbage'].join('\n'),
    'inline',
  );

  test('reads three-column, two-column and spaced tags, keeps positions', () => {
    expect(file.entries).toEqual([
      { pattern: 'Abc ', binary: 'abcflt.sys', description: 'Abc filter', source: 'inline', line: 4 },
      { pattern: 'Dh 0', binary: undefined, description: 'DirectDraw', source: 'inline', line: 5 },
      { pattern: 'Ggb ', description: 'Glyph cache', source: 'inline', line: 6 },
    ]);
  });

  test('keeps lines outside the format as unparsed', () => {
    expect(file.unparsed).toEqual([{ line: 7, text: 'garbage' }]);
  });
});

describe('loadPoolTags', () => {
  const database = loadPoolTags({ pooltag: fixture('pooltag.txt'), localtags: [fixture('localtag.txt')], env: {} });

  test.each([
    ['Abc', 'abcflt.sys', 'Abc filter: per-open context (team note: see bug 4711)', 'exact'],
    ['Tron', 'tron.sys', 'Tron storage port driver', 'exact'],
    ['IoN7', undefined, 'I/O manager name buffers', 'exact'],
    ['AmlH', 'acpi.sys', 'ACPI AMLI heap', 'exact'],
    ['AmlZ', undefined, 'ACPI AMLI pool tags', 'Aml*'],
    ['Xyz1', 'xyzbus.sys', 'Xyz bus enumerator', 'exact'],
  ])('%s → %s', (tag, binary, description, match) => {
    expect(database.lookup(tag)).toMatchObject({ binary, description, match });
  });

  test('an unknown tag has no owner and counts as unused', () => {
    expect(database.lookup('Qq9z')).toBeUndefined();
    expect(database.knows('Qq9z')).toBe(false);
    expect(database.knows('Aml7')).toBe(true);
  });

  test('without any file the database is empty, not an error', () => {
    expect(loadPoolTags({ env: {} }).size).toBe(0);
  });

  test('default locations follow the Windows Kits layout', () => {
    const paths = defaultPoolTagPaths({ 'ProgramFiles(x86)': 'C:\\Program Files (x86)' });
    expect(paths.some((path) => /Windows Kits.10.Debuggers.x64.triage.pooltag\.txt$/.test(path))).toBe(true);
  });

  test('the longest wildcard wins', () => {
    const db = new PoolTagDatabase([parsePoolTagFile('A*   - <unknown> - short\nAb*  - <unknown> - longer\n')]);
    expect(db.lookup('Abzz')?.description).toBe('longer');
    expect(db.lookup('Azzz')?.description).toBe('short');
  });
});
