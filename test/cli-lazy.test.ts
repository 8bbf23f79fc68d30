// `--help`, `--version` and `<command> --help` load no engine: each command imports onnxruntime, h5wasm,
// sharp, ink, the numeric libraries and its job only inside its action. Checked by recording every module
// the real CLI loads (a loader hook), not by timing, which depends on the machine's load.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cliPath, repoRoot } from './helpers/cli.js';

const work = mkdtempSync(join(tmpdir(), 'xai-cli-lazy-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const hook = join(repoRoot, 'test', 'helpers', 'record-loads.mjs');

/** Runs the CLI with the load recorder; resolves to its exit code and the loaded module URLs. */
function loadsOf(args: string[], name: string): Promise<{ code: number | null; stdout: string; loaded: string[] }> {
  const log = join(work, `${name}.log`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', hook, cliPath, ...args], {
      cwd: work,
      env: { ...process.env, XAI_LOAD_LOG: log },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, loaded: readFileSync(log, 'utf8').trim().split('\n') }));
  });
}

/** Engine packages (native bindings, WebAssembly, the React terminal UI, the numeric and schema libraries). */
const ENGINE_PACKAGES = /node_modules\/(onnxruntime-node|onnxruntime-common|h5wasm|sharp|@img|ink|react|usearch|umap-js|ml-matrix|zod|yaml|@bufbuild)\//;
/** The project's own engine modules: jobs, the LRP compiler, the processors, readers and writers, the viewer. */
const ENGINE_MODULES = new RegExp(
  String.raw`\/dist\/(jobs\/|lrp\/(?!composite-names\.js)|processors\/(?!spray-options\.js)|viewer\/|eval\/(?!orders\.js|graphs\.js)|` +
    String.raw`io\/(?!sampling-methods\.js|output-guard\.js|non-finite\.js)|onnx\/(ort|codec)\.js|render\/(encode|heatmap)\.js)`,
);

const engines = (loaded: string[]) => loaded.filter((url) => ENGINE_PACKAGES.test(url) || ENGINE_MODULES.test(url));

describe('--help and --version load no engine', () => {
  const cases: Array<[string, string[]]> = [
    ['help', ['--help']],
    ['version', ['--version']],
    // Not the bin shortcut: --version parsed by commander after every command is defined.
    ['debug-version', ['--debug', '--version']],
    ...['canonize', 'attribute', 'spray', 'evaluate', 'heatmap', 'serve', 'project', 'project init', 'project check'].map((command): [string, string[]] => [
      command.replace(' ', '-'),
      [...command.split(' '), '--help'],
    ]),
  ];
  it.each(cases)('%s', async (name, args) => {
    const run = await loadsOf(args, name);
    expect(run.code).toBe(0);
    expect(run.stdout.length).toBeGreaterThan(0);
    expect(engines(run.loaded)).toEqual([]);
    // The commander program itself was built (so every command file was loaded and checked).
    if (name !== 'version') expect(run.loaded.some((url) => url.endsWith('/dist/commands/spray.js'))).toBe(true);
  });

  it('the recorder sees engines when a command does load them (the check above is not vacuous)', async () => {
    const model = join(repoRoot, 'fixtures', 'clever-hans', 'model.onnx');
    const run = await loadsOf(['canonize', model, '-o', join(work, 'canonical.onnx'), '-q'], 'canonize-run');
    expect(run.code).toBe(0);
    const seen = engines(run.loaded).join('\n');
    expect(seen).toContain('/dist/onnx/codec.js');
    expect(seen).toContain('/dist/lrp/canonize/index.js');
    expect(seen).toMatch(/node_modules\/@bufbuild\//);
  });
});
