/**
 * Turns every usage error into one line, `xai-tools: <option>: <problem> (see xai-tools <cmd> --help)`,
 * exit code 2: commander's own parse errors and the UserErrors the commands raise about an option
 * (their `file` is the option name). Also names system errors (ENOENT, ENOSPC, …) in plain words so
 * a full disk or a missing directory is never reported as an internal error.
 */
import type { Command, CommanderError } from 'commander';
import { commandPath } from './io/output-guard.js';

/** The command whose parsing failed last (set by each command's outputError). */
let failedCommand = '';

/** Installs the quiet error output on `command` and its subcommands (main prints the one line). */
export function configureUsageErrors(command: Command): void {
  command.showHelpAfterError(false);
  command.exitOverride();
  command.configureOutput({
    outputError: () => {
      failedCommand = commandPath(command);
    },
  });
  command.commands.forEach(configureUsageErrors);
}

function hint(command: string): string {
  return `(see xai-tools ${command ? `${command} ` : ''}--help)`;
}

/** The long flag of a commander flags string: `-o, --output <file>` → `--output`. */
function flagOf(flags: string): string {
  return /--[\w-]+/.exec(flags)?.[0] ?? flags.split(/[ ,]/)[0]!;
}

const tidy = (problem: string): string =>
  problem
    .replace(/\s+/g, ' ')
    .replace(/\.$/, '')
    .replace(/^Allowed/, 'allowed');

/** Commander's messages (after `error: `) and their one-line form; `more` is a "(Did you mean …?)" suffix. */
const COMMANDER_MESSAGES: Array<[RegExp, (m: RegExpExecArray, more: string) => string]> = [
  [
    /^option '([^']+)' argument '(.*)' is invalid\.\s*(.*)$/s,
    (m) => {
      const problem = m[3] ? tidy(m[3]) : `invalid value '${m[2]}'`;
      const quoted = problem.includes(`"${m[2]}"`) || problem.includes(`'${m[2]}'`);
      return `${flagOf(m[1]!)}: ${problem}${m[3] && !quoted ? ` (got '${m[2]}')` : ''}`;
    },
  ],
  [/^command-argument value '(.*)' is invalid for argument '([^']+)'\.\s*(.*)$/s, (m) => `<${m[2]}>: ${m[3] ? tidy(m[3]) : `invalid value '${m[1]}'`}`],
  [/^required option '([^']+)' not specified/, (m) => `${flagOf(m[1]!)}: is required`],
  [/^option '([^']+)' argument missing/, (m) => `${flagOf(m[1]!)}: needs a value`],
  [/^unknown option '([^']+)'/, (m, more) => `${m[1]}: unknown option${more}`],
  [/^missing required argument '([^']+)'/, (m) => `<${m[1]}>: is missing`],
  [/^unknown command '([^']+)'/, (m, more) => `${m[1]}: unknown command${more}`],
  [/^too many arguments(?: for '([^']+)')?\. ([^\n]*)/, (m) => `${m[1] ?? 'xai-tools'}: too many arguments (${m[2]!.replace(/\.$/, '').toLowerCase()})`],
];

/** Rewrites a commander error message into `<option>: <problem>`. */
export function usageProblem(error: CommanderError): string {
  const text = error.message.replace(/^error: /, '');
  const didYouMean = /\(Did you mean (.+)\?\)/.exec(text);
  const more = didYouMean ? ` (did you mean ${didYouMean[1]}?)` : '';
  for (const [pattern, format] of COMMANDER_MESSAGES) {
    const m = pattern.exec(text);
    if (m) return format(m, more);
  }
  return text.split('\n')[0]!;
}

/** The one line for a commander usage error. */
export function usageLine(error: CommanderError): string {
  const line = `xai-tools: ${usageProblem(error)} ${hint(failedCommand)}`;
  failedCommand = '';
  return line;
}

/** The one line for a UserError about an option (raised while the action checked its options). */
export function optionErrorLine(line: string, command: string): string {
  return `xai-tools: ${line} ${hint(command)}`;
}

const ERRNO_WORDS: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EISDIR: 'is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  ELOOP: 'too many levels of symbolic links',
  EROFS: 'read-only file system',
  EEXIST: 'already exists',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'file name too long',
  EIO: 'input/output error',
  EFBIG: 'file too large',
  EBUSY: 'resource busy',
  ENXIO: 'no such device or address',
};

/** Plain words for an errno code (`ENOSPC` → `no space left on device`); undefined when unknown. */
export function errnoWords(code: string | undefined): string | undefined {
  return code ? ERRNO_WORDS[code] : undefined;
}

/** The one line for a system error the user or the machine caused, or undefined for a real bug. */
export function systemErrorLine(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const errno = error as NodeJS.ErrnoException;
  let words = errnoWords(errno.code);
  // h5wasm reports a full disk only as "file write failed: … errno = 28"; name it.
  if (!words && /errno = 28\b|No space left on device/i.test(error.message)) words = ERRNO_WORDS.ENOSPC;
  if (!words) return undefined;
  return `xai-tools: ${errno.path ? `${errno.path}: ` : ''}${words}`;
}
