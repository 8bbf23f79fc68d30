import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { compileAttributor } from '../lrp/engine.js';
import { denseModel } from '../lrp/testing.js';
import { sessionOptionsFor } from '../run/device.js';
import { createSession, sessionOptions } from './ort.js';

const cudaInstalled = ort.listSupportedBackends().some((b) => b.name === 'cuda' && b.bundled);

describe('--device reaches the onnxruntime session', () => {
  it('maps the device to execution providers and keeps the thread count', () => {
    expect(sessionOptions({ device: 'cuda', threads: 3 })).toMatchObject({ executionProviders: ['cuda', 'cpu'], intraOpNumThreads: 3 });
    expect(sessionOptions({}).executionProviders).toEqual(['cpu']);
    expect(sessionOptionsFor('cuda', 2)).toEqual(sessionOptions({ device: 'cuda', threads: 2 }));
  });

  // Where the CUDA provider is not installed (CI, this package's default install), asking for it must fail
  // session creation with one line, not run on the CPU: a compiler that dropped the option would succeed.
  it.skipIf(cudaInstalled)('compileAttributor and createSession with device cuda fail with a one-line UserError', async () => {
    const model = denseModel(
      [
        [1, 2],
        [3, 4],
      ],
      null,
    );
    const attempt = compileAttributor(model, { batchSize: 1, spec: null, device: 'cuda' });
    await expect(attempt).rejects.toBeInstanceOf(UserError);
    const error = (await attempt.catch((e: Error) => e)) as UserError;
    expect(error.line).toMatch(/^--device cuda: onnxruntime could not start its CUDA provider .*ONNXRUNTIME_NODE_INSTALL=cuda12 node .*install\.js/);
    expect(error.line).not.toContain('\n');
    await expect(createSession(model, { device: 'cuda' })).rejects.toBeInstanceOf(UserError);
    // The same model opens on the CPU.
    const cpu = await compileAttributor(model, { batchSize: 1, spec: null, device: 'cpu' });
    await cpu.close();
  });
});
