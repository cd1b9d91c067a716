/**
 * `leakhunt sim-host --state <dir> -- <command>`: the simulated target machine's command line
 * (gflags /r, reg query/add of GlobalFlag), sharing its registry with `leakhunt sim --host-state <dir>`.
 *
 * @see ../../../docs/simulator.md
 */
import type { Command } from 'commander';
import { parseFault } from '../../sim/console/faults.js';
import { runHostCommand } from '../../sim/host.js';
import { announceHold, environmentFaults } from '../../sim/process.js';

// A hold-at fault naming this command (LEAKHUNT_SIM_FAULTS, as for the simulator): wait for SIGUSR2
// before running it; a Ctrl+C meanwhile ends the command unrun, as it ends a remote command.
async function holdIfAsked(state: string, line: string): Promise<void> {
  const hold = environmentFaults().map(parseFault).find((fault) => fault.kind === 'hold-at' && fault.nth === 1 && line.includes(fault.text));
  if (!hold) return;
  await new Promise<void>((resolve) => {
    // A signal listener keeps no process alive: without a handle of its own the held command
    // would end at once, unrun and with nothing printed, while held.json says it holds.
    const keepAlive = setInterval(() => undefined, 2 ** 31 - 1);
    process.once('SIGUSR2', () => {
      clearInterval(keepAlive);
      resolve();
    });
    announceHold(state, `host command ${JSON.stringify(line)}`);
  });
}

/** Add the sim-host command. */
export function register(program: Command): void {
  program
    .command('sim-host')
    .description("Run a command on the simulated target machine (gflags /r, reg query/add GlobalFlag)")
    .requiredOption('--state <dir>', 'the target state folder the simulator reads at boot (its --host-state)')
    .argument('<command...>', 'the command line, after --')
    .addHelpText('after', `
Examples:
  $ leakhunt sim-host --state run/host -- gflags /r +ptg
  $ leakhunt sim-host --state run/host -- reg query "HKLM\\SYSTEM\\CurrentControlSet\\Control\\Session Manager" /v GlobalFlag`)
    .action(async (command: string[], options: { state: string }) => {
      await holdIfAsked(options.state, command.join(' '));
      const result = runHostCommand(options.state, command);
      process.stdout.write(result.stdout);
      process.exitCode = result.exitCode;
    });
}
