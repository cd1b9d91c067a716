/**
 * Check mode (`run --check`): walk the plan with the target's facts, evaluate what can be
 * evaluated, and list the debugger commands each step would send. Providers' run() is never
 * called, and the session is not handed to anything, so nothing reaches the target.
 *
 * @see ../../docs/playbooks.md#check-mode
 */
import type { EventBus } from './events.js';
import { now } from './events.js';
import { collectReferences, evaluateCondition, evaluateTemplates, findTemplates, parseExpression } from './expressions.js';
import type { ExpressionScope } from './expressions.js';
import type { Plan, PlannedStep } from './plan.js';
import { planSummary } from './plan.js';
import type { PlaybookScope } from './playbook.js';

/** What check mode found for one step. */
export interface CheckedStep {
  id: string;
  uses: string;
  section: 'steps' | 'always';
  plugin: string;
  provider: string;
  /** Commands the step would send; absent when the provider has no check mode. */
  commands?: string[];
  /** `would run`, `would be skipped: …`, `depends on earlier outputs`, `no check mode`. */
  note: string;
}

// Inputs of a scope for check mode: root inputs, or include bindings resolved as far as possible.
function scopeInputs(scope: PlaybookScope, root: Readonly<Record<string, unknown>>, facts: unknown): Readonly<Record<string, unknown>> {
  if (!scope.parent) return root;
  const parent = scopeInputs(scope.parent, root, facts);
  const out: Record<string, unknown> = {};
  for (const decl of Object.values(scope.inputs)) {
    if (decl.name in scope.bindings) {
      try {
        out[decl.name] = evaluateTemplates(scope.bindings[decl.name], { inputs: parent, facts, steps: {}, env: {} });
      } catch {
        out[decl.name] = null;
      }
    } else if (decl.default !== undefined) out[decl.name] = decl.default;
  }
  return out;
}

// True when a string's expressions read outputs of steps, which check mode never runs.
function readsStepOutputs(text: string): boolean {
  return findTemplates(text).some((part) => collectReferences(parseExpression(part.expression)).some((ref) => ref.context === 'steps'));
}

/** A `with:` value check mode cannot know (it reads step outputs): the placeholder providers get. */
class RuntimeValue {
  constructor(readonly expression: string) {}

  toString(): string {
    return `<${this.expression}>`;
  }

  toJSON(): string {
    return this.toString();
  }
}

// The expression of a value known only at run time: the template's inside when the text is one
// whole `${{ … }}`, else the text as written.
function runtimeExpression(text: string): string {
  const whole = /^\$\{\{\s*([\s\S]*?)\s*\}\}$/.exec(text.trim());
  return whole && !whole[1]!.includes('}}') ? whole[1]! : text;
}

// Resolve what check mode can know; strings that read step outputs become RuntimeValues, listed
// in `later` as `path = text` for the check line.
function resolveKnown(value: unknown, scope: ExpressionScope, path = 'with', later: string[] = []): { value: unknown; later: string[] } {
  if (typeof value === 'string') {
    if (readsStepOutputs(value)) {
      later.push(`${path} = ${value}`);
      return { value: new RuntimeValue(runtimeExpression(value)), later };
    }
    return { value: evaluateTemplates(value, scope), later };
  }
  if (Array.isArray(value)) return { value: value.map((item, index) => resolveKnown(item, scope, `${path}[${index}]`, later).value), later };
  if (value && typeof value === 'object') {
    return { value: Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolveKnown(item, scope, `${path}.${key}`, later).value])), later };
  }
  return { value, later };
}

/** List, per step, the commands it would send; emits the same events as a run. */
export function checkPlan(plan: Plan, inputs: Readonly<Record<string, unknown>>, bus: EventBus, runDir?: string): CheckedStep[] {
  const { facts } = plan;
  bus.emit({
    event: 'runStart',
    time: now(),
    playbook: plan.playbook.name,
    file: plan.playbook.file,
    check: true,
    ...(runDir && { runDir }),
    target: { kind: facts.target?.kind ?? 'unknown', spec: facts.target?.spec ?? '', os: `${facts.os.alias} ${facts.os.version}`, arch: facts.os.arch },
    steps: planSummary(plan),
  });
  const checked: CheckedStep[] = [];
  const started = Date.now();
  const visit = (planned: PlannedStep) => {
    const { step, provider, plugin } = planned;
    const stepInputs = scopeInputs(step.scope, inputs, facts);
    const scope: ExpressionScope = { inputs: stepInputs, facts, steps: {}, env: {}, status: { failed: false, cancelled: false } };
    try {
      scope.env = evaluateTemplates(step.scope.env, scope) as Record<string, unknown>;
    } catch {
      // env that reads step outputs stays unresolved in check mode
    }
    let note = 'would run';
    if (step.when !== undefined) {
      try {
        if (typeof step.when === 'string' && readsStepOutputs(step.when.includes('${{') ? step.when : `\${{ ${step.when} }}`)) note = 'runs if when: holds (it reads earlier outputs)';
        else note = evaluateCondition(step.when, scope) ? 'would run' : `would be skipped: when: ${String(step.when)} is false`;
      } catch {
        note = 'when: could not be evaluated before the run';
      }
    }
    let params: Record<string, unknown> = {};
    let later: string[] = [];
    try {
      const resolved = resolveKnown(step.with, scope);
      params = resolved.value as Record<string, unknown>;
      later = resolved.later;
      if (later.length) note += `; known at run time: ${later.join(', ')}`;
    } catch {
      note += '; with: could not be resolved before the run';
    }
    let commands: string[] | undefined;
    if (provider.checkCommands) {
      try {
        const atRunTime = (value: unknown) => (value instanceof RuntimeValue ? value.expression : undefined);
        commands = provider.checkCommands(params, { step: { id: step.id, ...(step.name && { name: step.name }), uses: step.uses, location: step.location }, facts, atRunTime });
      } catch (error) {
        // A provider that cannot list commands without those values: say so, not its error.
        note += later.length ? '; its commands depend on those values' : `; its commands cannot be listed before the run (${(error as Error).message})`;
      }
    } else {
      note += '; no check mode: the step would be skipped under --check';
    }
    const entry: CheckedStep = { id: step.id, uses: step.uses, section: step.section, plugin, provider: provider.id, ...(commands && { commands }), note };
    checked.push(entry);
    bus.emit({ event: 'stepEnd', time: now(), step: step.id, uses: step.uses, section: step.section, status: 'skipped', durationMs: 0, attempts: 0, outputs: {}, reason: `check mode: ${note}`, commands: commands ?? [] });
  };
  plan.steps.forEach(visit);
  plan.always.forEach(visit);
  bus.emit({ event: 'runEnd', time: now(), status: 'succeeded', durationMs: Date.now() - started, counts: { ok: 0, changed: 0, skipped: checked.length, failed: 0 }, restoredWrites: 0 });
  return checked;
}
