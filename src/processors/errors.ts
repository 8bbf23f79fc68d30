/**
 * A processor was given something it cannot work with: a parameter value of the wrong kind, an input
 * of the wrong shape, an unknown processor or task name. The engine throws it; the command that ran
 * the pipeline reports it as the user's mistake (naming the config file or category). Any other
 * error escaping a processor (a TypeError from a real bug included) is an internal error.
 */
export class ProcessorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProcessorError';
  }
}
