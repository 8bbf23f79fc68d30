import { Command, CommanderError } from 'commander';
import { InterruptedError, UserError } from './errors.js';
import { configureUsageErrors, errnoWords, optionErrorLine, systemErrorLine, usageLine } from './cli-usage.js';
import { commandPath, guardOutputs, OVERWRITE_GUARDED } from './io/output-guard.js';
import { removePendingTemporaries } from './util/atomic.js';
import { installInterruptHandlers } from './util/interrupt.js';
import { handleStdoutErrors } from './cli-output.js';
import { runSupervised, shouldSupervise, watchParentIfSupervised } from './util/supervise.js';
import { commands } from './commands/index.js';

/** Adds `--overwrite` to the commands whose output policy the preAction hook enforces. */
function addOverwriteOption(command: Command): void {
  if (OVERWRITE_GUARDED.has(commandPath(command)) && !command.options.some((o) => o.long === '--overwrite')) {
    command.option('--overwrite', 'replace an existing output (default: an existing output is refused)', false);
  }
  command.commands.forEach(addOverwriteOption);
}

/** Builds the commander program with every subcommand registered. */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name('xai-tools')
    .description('Dataset-wide explainable AI for ONNX models: LRP attributions, SpRAy analyses, heatmaps and a viewer')
    .version('0.1.0')
    .option('--debug', 'print stack traces for errors', false);
  for (const register of commands) register(program);
  program.commands.forEach(addOverwriteOption);
  // Subcommands get exitOverride and the quiet error output so usage errors reach main() as one line.
  configureUsageErrors(program);
  // Before any action: no output is an input, and an existing output needs --overwrite.
  program.hook('preAction', (_program, action) => guardOutputs(action));
  return program;
}

/** The subcommand argv names, for the usage hint of an option error raised inside an action. */
function commandOf(argv: string[]): string {
  const words = argv.slice(2).filter((a) => !a.startsWith('-'));
  return words[0] === 'project' && words[1] ? `project ${words[1]}` : (words[0] ?? '');
}

/** Runs the CLI; resolves to the process exit code (0 ok, 1 user error, 2 usage error, 130 interrupted). */
export async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  if (shouldSupervise(argv)) return runSupervised(argv);
  watchParentIfSupervised(argv);
  handleStdoutErrors(removePendingTemporaries, (error) => errnoWords(error.code) ?? error.message);
  installInterruptHandlers(removePendingTemporaries);
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    removePendingTemporaries();
    if (error instanceof CommanderError) {
      // --help and --version are "errors" with exit code 0.
      if (error.exitCode === 0) return 0;
      process.stderr.write(`${usageLine(error)}\n`);
      return 2;
    }
    if (error instanceof UserError) {
      // An error about an option (its `file` is the flag) is a usage error: exit 2 with the hint.
      const aboutOption = error.file?.startsWith('-') === true;
      // Engines sometimes quote an errno code, `cannot read (ELOOP)`: say it in words.
      const line = error.line.replace(/\b(E[A-Z]{2,})\b/g, (code) => errnoWords(code) ?? code);
      process.stderr.write(`${aboutOption ? optionErrorLine(line, commandOf(argv)) : `xai-tools: ${line}`}\n`);
      if (debug) process.stderr.write(`${error.stack}\n`);
      return aboutOption ? 2 : 1;
    }
    if (error instanceof InterruptedError) {
      process.stderr.write(`xai-tools: ${error.message}; no partial output was left under the final name\n`);
      return 130;
    }
    const system = systemErrorLine(error);
    if (system) {
      process.stderr.write(`${system}\n`);
      if (debug && error instanceof Error) process.stderr.write(`${error.stack}\n`);
      return 1;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`xai-tools: internal error: ${message.split('\n')[0]}${debug ? '' : ' (run with --debug for details)'}\n`);
    if (debug && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    return 1;
  }
}
