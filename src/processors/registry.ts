import { AgglomerativeType, DbscanType, HdbscanType, KMeansType } from './clustering.js';
import { EigenDecompositionType, PcaType, TsneType, UmapType } from './embedding.js';
import { IdentityType, ParallelType, SelectType, SequentialType, ShaperType } from './flow.js';
import {
  KnnDistanceType,
  PairwiseDistanceType,
  RadialBasisFunctionType,
  RandomWalkNormalLaplacianType,
  SparseKnnType,
  SymmetricNormalLaplacianType,
} from './graph.js';
import { AbsoluteType, FlattenType, HistogramType, NormalizeType, PoolingType, SumChannelType } from './preprocessing.js';
import type { ProcessorType } from './processor.js';

/**
 * Every processor type a pipeline described in YAML (`--config`) may name. A new processor becomes
 * usable there by being listed here (docs/extending.md); nothing else has to import its module.
 */
const TYPES: readonly ProcessorType<any>[] = [
  // flows
  SequentialType,
  ParallelType,
  ShaperType,
  IdentityType,
  SelectType,
  // pre-processing
  SumChannelType,
  AbsoluteType,
  NormalizeType,
  FlattenType,
  HistogramType,
  PoolingType,
  // distances, affinities, Laplacians
  PairwiseDistanceType,
  KnnDistanceType,
  SparseKnnType,
  RadialBasisFunctionType,
  SymmetricNormalLaplacianType,
  RandomWalkNormalLaplacianType,
  // embeddings
  EigenDecompositionType,
  TsneType,
  UmapType,
  PcaType,
  // clusterings
  KMeansType,
  DbscanType,
  HdbscanType,
  AgglomerativeType,
];

const registered = new Map<string, ProcessorType<any>>();

/**
 * Makes a processor type nameable in YAML pipelines from library code (a built-in type is listed
 * in TYPES instead). A taken name is refused: a config must mean one thing.
 */
export function registerProcessorType(type: ProcessorType<any>): void {
  if (registered.has(type.name)) throw new Error(`two processor types are both named '${type.name}'`);
  registered.set(type.name, type);
}

for (const type of TYPES) registerProcessorType(type);

/** Processor types by name (the names YAML pipelines use). */
export const processorTypes: ReadonlyMap<string, ProcessorType<any>> = registered;
