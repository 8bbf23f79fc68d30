import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { emptyGraph, GraphBuilder, modelOf } from './builder.js';
import { encodeModel } from './codec.js';
import { openSyncSession } from './sync-session.js';

describe('openSyncSession', () => {
  // The kNN search's fast path depends on the native binding; an onnxruntime-node upgrade that
  // changes it must fail here rather than fall back to the slower scan unnoticed.
  it('runs a graph synchronously through the native binding', () => {
    const b = new GraphBuilder(emptyGraph('add'));
    b.addInput('a', 'float32', [2]);
    b.addInput('b', 'float32', [2]);
    b.addNode('Mul', ['a', 'b'], {}, 1, { outputs: ['product'] });
    b.addOutput('product', 'float32', [2]);
    const session = openSyncSession(encodeModel(modelOf(b.graph, 13)));
    expect(session).toBeDefined();
    const out = session!.run({ a: new ort.Tensor('float32', Float32Array.from([2, 3]), [2]), b: new ort.Tensor('float32', Float32Array.from([5, 7]), [2]) });
    expect(Array.from(out.product!.data as Float32Array)).toEqual([10, 21]);
    expect(out.product!.dims).toEqual([2]);
    session!.release();
  });
});
