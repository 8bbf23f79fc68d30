import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Newest modification time of any file under `dir`. */
function newest(dir: string): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** End-to-end tests run the compiled CLI, so compile first when dist/ is missing or stale. */
export default function setup(): void {
  const root = join(import.meta.dirname, '..');
  const built = join(root, 'dist', 'cli.js');
  if (existsSync(built) && statSync(built).mtimeMs >= newest(join(root, 'src'))) return;
  try {
    execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: root, stdio: 'pipe' });
  } catch (error) {
    // tsc still emits JavaScript on type errors; running the end-to-end tests on it would test code
    // that `npm run build` rejects, so a type error stops the suite here.
    const out = (error as { stdout?: Buffer }).stdout?.toString() ?? String(error);
    throw new Error(`global-setup: tsc -p tsconfig.json failed:\n${out.slice(0, 4000)}`);
  }
  execFileSync('node', ['scripts/build-web.mjs'], { cwd: root, stdio: 'inherit' });
}
