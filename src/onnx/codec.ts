/**
 * ONNX protobuf ⇄ IR. Decoding normalises what downstream passes should not have to care about:
 * tensors are copied out of the input buffer into owned typed arrays whatever field held them
 * (raw_data, float_data, int32_data, int64_data, double_data, external files); `Constant` nodes become
 * initializers; initializers are removed from the graph inputs; every node gets a unique name; nodes
 * are topologically sorted. Encoding always writes tensors as raw_data.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { UserError } from '../errors.js';
import { writeAtomically } from '../util/atomic.js';
import { ExternalDataError, readExternalData } from './external-data.js';
import {
  AttributeProto_AttributeType as AttrType,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  TensorProtoSchema,
  TensorShapeProto_DimensionSchema,
  TensorShapeProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
  type AttributeProto,
  type GraphProto,
  type ModelProto,
  type NodeProto,
  type TensorProto,
  type ValueInfoProto,
} from './gen/onnx_pb.js';
import type { Attribute, DataType, Dim, Graph, Model, Node, Tensor, TensorData, ValueInfo } from './ir.js';
import { allocate, DATA_TYPE_OF, fromBytes, ONNX_TYPE_OF, sizeOf, toBytes } from './tensor.js';
import { topologicalSort } from './graph.js';
import { UpgradeError, upgradeModel } from './upgrade.js';

/** The default-domain opsets this toolchain supports (ops' semantics differ across opsets). */
export const MIN_OPSET = 7;
export const MAX_OPSET = 21;

export interface DecodeOptions {
  /** Names the source in error messages (a file path); default '<model>'. */
  source?: string;
  /** Directory that external tensor data files are relative to; without it, external data is an error. */
  baseDir?: string;
  /** Accept any default-domain opset instead of only MIN_OPSET..MAX_OPSET (for tools that only copy models). */
  anyOpset?: boolean;
}

/** A problem with the model's content: becomes a UserError naming the source. */
class ModelError extends Error {}

/**
 * Decodes ONNX protobuf bytes into the IR. Throws `UserError(source, …)` when the bytes are not an
 * ONNX model or use something the IR cannot represent (subgraph attributes, string tensors,
 * model-local functions, an opset outside 7–21). Opsets before 13 are brought to opset 13's
 * operator forms (upgrade.ts) unless `anyOpset` is set. The result owns all its memory.
 */
export function decodeModel(bytes: Uint8Array, options: DecodeOptions = {}): Model {
  const source = options.source;
  let proto: ModelProto;
  try {
    proto = fromBinary(ModelProtoSchema, bytes);
  } catch (error) {
    throw new UserError(source, `not an ONNX model (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!proto.graph || proto.irVersion <= 0n || proto.irVersion > 100n || (proto.graph.node.length === 0 && proto.graph.output.length === 0)) {
    throw new UserError(source, 'not an ONNX model (no graph, IR version or outputs found)');
  }
  try {
    return modelFromProto(proto, options);
  } catch (error) {
    if (error instanceof ModelError) throw new UserError(source, error.message);
    throw error;
  }
}

function modelFromProto(proto: ModelProto, options: DecodeOptions): Model {
  const opsetImports = proto.opsetImport.map((o) => ({ domain: o.domain === 'ai.onnx' ? '' : o.domain, version: Number(o.version) }));
  // IR version 3+ requires an opset import; older files implicitly use opset 1, which we reject anyway.
  const defaultOpset = opsetImports.find((o) => o.domain === '')?.version ?? 1;
  if (!options.anyOpset && (defaultOpset < MIN_OPSET || defaultOpset > MAX_OPSET)) {
    throw new ModelError(`ONNX opset ${defaultOpset} is not supported (supported: ${MIN_OPSET} to ${MAX_OPSET})`);
  }
  const localFunctions = new Set(proto.functions.map((f) => `${f.domain}/${f.name}`));
  const graph = graphFromProto(proto.graph!, options);
  for (const node of graph.nodes) {
    if (localFunctions.has(`${node.domain}/${node.opType}`)) {
      throw new ModelError(`node ${node.name} calls the model-local function ${node.opType}, which is not supported; export without custom functions`);
    }
  }
  const model: Model = {
    irVersion: Number(proto.irVersion),
    opsetImports,
    producerName: proto.producerName,
    producerVersion: proto.producerVersion,
    graph,
  };
  if (!options.anyOpset) {
    try {
      upgradeModel(model);
    } catch (error) {
      if (error instanceof UpgradeError) throw new ModelError(error.message);
      throw error;
    }
  }
  return model;
}

function graphFromProto(proto: GraphProto, options: DecodeOptions): Graph {
  if (proto.sparseInitializer.length > 0) throw new ModelError('sparse initializers are not supported');
  const initializers = new Map<string, Tensor>();
  for (const t of proto.initializer) initializers.set(t.name, tensorFromProto(t, options));

  const nodes: Node[] = [];
  for (const n of proto.node) {
    const node = nodeFromProto(n, options);
    if (node.opType === 'Constant' && node.domain === '') {
      // Constants are just initializers produced by a node; normalising them lets every pass ask
      // `graph.initializers.has(name)` to know whether a value is constant.
      initializers.set(node.outputs[0]!, constantValue(node));
      continue;
    }
    nodes.push(node);
  }
  nameNodes(nodes);

  const valueInfo = new Map<string, ValueInfo>();
  for (const v of proto.valueInfo) {
    const info = valueInfoFromProto(v);
    if (info) valueInfo.set(info.name, info);
  }
  const inputs = proto.input.filter((v) => !initializers.has(v.name)).map((v) => valueInfoFromProto(v) ?? fail(`graph input ${v.name} is not a tensor`));
  const outputs = proto.output.map((v) => valueInfoFromProto(v) ?? fail(`graph output ${v.name} is not a tensor`));

  const graph: Graph = { name: proto.name, nodes, inputs, outputs, initializers, valueInfo };
  try {
    graph.nodes = topologicalSort(graph);
  } catch (error) {
    throw new ModelError(error instanceof Error ? error.message : String(error));
  }
  return graph;
}

function fail(message: string): never {
  throw new ModelError(message);
}

/** Gives unnamed (or duplicate-named) nodes unique names `<opType>_<i>`. */
function nameNodes(nodes: Node[]): void {
  const used = new Set<string>();
  for (const node of nodes) if (node.name) used.add(node.name);
  const seen = new Set<string>();
  let counter = 0;
  for (const node of nodes) {
    if (node.name && !seen.has(node.name)) {
      seen.add(node.name);
      continue;
    }
    let name: string;
    do name = `${node.opType}_${counter++}`;
    while (used.has(name));
    used.add(name);
    seen.add(name);
    node.name = name;
  }
}

function nodeFromProto(proto: NodeProto, options: DecodeOptions): Node {
  const attributes: Record<string, Attribute> = {};
  for (const a of proto.attribute) attributes[a.name] = attributeFromProto(a, proto, options);
  return {
    name: proto.name,
    opType: proto.opType,
    domain: proto.domain === 'ai.onnx' ? '' : proto.domain,
    inputs: [...proto.input],
    outputs: [...proto.output],
    attributes,
  };
}

const textDecoder = new TextDecoder();

function attributeFromProto(a: AttributeProto, node: NodeProto, options: DecodeOptions): Attribute {
  if (a.refAttrName) throw new ModelError(`node ${node.name || node.opType}: attribute references (functions) are not supported`);
  switch (a.type) {
    case AttrType.FLOAT:
      return { type: 'float', value: a.f };
    case AttrType.INT:
      return { type: 'int', value: Number(a.i) };
    case AttrType.STRING:
      return { type: 'string', value: textDecoder.decode(a.s) };
    case AttrType.TENSOR:
      return { type: 'tensor', value: tensorFromProto(a.t!, options) };
    case AttrType.FLOATS:
      return { type: 'floats', value: [...a.floats] };
    case AttrType.INTS:
      return { type: 'ints', value: a.ints.map(Number) };
    case AttrType.STRINGS:
      return { type: 'strings', value: a.strings.map((s) => textDecoder.decode(s)) };
    case AttrType.GRAPH:
    case AttrType.GRAPHS:
      throw new ModelError(`node ${node.name || node.opType} (${node.opType}) has a subgraph; control flow (If/Loop/Scan) is not supported`);
    default:
      throw new ModelError(`node ${node.name || node.opType} (${node.opType}): attribute ${a.name} has an unsupported type (${AttrType[a.type] ?? a.type})`);
  }
}

/** The value of a `Constant` node as a tensor named after its output. */
function constantValue(node: Node): Tensor {
  const name = node.outputs[0]!;
  const [key, attr] = Object.entries(node.attributes)[0] ?? fail(`Constant node ${node.name} has no value`);
  switch (key) {
    case 'value':
      if (attr.type === 'tensor') return { ...attr.value, name };
      break;
    case 'value_float':
      if (attr.type === 'float') return { name, dataType: 'float32', dims: [], data: Float32Array.of(attr.value) };
      break;
    case 'value_floats':
      if (attr.type === 'floats') return { name, dataType: 'float32', dims: [attr.value.length], data: Float32Array.from(attr.value) };
      break;
    case 'value_int':
      if (attr.type === 'int') return { name, dataType: 'int64', dims: [], data: BigInt64Array.of(BigInt(attr.value)) };
      break;
    case 'value_ints':
      if (attr.type === 'ints') return { name, dataType: 'int64', dims: [attr.value.length], data: BigInt64Array.from(attr.value.map(BigInt)) };
      break;
  }
  throw new ModelError(`Constant node ${node.name}: attribute ${key} is not supported`);
}

function tensorFromProto(t: TensorProto, options: DecodeOptions): Tensor {
  const dataType = DATA_TYPE_OF.get(t.dataType);
  if (!dataType) throw new ModelError(`tensor ${t.name}: element type ${t.dataType} is not supported`);
  if (t.segment) throw new ModelError(`tensor ${t.name}: segmented tensors are not supported`);
  const dims = t.dims.map(Number);
  const length = sizeOf(dims);
  let data: TensorData;
  if (t.dataLocation === 1) {
    data = fromBytes(dataType, readExternal(t, options));
  } else if (t.rawData.byteLength > 0 || length === 0) {
    data = fromBytes(dataType, t.rawData);
  } else {
    data = fromTypedField(t, dataType, length);
  }
  if (data.length !== length) {
    throw new ModelError(`tensor ${t.name}: ${data.length} values for shape [${dims.join(', ')}]`);
  }
  return { name: t.name, dataType, dims, data };
}

/** Elements stored in the typed repeated fields instead of raw_data. */
function fromTypedField(t: TensorProto, dataType: DataType, length: number): TensorData {
  const data = allocate(dataType, length);
  const source: ArrayLike<number | bigint> = (() => {
    switch (dataType) {
      case 'float32':
        return t.floatData;
      case 'float64':
        return t.doubleData;
      case 'int64':
        return t.int64Data;
      // int32_data also carries int16/int8/uint8/bool, and float16 as its raw bits.
      default:
        return t.int32Data;
    }
  })();
  if (source.length !== length) throw new ModelError(`tensor ${t.name}: ${source.length} values for shape [${t.dims.join(', ')}]`);
  if (data instanceof BigInt64Array) {
    for (let i = 0; i < length; i++) data[i] = BigInt(source[i]!);
  } else {
    for (let i = 0; i < length; i++) data[i] = Number(source[i]!);
  }
  return data;
}

/** Reads a tensor's bytes from its external data file, confined to the model's directory (external-data.ts). */
function readExternal(t: TensorProto, options: DecodeOptions): Uint8Array {
  const entries = new Map(t.externalData.map((e) => [e.key, e.value]));
  const location = entries.get('location');
  if (location && !options.baseDir) throw new ModelError(`tensor ${t.name}: external data (${location}) needs the model's directory`);
  try {
    return readExternalData(t.name, entries, options.baseDir ?? '.');
  } catch (error) {
    if (error instanceof ExternalDataError) throw new ModelError(error.message);
    throw error;
  }
}

function valueInfoFromProto(v: ValueInfoProto): ValueInfo | undefined {
  if (v.type?.value.case !== 'tensorType') return undefined;
  const tensorType = v.type.value.value;
  const dataType = DATA_TYPE_OF.get(tensorType.elemType);
  if (!dataType) throw new ModelError(`value ${v.name}: element type ${tensorType.elemType} is not supported`);
  const info: ValueInfo = { name: v.name, dataType };
  if (tensorType.shape) {
    info.shape = tensorType.shape.dim.map((d): Dim => {
      if (d.value.case === 'dimValue') return Number(d.value.value);
      if (d.value.case === 'dimParam') return d.value.value;
      return null;
    });
  }
  return info;
}

// ---------------------------------------------------------------------------------------------
// Encoding

/**
 * Encodes the IR as ONNX protobuf bytes (tensors as raw_data, initializers not listed as inputs).
 *
 * Initializers are written by hand after the rest of the model: protobuf merges a message field
 * that occurs twice, so `ModelProto{…graph without initializers…}` followed by
 * `ModelProto{graph: GraphProto{initializer: […]}}` is the same model. This copies each weight
 * buffer once, straight into the output, instead of going through the generic encoder (4× faster
 * on ImageNet-sized models).
 */
export function encodeModel(model: Model): Uint8Array {
  const proto = create(ModelProtoSchema, {
    // IR < 4 required every initializer to be a graph input; we never list them, so claim at least 4.
    irVersion: BigInt(Math.max(model.irVersion, 4)),
    opsetImport: model.opsetImports.map((o) => create(OperatorSetIdProtoSchema, { domain: o.domain, version: BigInt(o.version) })),
    producerName: model.producerName,
    producerVersion: model.producerVersion,
    graph: graphToProto(model.graph),
  });
  const head = toBinary(ModelProtoSchema, proto);
  const tensors = [...model.graph.initializers.values()].map(encodeTensorParts);
  const graphPayload = tensors.reduce((sum, t) => sum + 1 + varintSize(t.size) + t.size, 0);
  const total = head.byteLength + (tensors.length > 0 ? 1 + varintSize(graphPayload) + graphPayload : 0);
  const out = new Uint8Array(total);
  out.set(head, 0);
  let at = head.byteLength;
  if (tensors.length > 0) {
    out[at++] = (7 << 3) | 2; // ModelProto.graph
    at = writeVarint(out, at, graphPayload);
    for (const t of tensors) {
      out[at++] = (5 << 3) | 2; // GraphProto.initializer
      at = writeVarint(out, at, t.size);
      out.set(t.header, at);
      at += t.header.byteLength;
      out[at++] = (9 << 3) | 2; // TensorProto.raw_data
      at = writeVarint(out, at, t.raw.byteLength);
      out.set(t.raw, at);
      at += t.raw.byteLength;
    }
  }
  return out;
}

/** A TensorProto as its small header (dims, data_type, name) plus its raw bytes, and its total size. */
function encodeTensorParts(t: Tensor): { header: Uint8Array; raw: Uint8Array; size: number } {
  const header = toBinary(TensorProtoSchema, create(TensorProtoSchema, { name: t.name, dataType: ONNX_TYPE_OF[t.dataType], dims: t.dims.map(BigInt) }));
  const raw = toBytes(t.data);
  return { header, raw, size: header.byteLength + 1 + varintSize(raw.byteLength) + raw.byteLength };
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

function writeVarint(out: Uint8Array, at: number, value: number): number {
  while (value >= 128) {
    out[at++] = (value % 128) | 128;
    value = Math.floor(value / 128);
  }
  out[at++] = value;
  return at;
}

function graphToProto(graph: Graph): GraphProto {
  return create(GraphProtoSchema, {
    name: graph.name,
    node: graph.nodes.map(nodeToProto),
    input: graph.inputs.map(valueInfoToProto),
    output: graph.outputs.map(valueInfoToProto),
    valueInfo: [...graph.valueInfo.values()].map(valueInfoToProto),
  });
}

function nodeToProto(node: Node): NodeProto {
  return create(NodeProtoSchema, {
    name: node.name,
    opType: node.opType,
    domain: node.domain,
    input: node.inputs,
    output: node.outputs,
    attribute: Object.entries(node.attributes).map(([name, a]) => attributeToProto(name, a)),
  });
}

const textEncoder = new TextEncoder();

function attributeToProto(name: string, a: Attribute): AttributeProto {
  switch (a.type) {
    case 'float':
      return create(AttributeProtoSchema, { name, type: AttrType.FLOAT, f: a.value });
    case 'int':
      return create(AttributeProtoSchema, { name, type: AttrType.INT, i: BigInt(a.value) });
    case 'string':
      return create(AttributeProtoSchema, { name, type: AttrType.STRING, s: textEncoder.encode(a.value) });
    case 'tensor':
      return create(AttributeProtoSchema, { name, type: AttrType.TENSOR, t: tensorToProto(a.value) });
    case 'floats':
      return create(AttributeProtoSchema, { name, type: AttrType.FLOATS, floats: a.value });
    case 'ints':
      return create(AttributeProtoSchema, { name, type: AttrType.INTS, ints: a.value.map(BigInt) });
    case 'strings':
      return create(AttributeProtoSchema, { name, type: AttrType.STRINGS, strings: a.value.map((s) => textEncoder.encode(s)) });
  }
}

function tensorToProto(t: Tensor): TensorProto {
  return create(TensorProtoSchema, {
    name: t.name,
    dataType: ONNX_TYPE_OF[t.dataType],
    dims: t.dims.map(BigInt),
    rawData: toBytes(t.data),
  });
}

function valueInfoToProto(v: ValueInfo): ValueInfoProto {
  const shape = v.shape
    ? create(TensorShapeProtoSchema, {
        dim: v.shape.map((d) =>
          create(TensorShapeProto_DimensionSchema, {
            value:
              typeof d === 'number' ? { case: 'dimValue', value: BigInt(d) } : typeof d === 'string' ? { case: 'dimParam', value: d } : { case: undefined },
          }),
        ),
      })
    : undefined;
  return create(ValueInfoProtoSchema, {
    name: v.name,
    type: create(TypeProtoSchema, {
      value: { case: 'tensorType', value: create(TypeProto_TensorSchema, { elemType: ONNX_TYPE_OF[v.dataType], shape }) },
    }),
  });
}

// ---------------------------------------------------------------------------------------------
// Files

/**
 * Reads and decodes an ONNX file. Throws `UserError(path, …)` when the file is missing, is a
 * directory, or is not an ONNX model (see `decodeModel`). External data is resolved beside the file.
 */
export function readModel(path: string, options: Omit<DecodeOptions, 'source' | 'baseDir'> = {}): Model {
  let bytes: Buffer;
  try {
    if (statSync(path).isDirectory()) throw new UserError(path, 'is a directory, not an ONNX model');
    bytes = readFileSync(path);
  } catch (error) {
    if (error instanceof UserError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(path, code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? String(error)})`);
  }
  return decodeModel(bytes, { ...options, source: path, baseDir: dirname(resolve(path)) });
}

/** Encodes and writes a model atomically (temp file beside `path`, renamed into place on success). */
export async function writeModel(path: string, model: Model): Promise<void> {
  const bytes = encodeModel(model);
  await writeAtomically(path, (tmp) => writeFileSync(tmp, bytes));
}
