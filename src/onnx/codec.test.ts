import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { decodeModel, encodeModel, readModel, writeModel } from './codec.js';
import { GraphBuilder, attr, emptyGraph, modelOf } from './builder.js';
import {
  AttributeProto_AttributeType,
  AttributeProtoSchema,
  GraphProtoSchema,
  ModelProtoSchema,
  NodeProtoSchema,
  OperatorSetIdProtoSchema,
  StringStringEntryProtoSchema,
  TensorProtoSchema,
  TypeProto_TensorSchema,
  TypeProtoSchema,
  ValueInfoProtoSchema,
} from './gen/onnx_pb.js';
import { runModel } from './ort.js';
import { conformanceData, conformanceDir, conformanceModels, maxRelativeDifference } from './testing.js';

const floatInput = (name: string, _dims: number[]) =>
  create(ValueInfoProtoSchema, {
    name,
    type: create(TypeProtoSchema, { value: { case: 'tensorType', value: create(TypeProto_TensorSchema, { elemType: 1 }) } }),
  });

describe('decodeModel / encodeModel', () => {
  for (const { name } of conformanceModels) {
    for (const variant of ['', '.folded']) {
      const file = `${name}${variant}.onnx`;
      it(`round-trips ${file} with identical outputs in onnxruntime`, async () => {
        const original = readFileSync(join(conformanceDir, file));
        const model = decodeModel(original);
        // Decoding must not alias the input buffer: scribbling over it changes nothing.
        const reencoded = encodeModel(model);
        original.fill(0);
        const { input, inputDims, logits } = await conformanceData(name);
        const fresh = readFileSync(join(conformanceDir, file));
        const a = (await runModel(fresh, { input: { data: input, dims: inputDims } })).get('logits')!;
        const b = (await runModel(reencoded, { input: { data: input, dims: inputDims } })).get('logits')!;
        expect(Array.from(b.data)).toEqual(Array.from(a.data));
        expect(maxRelativeDifference(b.data, logits)).toBeLessThan(1e-5);
        // A second round trip is byte-identical.
        expect(Buffer.from(encodeModel(decodeModel(reencoded)))).toEqual(Buffer.from(reencoded));
      });
    }
  }

  it('reads float_data, int64_data, int32_data and double_data, and turns Constant nodes into initializers', async () => {
    const proto = create(ModelProtoSchema, {
      irVersion: 7n,
      opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 13n })],
      graph: create(GraphProtoSchema, {
        name: 'g',
        node: [
          create(NodeProtoSchema, { opType: 'Reshape', input: ['x', 'shape'], output: ['r'] }),
          create(NodeProtoSchema, { opType: 'Mul', input: ['r', 'w'], output: ['m'] }),
          create(NodeProtoSchema, {
            opType: 'Constant',
            output: ['c'],
            attribute: [create(AttributeProtoSchema, { name: 'value_floats', type: AttributeProto_AttributeType.FLOATS, floats: [10, 20, 30] })],
          }),
          create(NodeProtoSchema, { opType: 'Add', input: ['m', 'c'], output: ['y'] }),
          create(NodeProtoSchema, {
            opType: 'Cast',
            input: ['i32'],
            output: ['i32f'],
            attribute: [create(AttributeProtoSchema, { name: 'to', type: AttributeProto_AttributeType.INT, i: 1n })],
          }),
          create(NodeProtoSchema, {
            opType: 'Cast',
            input: ['f64'],
            output: ['f64f'],
            attribute: [create(AttributeProtoSchema, { name: 'to', type: AttributeProto_AttributeType.INT, i: 1n })],
          }),
          create(NodeProtoSchema, { opType: 'Add', input: ['i32f', 'f64f'], output: ['z'] }),
        ],
        initializer: [
          create(TensorProtoSchema, { name: 'shape', dataType: 7, dims: [2n], int64Data: [2n, 3n] }),
          create(TensorProtoSchema, { name: 'w', dataType: 1, dims: [3n], floatData: [1, 2, 3] }),
          create(TensorProtoSchema, { name: 'i32', dataType: 6, dims: [2n], int32Data: [-4, 7] }),
          create(TensorProtoSchema, { name: 'f64', dataType: 11, dims: [2n], doubleData: [0.5, 0.25] }),
        ],
        input: [floatInput('x', [6])],
        output: [floatInput('y', []), floatInput('z', [])],
      }),
    });
    const model = decodeModel(toBinary(ModelProtoSchema, proto));
    expect(model.graph.nodes.map((n) => n.opType)).toEqual(['Reshape', 'Mul', 'Add', 'Cast', 'Cast', 'Add']);
    expect(model.graph.nodes.every((n) => n.name !== '')).toBe(true);
    expect(new Set(model.graph.nodes.map((n) => n.name)).size).toBe(6);
    expect(Array.from(model.graph.initializers.get('c')!.data as Float32Array)).toEqual([10, 20, 30]);
    expect(Array.from(model.graph.initializers.get('shape')!.data as BigInt64Array)).toEqual([2n, 3n]);
    const out = await runModel(model, { x: { data: Float32Array.from([1, 1, 1, 2, 2, 2]), dims: [6] } });
    expect(Array.from(out.get('y')!.data)).toEqual([11, 22, 33, 12, 24, 36]);
    expect(Array.from(out.get('z')!.data)).toEqual([-3.5, 7.25]);
  });

  it('topologically sorts nodes stored out of order', () => {
    const proto = create(ModelProtoSchema, {
      irVersion: 7n,
      opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 13n })],
      graph: create(GraphProtoSchema, {
        node: [
          create(NodeProtoSchema, { name: 'b', opType: 'Relu', input: ['a'], output: ['y'] }),
          create(NodeProtoSchema, { name: 'a', opType: 'Neg', input: ['x'], output: ['a'] }),
        ],
        input: [floatInput('x', [1])],
        output: [floatInput('y', [1])],
      }),
    });
    expect(decodeModel(toBinary(ModelProtoSchema, proto)).graph.nodes.map((n) => n.name)).toEqual(['a', 'b']);
  });

  it('rejects bytes that are not an ONNX model, and opsets outside 7..21', () => {
    expect(() => decodeModel(new TextEncoder().encode('hello, this is not a model'))).toThrow(UserError);
    expect(() => decodeModel(new Uint8Array(0))).toThrow(/not an ONNX model/);
    const b = new GraphBuilder(emptyGraph());
    b.addInput('x', 'float32', [1]);
    const [y] = b.addNode('Relu', ['x']);
    b.addOutput(y!, 'float32');
    expect(() => decodeModel(encodeModel(modelOf(b.graph, 6)))).toThrow(/opset 6 is not supported/);
    expect(() => decodeModel(encodeModel(modelOf(b.graph, 22)))).toThrow(/opset 22 is not supported/);
    expect(decodeModel(encodeModel(modelOf(b.graph, 6)), { anyOpset: true }).graph.nodes).toHaveLength(1);
    expect(decodeModel(encodeModel(modelOf(b.graph, 9))).opsetImports[0]!.version).toBe(13);
  });
});

describe('readModel / writeModel', () => {
  it('names the file in errors for a missing file, a directory and a non-ONNX file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnx-codec-'));
    expect(() => readModel(join(dir, 'missing.onnx'))).toThrow(/missing\.onnx.*|no such file/);
    try {
      readModel(join(dir, 'missing.onnx'));
    } catch (error) {
      expect((error as UserError).line).toBe(`${join(dir, 'missing.onnx')}: no such file`);
    }
    const text = join(dir, 'text.onnx');
    writeFileSync(text, 'this is plain text\n');
    expect(() => readModel(text)).toThrow(UserError);
    try {
      readModel(text);
    } catch (error) {
      expect((error as UserError).file).toBe(text);
      expect((error as UserError).message).toMatch(/not an ONNX model/);
    }
    expect(() => readModel(dir)).toThrow(/directory/);
  });

  it('reads tensors stored as external data beside the model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnx-codec-'));
    const weights = Float32Array.from([0, 0, 1, 2, 3, 4]); // the first 8 bytes are padding before the offset
    writeFileSync(join(dir, 'weights.bin'), new Uint8Array(weights.buffer));
    const proto = create(ModelProtoSchema, {
      irVersion: 8n,
      opsetImport: [create(OperatorSetIdProtoSchema, { domain: '', version: 13n })],
      graph: create(GraphProtoSchema, {
        node: [create(NodeProtoSchema, { name: 'mul', opType: 'Mul', input: ['x', 'w'], output: ['y'] })],
        initializer: [
          create(TensorProtoSchema, {
            name: 'w',
            dataType: 1,
            dims: [4n],
            dataLocation: 1,
            externalData: [
              create(StringStringEntryProtoSchema, { key: 'location', value: 'weights.bin' }),
              create(StringStringEntryProtoSchema, { key: 'offset', value: '8' }),
              create(StringStringEntryProtoSchema, { key: 'length', value: '16' }),
            ],
          }),
        ],
        input: [floatInput('x', [4])],
        output: [floatInput('y', [4])],
      }),
    });
    const path = join(dir, 'ext.onnx');
    writeFileSync(path, toBinary(ModelProtoSchema, proto));
    const model = readModel(path);
    expect(Array.from(model.graph.initializers.get('w')!.data as Float32Array)).toEqual([1, 2, 3, 4]);
    const out = await runModel(model, { x: { data: Float32Array.from([1, 1, 2, 2]), dims: [4] } });
    expect(Array.from(out.get('y')!.data)).toEqual([1, 2, 6, 8]);
    expect(() => decodeModel(toBinary(ModelProtoSchema, proto))).toThrow(/external data \(weights.bin\) needs the model's directory/);
  });

  it('writes atomically and reads back the same model', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnx-codec-'));
    const b = new GraphBuilder();
    b.addInput('x', 'float32', ['batch', 2]);
    const w = b.constant([1, 2, 3, 4, 5, 6], [2, 3], 'weight');
    const [y] = b.addNode('MatMul', ['x', w]);
    const [z] = b.addNode('Softmax', [y!], { axis: attr.int(-1) });
    b.addOutput(z!, 'float32', ['batch', 3]);
    const path = join(dir, 'm.onnx');
    await writeModel(path, modelOf(b.graph, 13));
    expect(readdirSync(dir)).toEqual(['m.onnx']);
    const back = readModel(path);
    expect(back.graph.inputs[0]!.shape).toEqual(['batch', 2]);
    expect(back.graph.nodes.map((n) => n.opType)).toEqual(['MatMul', 'Softmax']);
    expect(back.graph.nodes[1]!.attributes.axis).toEqual({ type: 'int', value: -1 });
    const out = await runModel(back, { x: { data: Float32Array.from([1, 0]), dims: [1, 2] } });
    const probs = out.get(z!)!.data;
    expect(probs[0]! + probs[1]! + probs[2]!).toBeCloseTo(1, 6);
    expect(existsSync(path)).toBe(true);
  });
});
