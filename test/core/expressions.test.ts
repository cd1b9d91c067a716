// Expressions: templates in strings, types kept for whole-value expressions, GitHub Actions
// operators and functions, status functions, references found for load-time checks.
import { describe, expect, test } from 'vitest';
import { collectReferences, evaluateCondition, evaluateTemplates, findTemplates, parseExpression } from '../../src/core/expressions.js';
import type { ExpressionScope } from '../../src/core/expressions.js';

const scope: ExpressionScope = {
  inputs: { tag: 'Abc', count: 3, deep: false },
  facts: { os: { version: '5.1.2600', alias: 'xp', build: 2600 }, pool: { taggingEnabled: false } },
  steps: { rank: { outputs: { suspect: { tag: 'Abc ', bytes: 33930272 }, ranking: ['Abc ', 'Tron'] }, status: 'ok' } },
  env: { LABEL: 'hunt' },
};

describe('evaluateTemplates', () => {
  test.each([
    ['${{ inputs.count }}', 3],
    ['${{ inputs.deep }}', false],
    ['${{ steps.rank.outputs.suspect }}', { tag: 'Abc ', bytes: 33930272 }],
    ['${{ steps.rank.outputs.suspect.bytes > 1000000 }}', true],
    ['tag ${{ inputs.tag }} x${{ inputs.count }}', 'tag Abc x3'],
    ["${{ format('{0}-{1}', inputs.tag, facts.os.alias) }}", 'Abc-xp'],
    ["${{ contains(steps.rank.outputs.ranking, 'Tron') }}", true],
    ["${{ startsWith(facts.os.version, '5.') && !facts.pool.taggingEnabled }}", true],
    ['${{ inputs.missing }}', null],
    ['${{ steps.rank.outputs.ranking[1] }}', 'Tron'],
    ["${{ inputs.deep || 'fallback' }}", 'fallback'],
    ['${{ toJSON(steps.rank.outputs.ranking) }}', '[\n  "Abc ",\n  "Tron"\n]'],
    ['${{ fromJSON(\'{"a":[1,2]}\').a[1] }}', 2],
    ["${{ '}}' }}", '}}'],
    ['no expression', 'no expression'],
  ])('%s', (text, expected) => {
    expect(evaluateTemplates(text, scope)).toEqual(expected);
  });

  test('nested objects and arrays are resolved', () => {
    expect(evaluateTemplates({ a: ['${{ inputs.tag }}', { b: '${{ env.LABEL }}' }], n: 1 }, scope)).toEqual({ a: ['Abc', { b: 'hunt' }], n: 1 });
  });
});

describe('evaluateCondition', () => {
  test.each([
    ['inputs.count > 2', true],
    ['${{ inputs.count > 5 }}', false],
    ["facts.os.alias == 'XP'", true], // string comparison is case-insensitive, as in GitHub Actions
    ['steps.rank.outputs.suspect', true],
    ['inputs.missing', false],
    ['success()', true],
    ['failure()', false],
  ])('%s → %s', (when, expected) => {
    expect(evaluateCondition(when, scope)).toBe(expected);
  });

  test('status functions read the run status', () => {
    const failed = { ...scope, status: { failed: true, cancelled: false } };
    expect(evaluateCondition('failure()', failed)).toBe(true);
    expect(evaluateCondition('success()', failed)).toBe(false);
    expect(evaluateCondition('always()', failed)).toBe(true);
    expect(evaluateCondition('cancelled()', { ...scope, status: { failed: false, cancelled: true } })).toBe(true);
  });
});

describe('parsing and references', () => {
  test('syntax errors carry the column', () => {
    expect(() => parseExpression('1 == ')).toThrow(/Unexpected end of expression/);
    try {
      parseExpression('inputs.a && secrets.b');
    } catch (error) {
      expect((error as { column: number }).column).toBe(12);
    }
  });
  test('no access to anything but the four contexts', () => {
    for (const bad of ['process.env', 'github.token', 'require', "eval('1')"]) expect(() => parseExpression(bad)).toThrow();
  });
  test('references are listed with their static paths', () => {
    const refs = collectReferences(parseExpression("steps.rank.outputs.suspect.tag == inputs.tag && contains(facts.os.alias, env['X'])"));
    expect(refs.map((r) => `${r.context}:${r.path.join('.')}`)).toEqual(['steps:rank.outputs.suspect.tag', 'inputs:tag', 'facts:os.alias', 'env:X']);
  });
  test('findTemplates skips }} inside quoted strings and reports an unclosed ${{', () => {
    expect(findTemplates("a ${{ 'x}}y' }} b").map((p) => p.expression)).toEqual(["'x}}y'"]);
    expect(() => findTemplates('${{ inputs.tag ')).toThrow(/no closing/);
  });
});

describe('an expression reads only what it names', () => {
  // A step output JSON cannot carry (a BigInt): converting it throws, so a result shows it was not read.
  const scope: ExpressionScope = {
    inputs: { which: 'rank' },
    facts: { os: { alias: 'xp' } },
    steps: { rank: { outputs: { suspect: 'Abc ' }, status: 'ok' }, collect: { outputs: { huge: 1n }, status: 'ok' } },
    env: {},
  };

  test('a step named, in any case, is read without the others', () => {
    expect(evaluateTemplates('${{ steps.rank.outputs.suspect }}', scope)).toBe('Abc ');
    expect(evaluateTemplates("${{ steps['RANK'].outputs.suspect }}", scope)).toBe('Abc ');
    expect(evaluateCondition("steps.Rank.outputs.suspect == 'Abc ' && facts.os.alias == 'xp'", scope)).toBe(true);
  });

  test('a computed step or the whole context reads every step', () => {
    expect(() => evaluateTemplates('${{ steps[inputs.which].outputs.suspect }}', scope)).toThrow(/BigInt/);
    expect(() => evaluateTemplates('${{ toJSON(steps) }}', scope)).toThrow(/BigInt/);
    const plain = { ...scope, steps: { rank: scope.steps['rank']! } };
    expect(evaluateTemplates('${{ steps[inputs.which].outputs.suspect }}', plain)).toBe('Abc ');
  });
});

describe('an expression reads only the properties it names', () => {
  const scope: ExpressionScope = {
    inputs: {},
    facts: { os: { alias: 'xp', build: 2600 }, modules: [{ huge: 1n }] },
    steps: { rank: { outputs: { suspect: 'Abc ', table: { rows: 1n } }, status: 'ok' } },
    env: {},
  };

  test('a static path is read alone; a value at its end is read whole', () => {
    expect(evaluateCondition("facts.OS.alias == 'xp' && steps.rank.outputs.suspect == 'Abc '", scope)).toBe(true);
    expect(evaluateTemplates('${{ toJSON(facts.os) }}', scope)).toBe(JSON.stringify({ alias: 'xp', build: 2600 }, null, 2));
    expect(() => evaluateTemplates('${{ steps.rank.outputs.table }}', scope)).toThrow(/BigInt/);
    expect(evaluateTemplates('${{ steps.rank.outputs.nothing }}', scope)).toBeNull();
  });
});
