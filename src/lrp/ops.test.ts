/** The op records: each op the compiler can differentiate also has a shape function. */
import { describe, expect, it } from 'vitest';
import { supportsShapeInference } from '../onnx/shapes.js';
import { OP_RECORDS, opRecord } from './ops.js';

describe('op records', () => {
  it('every record with a VJP has a shape function in shape inference', () => {
    const missing = Object.keys(OP_RECORDS).filter((key) => {
      const [domain, opType] = key.includes(':') ? (key.split(':') as [string, string]) : ['', key];
      return OP_RECORDS[key]!.vjp && !supportsShapeInference({ name: 'n', domain, opType, inputs: [], outputs: [], attributes: {} });
    });
    expect(missing).toEqual([]);
  });

  it('looks records up by domain and op type', () => {
    expect(opRecord({ domain: '', opType: 'Relu' })?.kind).toBe('activation');
    expect(opRecord({ domain: 'xai.tools', opType: 'SiLU' })?.kind).toBe('activation');
    expect(opRecord({ domain: 'com.example', opType: 'Relu' })).toBeUndefined();
    expect(opRecord({ domain: '', opType: 'toString' })).toBeUndefined();
  });
});
