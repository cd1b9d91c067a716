// A provider test bench: a simulated kernel behind its in-process kd console, driven through the
// real kd-console session, facts and undo-logged memory, with a StepContext like the engine's.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSchemaCompiler } from '../../src/core/ajv.js';
import { bindKdCommand } from '../../src/core/kd-command.js';
import { createRunFiles } from '../../src/core/run-files.js';
import type { Facts, RunFiles, StepContext, StepOutcome, StepProvider, TargetMemory } from '../../src/core/types.js';
import { gatherFacts } from '../../src/debuggers/facts.js';
import { KdConsoleSession } from '../../src/debuggers/kd-console.js';
import { createTargetMemory } from '../../src/debuggers/memory.js';
import { createInProcessChannel, type InProcessChannel } from '../../src/sim/in-process.js';
import { readHostRegistry, runHostCommand, writeHostRegistry } from '../../src/sim/host.js';
import { createKernel } from '../../src/sim/kernel/index.js';
import type { SimKernel } from '../../src/sim/kernel-api.js';
import { loadScenario, scenarioForProfile, type Scenario } from '../../src/sim/scenario.js';

/** A step failure as a provider raises it through ctx.fail. */
export class StepFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
  }
}

/** One simulated target with what a provider needs. */
export interface Bench {
  scenario: Scenario;
  kernel: SimKernel;
  channel: InProcessChannel;
  session: KdConsoleSession;
  facts: Facts;
  files: RunFiles;
  memory: TargetMemory;
  outputs: Map<string, Record<string, unknown>>;
  /** Validate `params` against the provider's schema, then run it as step `id`. */
  run<P>(provider: StepProvider<P>, params: P, options?: { id?: string; host?: boolean; confirm?: (q: string) => Promise<boolean>; signal?: AbortSignal }): Promise<StepOutcome>;
  close(): Promise<void>;
}

const compiler = createSchemaCompiler();

/** Check `with` as the engine does (strict ajv, the provider's schema); returns the errors. */
export function withErrors(provider: StepProvider<any>, params: unknown): string[] {
  const validate = compiler.compile(provider.with);
  return validate(params) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

/** Open a bench on a profile's default leak scenario, or a scenario file from scenarios/. */
export async function openBench(
  source: { profile: string; taggingOn?: boolean; edit?: (scenario: Scenario) => void } | { scenario: string },
  options: { timeScale?: number } = {},
): Promise<Bench> {
  let scenario: Scenario;
  if ('profile' in source) {
    scenario = scenarioForProfile(source.profile);
    if (source.taggingOn) scenario.registry.globalFlag |= 0x400;
    source.edit?.(scenario);
  } else {
    scenario = loadScenario(new URL(`../../scenarios/${source.scenario}`, import.meta.url).pathname);
  }
  const kernel = createKernel(scenario);
  const channel = createInProcessChannel(kernel, { timeScale: options.timeScale ?? 1000 });
  const session = await KdConsoleSession.open(channel, { transport: 'kd-console', commandTimeoutMs: 60_000 });
  let facts = await gatherFacts(session, { kind: 'sim', spec: `sim:${scenario.profile}` });
  const dir = mkdtempSync(join(tmpdir(), 'leakhunt-bench-'));
  const files = createRunFiles(dir);
  let current = 'bench';
  const memory = createTargetMemory(session, files, () => current);
  const hostDir = join(dir, 'host');
  const outputs = new Map<string, Record<string, unknown>>();
  const bench: Bench = {
    scenario,
    kernel,
    channel,
    session,
    get facts() {
      return facts;
    },
    files,
    memory,
    outputs,
    async run(provider, params, runOptions = {}) {
      const errors = withErrors(provider, params);
      if (errors.length) throw new StepFailure('INVALID_WITH', errors.join('; '));
      current = runOptions.id ?? provider.uses;
      const controller = new AbortController();
      runOptions.signal?.addEventListener('abort', () => controller.abort(runOptions.signal!.reason), { once: true });
      const step = { id: current, uses: provider.uses, location: { file: 'bench', line: 1, column: 1 } };
      const context: StepContext = {
        step,
        facts,
        session,
        kd: bindKdCommand({ session, signal: controller.signal, step, facts }),
        memory,
        files,
        checkMode: false,
        signal: controller.signal,
        log: { debug: () => {}, info: () => {}, warn: () => {} },
        progress: { update: () => {} },
        inputs: {},
        outputsOf: (id) => outputs.get(id),
        ...(runOptions.host && {
          host: async (command: string) => {
            writeHostRegistry(hostDir, { globalFlag: kernel.registryGlobalFlag() });
            const result = runHostCommand(hostDir, command.split(/\s+/));
            kernel.setRegistryGlobalFlag(readHostRegistry(hostDir)!.globalFlag);
            return { exitCode: result.exitCode, stdout: result.stdout, stderr: '' };
          },
        }),
        ...(runOptions.confirm && { confirm: runOptions.confirm }),
        refreshFacts: async () => {
          facts = await gatherFacts(session, { kind: 'sim', spec: `sim:${scenario.profile}` });
          return facts;
        },
        fail(code, message, details = {}) {
          throw new StepFailure(code, message, details.hint);
        },
      };
      const outcome = await provider.run(params, context);
      outputs.set(current, outcome.outputs ?? {});
      if (outcome.status !== 'skipped' && outcome.facts) facts = { ...facts, ...outcome.facts } as Facts;
      return outcome;
    },
    async close() {
      await session.close({ resume: true });
      await channel.end();
    },
  };
  return bench;
}

/** The scenario's leaking sites (leak > 0) as module, function and tag. */
export function leakingSites(scenario: Scenario): { module: string; function: string; tag: string }[] {
  return scenario.modules.flatMap((m) => m.sites.filter((site) => site.leak > 0).map((site) => ({ module: site.module, function: site.function, tag: site.tag })));
}

/** One profile per family the brief names (2000/XP, 2003/Vista/7, 8.1/10 classic, 10 19H1+/11). */
export const familyProfiles = ['winxp-sp3-x86', 'win2000-sp4-x86', 'win2003-sp2-x86', 'win7-sp1-x64', 'win81-x64', 'win10-1809-x64', 'win10-22h2-x64', 'win11-24h2-x64'] as const;
