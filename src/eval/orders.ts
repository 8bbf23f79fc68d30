/** Perturbation orders of `evaluate`, apart from the evaluator so --help lists them without loading onnxruntime. */
export const ORDERS = ['morf', 'lerf', 'random'] as const;
export type Order = (typeof ORDERS)[number];
