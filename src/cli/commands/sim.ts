/**
 * `leakhunt sim`: the simulated Windows target behind kd's console on stdin/stdout, spawned
 * like kd.exe by the kd-console transport.
 *
 * @see ../../../docs/simulator.md
 */
import { type Command, InvalidArgumentError } from 'commander';
import { FaultSpecError } from '../../sim/console/faults.js';
import { DEFAULT_TIME_SCALE, processIo, runSimProcess } from '../../sim/process.js';
import { formatProblem, isScenarioError } from '../../sim/scenario.js';

// Repeatable option values.
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

// A number option, or a usage error naming the option.
function numberOption(name: string): (value: string) => number {
  return (value) => {
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed < 0) throw new InvalidArgumentError(`${name} expects a non-negative number, got "${value}"`);
    return parsed;
  };
}

interface SimCliOptions {
  scenario?: string;
  profile?: string;
  seed?: number;
  timeScale: number;
  latency?: number;
  bandwidth?: number;
  stateOut?: string;
  fault: string[];
  hostState?: string;
  initialBreak: boolean;
}

/** Add the sim command. */
export function register(program: Command): void {
  program
    .command('sim')
    .description("Run the simulated Windows kernel target behind kd's console on stdin/stdout")
    .option('--scenario <file>', 'scenario YAML (schemas/sim-scenario.schema.json)')
    .option('--profile <id>', 'built-in profile with its default leak, e.g. winxp-sp3-x86, win11-24h2-x64; with --scenario, the profile its drivers run on')
    .option('--seed <n>', 'random seed (overrides the scenario)', numberOption('--seed'))
    .option('--time-scale <n>', 'target seconds per real second while the target runs', numberOption('--time-scale'), DEFAULT_TIME_SCALE)
    .option('--latency <ms>', 'delay every response, like a slow link', numberOption('--latency'))
    .option('--bandwidth <bytes/s>', 'throttle output, e.g. 11520 for a 115,200-baud serial port', numberOption('--bandwidth'))
    .option('--state-out <file>', "write the kernel's final state as JSON when the process ends")
    .option('--fault <spec>', 'inject a fault: exit-after:N, garbage:P, truncate:N, stall:N@S, reboot-at:T (repeatable)', collect, [])
    .option('--host-state <dir>', "the target's registry, shared with `leakhunt sim-host --state <dir>`; read at every boot")
    .option('--no-initial-break', 'do not break in on connect and after a reboot (the target keeps running)')
    .addHelpText('after', `
Examples:
  $ leakhunt sim                                     the default scenario (Windows XP, tag 'Abc ' leaks)
  $ leakhunt sim --profile win10-22h2-x64 --seed 7
  $ leakhunt sim --scenario scenarios/nonpaged-leak.yaml --state-out state.json
  $ leakhunt sim --scenario scenarios/win10-1809-leak.yaml --profile win7-sp1-x64   its drivers on Windows 7
  $ leakhunt sim --fault exit-after:20 --fault garbage:0.05

Ctrl+C breaks into the running target, as in kd. No scenario and no profile runs the default scenario.`)
    .action(async (options: SimCliOptions) => {
      try {
        const code = await runSimProcess(
          {
            scenario: options.scenario,
            profile: options.profile,
            seed: options.seed,
            timeScale: options.timeScale,
            latencyMs: options.latency,
            bandwidth: options.bandwidth,
            stateOut: options.stateOut,
            faults: options.fault,
            hostState: options.hostState,
            initialBreak: options.initialBreak,
          },
          processIo(),
        );
        process.stdin.pause();
        process.stdout.write('', () => process.exit(code));
      } catch (error) {
        if (isScenarioError(error)) {
          for (const problem of error.problems) process.stderr.write(`${formatProblem(problem)}\n`);
        } else if (error instanceof FaultSpecError) {
          process.stderr.write(`${error.message}\n`);
        } else {
          throw error;
        }
        process.exitCode = 2;
      }
    });
}
