/**
 * Canonizers are graph passes run before rules are attached (Zennit's canonizers, docs/lrp.md §6, as
 * rewrites of the ONNX graph). Each pass mutates the model it is given (`canonize` hands it a
 * private copy) and returns one human-readable line per change.
 */
import type { Model } from '../../onnx/ir.js';

export interface CanonizeOptions {
  /** Fold BatchNormalization into the preceding Conv/ConvTranspose/Gemm (default true). */
  mergeBatchNorm?: boolean;
  /** Keep a trailing Softmax/LogSoftmax instead of attributing the logits (default false). */
  keepSoftmax?: boolean;
  /**
   * Represent recognised x·Sigmoid(x) as one marker node `xai.tools:SiLU` (default true). The
   * marker is for the in-memory IR only: onnxruntime does not know it, so call `lowerMarkers`
   * before encoding (the `canonize` command does).
   */
  siluMarker?: boolean;
  /**
   * Concrete input shape for constant folding (e.g. [B, C, H, W]); lets `Shape → … → Reshape`
   * chains fold, baking that batch size in. Default: only what the declared shapes allow.
   */
  inputShape?: number[];
  /** Names the model in error messages (a file path). */
  source?: string;
}

export interface CanonizePass {
  /** Short kebab-case id, e.g. `merge-batchnorm`. */
  name: string;
  /** Runs the pass on `model` in place; returns what it changed, one line each (empty: nothing). */
  run(model: Model, options: Required<Omit<CanonizeOptions, 'inputShape' | 'source'>> & Pick<CanonizeOptions, 'inputShape'>): string[];
}

/** Domain of the marker ops canonizers put into the in-memory IR. */
export const MARKER_DOMAIN = 'xai.tools';
