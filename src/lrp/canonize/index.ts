/**
 * Canonization: the graph passes that turn an exported model into the form LRP rules expect
 * (docs/lrp.md §6). `canonize` runs `canonizePasses` in order on a private copy of the model:
 *
 *  1. fold-constants   constant subgraphs → initializers (with `inputShape`: shape chains too)
 *  2. drop-identity    Identity and inference Dropout removed
 *  3. fuse-dense       MatMul(+Add) and Gemm → canonical Gemm(x, W[N,K], b[N], transB=1)
 *  4. merge-batchnorm  BN folded into the preceding Conv/ConvTranspose/Gemm (sole reader only)
 *  5. silu             x·Sigmoid(x) → marker node `xai.tools:SiLU` (in-memory only; see silu.ts)
 *  6. strip-softmax    a trailing Softmax/LogSoftmax removed; the output then holds the logits
 *
 * then removes dead nodes and drops intermediate value infos (they may be stale; shapes are
 * recomputed by `inferShapes`). The canonical model computes the same outputs as the original
 * (up to float32 rounding of folded weights), except for a stripped softmax.
 */
import { UserError } from '../../errors.js';
import { cloneModel, removeDeadCode } from '../../onnx/graph.js';
import type { Model } from '../../onnx/ir.js';
import { dropIdentityPass } from './drop-identity.js';
import { foldConstantsPass } from './fold-constants.js';
import { fuseDensePass } from './fuse-dense.js';
import { mergeBatchNormPass } from './merge-batchnorm.js';
import { siluPass } from './silu.js';
import { stripSoftmaxPass } from './strip-softmax.js';
import type { CanonizeOptions, CanonizePass } from './types.js';

export { lowerMarkers } from './silu.js';
export { MARKER_DOMAIN, type CanonizeOptions, type CanonizePass } from './types.js';

/** Every pass, in the order `canonize` applies them. */
export const canonizePasses: readonly CanonizePass[] = [foldConstantsPass, dropIdentityPass, fuseDensePass, mergeBatchNormPass, siluPass, stripSoftmaxPass];

export interface CanonizeResult {
  /** The canonical model (a new object; the input is not modified). */
  model: Model;
  /** What changed, one line per change, prefixed by the pass name (`merge-batchnorm: merged …`). */
  changes: string[];
}

/**
 * Canonizes `model` (see the module comment). Options default to: merge batch norms, strip a
 * trailing softmax, SiLU markers on, no concrete input shape. Call `lowerMarkers(result.model)`
 * before encoding the result for onnxruntime. Throws `UserError(options.source, …)` when a pass
 * finds the graph inconsistent.
 */
export function canonize(model: Model, options: CanonizeOptions = {}): CanonizeResult {
  const resolved = {
    mergeBatchNorm: options.mergeBatchNorm ?? true,
    keepSoftmax: options.keepSoftmax ?? false,
    siluMarker: options.siluMarker ?? true,
    inputShape: options.inputShape,
  };
  if (options.inputShape) checkInputShape(model, options.inputShape);
  const out = cloneModel(model);
  const changes: string[] = [];
  for (const pass of canonizePasses) {
    let lines: string[];
    try {
      lines = pass.run(out, resolved);
    } catch (error) {
      // Passes throw plain Errors for graphs they find inconsistent (shapes that do not broadcast, …).
      if (error instanceof UserError) throw error;
      throw new UserError(options.source, `cannot canonize (${pass.name}): ${error instanceof Error ? error.message : String(error)}`);
    }
    for (const line of lines) changes.push(`${pass.name}: ${line}`);
  }
  const removed = removeDeadCode(out.graph);
  if (removed.length > 0) changes.push(`cleanup: removed ${removed.length} unused node${removed.length === 1 ? '' : 's'}`);
  out.graph.valueInfo.clear();
  return { model: out, changes };
}

/** The concrete input shape must fit the declared one (same rank, equal static dims). */
function checkInputShape(model: Model, shape: number[]): void {
  const inputs = model.graph.inputs;
  if (inputs.length !== 1) throw new UserError('--input-shape', `the model has ${inputs.length} inputs; an input shape needs exactly one`);
  const declared = inputs[0]!.shape;
  if (!declared) return;
  const fits = declared.length === shape.length && declared.every((d, i) => typeof d !== 'number' || d === shape[i]);
  if (!fits) {
    const show = declared.map((d) => (d === null ? '?' : String(d))).join(', ');
    throw new UserError('--input-shape', `[${shape.join(', ')}] does not fit the model input ${inputs[0]!.name} [${show}]`);
  }
}
