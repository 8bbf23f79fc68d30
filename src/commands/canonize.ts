import { InvalidArgumentError, type Command } from 'commander';
import { resolve } from 'node:path';
import { checkJsonWithStdout, jsonOption, report, STDOUT_NAME, toStdout, writeStdout } from '../cli-output.js';
import { UserError } from '../errors.js';
import { isStdin, readStdin, STDIN_NAME } from '../util/stdin.js';

interface CanonizeCommandOptions {
  output: string;
  mergeBatchnorm: boolean;
  keepSoftmax?: boolean;
  inputShape?: number[];
  quiet?: boolean;
  json?: boolean;
}

/** `merge-batchnorm: merged …` lines counted by their pass name: { "merge-batchnorm": 3 }. */
function countByPass(changes: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of changes) {
    const pass = line.split(':')[0]!;
    counts[pass] = (counts[pass] ?? 0) + 1;
  }
  return counts;
}

/** `1,3,224,224` → [1, 3, 224, 224]. */
function parseShape(value: string): number[] {
  const dims = value.split(/[,x]/).map((d) => d.trim());
  if (dims.length === 0 || dims.some((d) => !/^\d+$/.test(d) || Number(d) < 1)) {
    throw new InvalidArgumentError(`"${value}" is not a shape like 1,3,224,224 (positive integers separated by commas)`);
  }
  return dims.map(Number);
}

export function register(program: Command): void {
  program
    .command('canonize')
    .description(
      'rewrite an ONNX model into the canonical form LRP rules expect: fold constants, drop Identity/Dropout, ' +
        'fuse MatMul+Add into Gemm, fold BatchNormalization into the preceding Conv/ConvTranspose/Gemm, ' +
        'recognise x*Sigmoid(x) as SiLU, strip a trailing Softmax; prints what it changed',
    )
    .argument('<model>', 'ONNX model to canonize, or - to read it from stdin')
    .requiredOption('-o, --output <file>', 'where to write the canonical model (written atomically; - for stdout) (required)')
    .option('--no-merge-batchnorm', 'keep BatchNormalization nodes instead of folding them into the preceding layer (default: fold)')
    .option('--keep-softmax', 'keep a trailing Softmax/LogSoftmax (default: strip it so the output holds the logits)')
    .option(
      '--input-shape <dims>',
      'concrete input shape (e.g. 1,3,224,224) to fold shape computations such as x.view(x.size(0), -1); bakes that batch size into the ' +
        'model (default: none, the model stays batch-size independent)',
      parseShape,
    )
    .option('-q, --quiet', 'do not print the list of changes (default: print it)')
    .addOption(jsonOption())
    .action(async (modelPath: string, options: CanonizeCommandOptions) => {
      checkJsonWithStdout(options);
      // Loaded here, not at start-up: defining the command (and --help) must not load the engines.
      const [{ canonize, lowerMarkers }, { decodeModel, encodeModel, readModel, writeModel }] = await Promise.all([
        import('../lrp/canonize/index.js'),
        import('../onnx/codec.js'),
      ]);
      const fromStdin = isStdin(modelPath);
      // From stdin there is no directory for external tensor data, so such a model is refused (decodeModel).
      const model = fromStdin ? decodeModel(readStdin('an ONNX model'), { source: STDIN_NAME }) : readModel(modelPath);
      const source = fromStdin ? STDIN_NAME : modelPath;
      const { model: canonical, changes } = canonize(model, {
        mergeBatchNorm: options.mergeBatchnorm,
        keepSoftmax: options.keepSoftmax ?? false,
        inputShape: options.inputShape,
        source,
      });
      // SiLU markers are for the relevance compiler only; the written model must run anywhere.
      lowerMarkers(canonical);
      try {
        if (toStdout(options)) await writeStdout(encodeModel(canonical));
        else await writeModel(options.output, canonical);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        throw new UserError(
          toStdout(options) ? STDOUT_NAME : options.output,
          `cannot write the model (${code ?? (error instanceof Error ? error.message : String(error))})`,
        );
      }
      const nodes = canonical.graph.nodes.length;
      const lines = changes.length > 0 ? changes : ['nothing to change: the model is already canonical'];
      const output = toStdout(options) ? null : resolve(options.output);
      report(
        { json: options.json, outputOnStdout: toStdout(options) },
        { input: fromStdin ? null : resolve(modelPath), output, changes, passes: countByPass(changes), nodes, nodesBefore: model.graph.nodes.length },
        options.quiet ? [] : [...lines, `wrote ${output === null ? 'stdout' : options.output} (${nodes} nodes, was ${model.graph.nodes.length})`],
      );
    });
}
