/**
 * A small in-memory graph IR for ONNX models. `codec.ts` converts between it and the protobuf
 * messages; canonizers and the relevance compiler read and rewrite it; nothing here knows protobuf.
 */

/** Element types we handle; names follow onnxruntime-node's tensor type names. */
export type DataType = 'float32' | 'float64' | 'float16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export type TensorData = Float32Array | Float64Array | BigInt64Array | Int32Array | Int16Array | Int8Array | Uint8Array | Uint16Array;

/**
 * A constant tensor (initializer or Constant node value). `data` always owns its memory, but that
 * memory may be SHARED with clones of the model (`cloneModel` does not copy weights): treat `data`
 * as immutable and build a new tensor instead of writing into it (copy-on-write).
 */
export interface Tensor {
  name: string;
  dataType: DataType;
  dims: number[];
  data: TensorData;
}

/** One node attribute, tagged by its ONNX attribute type. Integer attributes are plain numbers. */
export type Attribute =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string }
  | { type: 'ints'; value: number[] }
  | { type: 'floats'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensor'; value: Tensor };

export interface Node {
  /** Unique within the graph (the codec invents `<opType>_<i>` for unnamed nodes). */
  name: string;
  opType: string;
  /** '' for the default ai.onnx domain. */
  domain: string;
  /** Input value names; '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attributes: Record<string, Attribute>;
}

/** A dimension: a number when static, a symbolic name (e.g. 'batch') or null when unknown. */
export type Dim = number | string | null;

export interface ValueInfo {
  name: string;
  dataType: DataType;
  /** undefined when the shape is not known at all. */
  shape?: Dim[];
}

export interface Graph {
  name: string;
  /** Topologically ordered. */
  nodes: Node[];
  /** Graph inputs that are not initializers. */
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Map<string, Tensor>;
  /** Known intermediate value infos (from the file or from shape inference). */
  valueInfo: Map<string, ValueInfo>;
}

export interface OpsetImport {
  domain: string;
  version: number;
}

export interface Model {
  irVersion: number;
  opsetImports: OpsetImport[];
  producerName: string;
  producerVersion: string;
  graph: Graph;
}
