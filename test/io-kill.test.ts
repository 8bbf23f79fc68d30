// A writer killed mid-way (SIGKILL: no handler runs) must leave nothing under the final name.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'xai-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Child script: appends batches forever through the compiled writer, reporting each one. */
const writerScript = (module: string, writer: 'attribution' | 'analysis', target: string): string => `
import(${JSON.stringify(module)}).then(async (io) => {
  if (${JSON.stringify(writer)} === 'attribution') {
    const w = await io.AttributionWriter.create(${JSON.stringify(target)}, { sampleShape: [3, 32, 32], numClasses: 10, withIndex: true });
    for (let b = 0; ; b++) {
      w.append({
        attribution: new Float32Array(16 * 3 * 32 * 32).fill(b),
        label: new Int32Array(16),
        prediction: new Float32Array(160),
        index: new Int32Array(16).fill(b),
      });
      process.stdout.write('batch ' + b + '\\n');
      await new Promise((r) => setTimeout(r, 5));
    }
  } else {
    const w = await io.AnalysisWriter.create(${JSON.stringify(target)});
    for (let c = 0; ; c++) {
      w.addCategory('spectral', {
        name: 'c' + String(c).padStart(6, '0'),
        index: Int32Array.of(c),
        embeddings: [{ name: 'e', data: new Float32Array(2), shape: [1, 2] }],
        clusterings: [],
      });
      process.stdout.write('category ' + c + '\\n');
      await new Promise((r) => setTimeout(r, 5));
    }
  }
});`;

async function killMidway(writer: 'attribution' | 'analysis', module: string): Promise<void> {
  const target = join(dir, `${writer}.h5`);
  const child = spawn(process.execPath, ['--input-type=module', '-e', writerScript(module, writer, target)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let seen = 0;
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      seen += String(d).split('\n').filter(Boolean).length;
      if (seen >= 5 && !child.killed) {
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.on('exit', (code) => (seen < 5 ? reject(new Error(`writer exited early (${code}): ${stderr}`)) : resolve()));
  });
  await new Promise((r) => child.once('close', r));
  expect(child.signalCode).toBe('SIGKILL');
  expect(existsSync(target)).toBe(false);
  // The half-written data is only under the temporary name.
  expect(readdirSync(dir).filter((f) => f.startsWith(`.${writer}.h5.tmp-`))).toHaveLength(1);
}

describe('killed writers', () => {
  it('attribution writer killed with SIGKILL after 5 batches', async () => {
    await killMidway('attribution', join(repoRoot, 'dist', 'io', 'attribution.js'));
  });
  it('analysis writer killed with SIGKILL after 5 categories', async () => {
    await killMidway('analysis', join(repoRoot, 'dist', 'io', 'analysis.js'));
  });
});
