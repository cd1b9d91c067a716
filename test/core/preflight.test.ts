// Pre-flight (src/core/preflight.ts): with: values whose expressions read only input defaults,
// --input values, include bindings, env or literals are checked against the with schema of every
// provider of their step before connecting, at the expression, naming where the value came from.
import { describe, expect, test } from 'vitest';
import { loadPlaybook } from '../../src/core/load.js';
import { preflightWith } from '../../src/core/preflight.js';
import { createRegistry } from '../../src/core/registry.js';
import type { StepProvider } from '../../src/core/types.js';
import { writeTree, yaml } from './helpers.js';

// Two providers of one step that accept different tags: upper case on x86, lower case on x64.
const provider = (arch: 'x86' | 'x64', pattern: string): StepProvider => ({
  uses: 't.set',
  id: `set-${arch}`,
  description: `Sets a tag on ${arch}.`,
  appliesTo: { arch: [arch] },
  with: { type: 'object', additionalProperties: false, required: ['tag'], properties: { tag: { type: 'string', pattern }, count: { type: 'integer', minimum: 1 } } },
  outputs: {},
  run: async () => ({ status: 'ok' }),
});
const registry = createRegistry([{ plugin: { name: 't', steps: [provider('x86', '^[A-Z]{1,4}$'), provider('x64', '^[a-z]{1,4}$')] }, source: 'inline' }]);

// Load files written to a temp folder; errors as `CODE file:line:col message`.
function load(files: Record<string, string>, main = 'main.yaml') {
  const dir = writeTree(files);
  const result = loadPlaybook(main, { registry, cwd: dir });
  return { result, errors: result.errors.map((e) => `${e.code} ${e.location?.file}:${e.location?.line}:${e.location?.column} ${e.message}`) };
}

describe('load: input defaults', () => {
  test('a default that no provider accepts is INVALID_WITH at the expression, naming the default', () => {
    const { errors } = load({
      'main.yaml': yaml`
        name: p
        inputs:
          tag: { type: string, default: "A;b" }
        steps:
          - uses: t.set
            with:
              tag: \${{ inputs.tag }}
      `,
    });
    expect(errors).toEqual(['INVALID_WITH main.yaml:7:12 "t.set" with: Expected with.tag to match ^[A-Z]{1,4}$, got "A;b" (string), where inputs.tag is the default at main.yaml:3:33']);
  });

  test('a default one provider accepts passes (the target decides which runs)', () => {
    for (const tag of ['ABC', 'abc']) {
      const { errors } = load({ 'main.yaml': `name: p\ninputs:\n  tag: { type: string, default: ${tag} }\nsteps:\n  - uses: t.set\n    with: { tag: "\${{ inputs.tag }}" }\n` });
      expect(errors).toEqual([]);
    }
  });

  test('embedded expressions, env and expression literals are resolved too', () => {
    const { errors } = load({
      'main.yaml': yaml`
        name: p
        inputs:
          tag: { type: string, default: "B" }
        env:
          T: "\${{ inputs.tag }};g"
        steps:
          - uses: t.set
            with: { tag: "A\${{ inputs.tag }}" }
          - uses: t.set
            with: { tag: "\${{ env.T }}" }
          - uses: t.set
            with: { tag: "\${{ 'A;.shell' }}" }
          - uses: t.set
            with: { tag: ABC, count: "\${{ 0 }}" }
      `,
    });
    expect(errors).toEqual([
      'INVALID_WITH main.yaml:10:18 "t.set" with: Expected with.tag to match ^[A-Z]{1,4}$, got "B;g" (string), where env.T is set in main.yaml, where inputs.tag is the default at main.yaml:3:33',
      'INVALID_WITH main.yaml:12:18 "t.set" with: Expected with.tag to match ^[A-Z]{1,4}$, got "A;.shell" (string)',
      'INVALID_WITH main.yaml:14:30 "t.set" with: with.count must be >= 1',
    ]);
  });

  test('values known only after connecting (facts, steps, inputs without a default) are left to run time', () => {
    const { errors } = load({
      'main.yaml': yaml`
        name: p
        inputs:
          given: { type: string }
        steps:
          - id: first
            uses: t.set
            with: { tag: "\${{ facts.os.arch }}" }
          - uses: t.set
            with: { tag: "\${{ inputs.given }}" }
          - uses: t.set
            with: { tag: "\${{ success() && 'A;b' || 'A' }}" }
      `,
    });
    expect(errors).toEqual([]);
  });

  test('a step whose when: is known to be false is not checked; an unknown when: is', () => {
    const files = (when: string) => ({
      'main.yaml': `name: p\ninputs:\n  tag: { type: string, default: "" }\nsteps:\n  - uses: t.set\n    when: ${when}\n    with: { tag: "\${{ inputs.tag }}" }\n`,
    });
    expect(load(files("${{ inputs.tag != '' }}")).errors).toEqual([]);
    expect(load(files('false')).errors).toEqual([]);
    expect(load(files('${{ facts.os.arch == \'x86\' }}')).errors.map((e) => e.split(' ')[0])).toEqual(['INVALID_WITH']);
  });
});

describe('load: include bindings', () => {
  const included = yaml`
    name: inner
    inputs:
      tag: { type: string }
    steps:
      - uses: t.set
        with: { tag: "\${{ inputs.tag }}" }
  `;

  test('a literal binding is checked at the included expression, naming the binding', () => {
    const { errors } = load({ 'main.yaml': 'name: p\nsteps:\n  - include: inner.yaml\n    with: { tag: "A;.shell" }\n', 'inner.yaml': included });
    expect(errors).toEqual(['INVALID_WITH inner.yaml:6:18 "t.set" with: Expected with.tag to match ^[A-Z]{1,4}$, got "A;.shell" (string), where inputs.tag is bound at main.yaml:4:18']);
  });

  test('a binding through the parent\'s default names the whole way', () => {
    const { errors } = load({
      'main.yaml': 'name: p\ninputs:\n  outer: { type: string, default: "x y" }\nsteps:\n  - include: inner.yaml\n    with: { tag: "${{ inputs.outer }}" }\n',
      'inner.yaml': included,
    });
    expect(errors).toEqual([
      'INVALID_WITH inner.yaml:6:18 "t.set" with: Expected with.tag to match ^[A-Z]{1,4}$, got "x y" (string), where inputs.tag is bound at main.yaml:6:18, where inputs.outer is the default at main.yaml:3:35',
    ]);
  });

  test('a binding that reads facts is left to run time; an include whose when: is false is not checked', () => {
    expect(load({ 'main.yaml': 'name: p\nsteps:\n  - include: inner.yaml\n    with: { tag: "${{ facts.os.arch }}" }\n', 'inner.yaml': included }).errors).toEqual([]);
    expect(load({ 'main.yaml': 'name: p\nsteps:\n  - include: inner.yaml\n    when: false\n    with: { tag: "A;b" }\n', 'inner.yaml': included }).errors).toEqual([]);
  });

  test('a binding from an expression that breaks the input\'s type is INVALID_INPUT at the binding', () => {
    const { errors } = load({
      'main.yaml': 'name: p\ninputs:\n  n: { type: integer, default: 3 }\nsteps:\n  - include: inner.yaml\n    with: { tag: "${{ inputs.n }}" }\n',
      'inner.yaml': included,
    });
    expect(errors[0]).toBe('INVALID_INPUT main.yaml:6:18 Input "tag": expected a string, got 3 (number), where inputs.n is the default at main.yaml:3:32');
  });
});

describe('run: --input values', () => {
  const files = {
    'main.yaml': yaml`
      name: p
      inputs:
        tag: { type: string, default: ABC }
      steps:
        - uses: t.set
          with: { tag: "\${{ inputs.tag }}" }
    `,
  };

  test('a value given with --input that no provider accepts is refused, naming --input', () => {
    const { result } = load(files);
    expect(result.errors).toEqual([]);
    const refused = preflightWith(result.playbook!, registry, { inputs: { tag: 'A;.shell calc' }, given: ['tag'] });
    expect(refused.map((e) => `${e.code} ${e.location?.line}:${e.location?.column} ${e.message}`)).toEqual([
      'INVALID_WITH 6:18 "t.set" with: Expected with.tag to match ^[A-Z]{1,4}$, got "A;.shell calc" (string), where inputs.tag is set by --input tag',
    ]);
  });

  test('good values pass, and every root input counts as known once run resolved them', () => {
    const { result } = load(files);
    expect(preflightWith(result.playbook!, registry, { inputs: { tag: 'abc' }, given: ['tag'] })).toEqual([]);
    expect(preflightWith(result.playbook!, registry, { inputs: { tag: 'ABC' } })).toEqual([]);
  });
});
