/**
 * `leakhunt plan <playbook> --os <version|alias|profile>`: which provider runs each step on
 * that Windows version, without a target; `--explain` says why every other candidate lost.
 */
import type { Command } from 'commander';
import { loadPlaybook, sortErrors } from '../../core/load.js';
import { planPlaybook, planToJson } from '../../core/plan.js';
import type { PlannedStep } from '../../core/plan.js';
import type { PlaybookScope } from '../../core/playbook.js';
import { errUsage, isPlaybookError } from '../../core/errors.js';
import type { Arch } from '../../core/types.js';
import { factsForOs, listAliases } from '../../core/versions.js';
import { findProfile, listProfiles } from '../../sim/profiles.js';
import { collect, exitCodes, loadPlugins, printErrors, projectPlaybook, reportFailure } from '../output.js';

const arches: readonly Arch[] = ['x86', 'x64', 'arm64'];

// One step's lines: number, id, step name, chosen provider, and (explained) the others.
function describeStep(planned: PlannedStep, index: number, explain: boolean): string[] {
  const { step } = planned;
  const lines = [`  ${String(index + 1).padStart(2)}. ${step.id.padEnd(18)} ${step.uses.padEnd(24)} → ${planned.plugin}/${planned.provider.id}`];
  // A step runs only when its own `when:` and every enclosing include's hold.
  const conditions: string[] = [];
  for (let scope: PlaybookScope | undefined = step.scope; scope; scope = scope.parent) {
    if (scope.when !== undefined) conditions.unshift(`${String(scope.when)} (include ${scope.key})`);
  }
  if (step.when !== undefined) conditions.push(String(step.when));
  if (conditions.length > 0) lines.push(`        when: ${conditions.join(' and ')}`);
  if (explain) {
    for (const c of planned.trace.candidates) lines.push(`        ${c.accepted ? '✓' : '✗'} ${c.plugin}/${c.provider}${c.os ? ` [os ${c.os}]` : ''}${c.arch ? ` [arch ${c.arch.join(',')}]` : ''}: ${c.reason}`);
  }
  return lines;
}

/** Add the plan command. */
export function register(program: Command): void {
  program
    .command('plan')
    .description('Show which plugin/provider runs each step on a Windows version, without a target')
    .usage('<playbook> --os <os> [options]')
    .argument('[playbook]', 'playbook file')
    .option('--os <os>', 'a version (5.1.2600), an alias (win2000, xp, 2003, vista, win7, win8, win81, win10, win10-19h1+, win11) or a simulator profile id')
    .option('--arch <arch>', 'x86, x64 or arm64 (default: the profile\'s, x86 before 5.2, else x64)')
    .option('--explain', 'list every candidate provider and why it was or was not chosen')
    .option('--json', 'print the plan as JSON')
    .option('--plugins <dir|package>', 'also load plugins from this folder or installed package (repeatable; leakhunt.config.yaml can name them too)', collect, [])
    .addHelpText('after', () => `
Examples:
  $ leakhunt plan playbooks/find-pool-leak.yaml --os xp
  $ leakhunt plan playbooks/find-pool-leak.yaml --os win11 --explain
  $ leakhunt plan playbooks/find-pool-leak.yaml --os 10.0.19045 --arch x64
  $ leakhunt plan playbooks/find-pool-leak.yaml --os winxp-sp3-x86

Aliases: ${listAliases().map((a) => `${a.name} (${a.range})`).join(', ')}
Profiles: ${listProfiles().map((profile) => profile.id).join(', ')}`)
    .action(async (file: string | undefined, options: { os?: string; arch?: string; explain?: boolean; json?: boolean; plugins: string[] }, command: Command) => {
      // Nothing to plan: say what is missing, then how the command is used.
      const missing = file === undefined ? 'a playbook' : options.os === undefined ? 'the --os option' : undefined;
      if (missing !== undefined) {
        process.stderr.write(`error: plan needs ${missing}\n\n${command.helpInformation()}`);
        process.exitCode = exitCodes.invalid;
        return;
      }
      if (options.arch !== undefined && !arches.includes(options.arch as Arch)) {
        process.exitCode = reportFailure(errUsage(`Expected --arch to be x86, x64 or arm64, got "${options.arch}"`));
        return;
      }
      let facts;
      try {
        // A simulator profile id is resolved here: the engine does not know the simulator.
        facts = factsForOs(options.os!, options.arch as Arch | undefined, findProfile(options.os!));
      } catch (error) {
        process.exitCode = isPlaybookError(error) ? reportFailure(error) : reportFailure(error);
        return;
      }
      const registry = await loadPlugins(options.plugins);
      if (!registry) return;
      const loaded = loadPlaybook(projectPlaybook(file!), { registry });
      if (!loaded.playbook) {
        printErrors(sortErrors(loaded.errors));
        process.exitCode = exitCodes.invalid;
        return;
      }
      const { plan, errors } = planPlaybook(loaded.playbook, facts, registry);
      if (!plan) {
        printErrors(errors);
        process.exitCode = exitCodes.invalid;
        return;
      }
      if (options.json) {
        process.stdout.write(`${JSON.stringify(planToJson(plan), null, 2)}\n`);
        return;
      }
      const out: string[] = [`${plan.playbook.name} on ${facts.os.alias} ${facts.os.version} ${facts.os.arch}`];
      plan.steps.forEach((p, i) => out.push(...describeStep(p, i, options.explain === true)));
      if (plan.always.length) {
        out.push('always (cleanup, on every exit path):');
        plan.always.forEach((p, i) => out.push(...describeStep(p, i, options.explain === true)));
      }
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
