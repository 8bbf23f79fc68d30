// Part of `npm run lint`: no line of code over 160 characters. Biome's formatter keeps to 160 columns
// but cannot break a long string, template or comment, so those are caught here (in characters, as
// an editor counts them). Data files (JSON, CSS, HTML) and generated code keep their own layout.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const LIMIT = 160;
const tracked = execFileSync('git', ['ls-files', '*.ts', '*.tsx', '*.mjs', '*.js'], { encoding: 'utf8' })
  .split('\n')
  .filter((f) => f !== '' && !f.startsWith('src/onnx/gen/') && !f.startsWith('fixtures/'));
const long = [];
for (const file of tracked) {
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      const length = [...line].length;
      if (length > LIMIT) long.push(`${file}:${i + 1}: ${length} characters`);
    });
}
if (long.length > 0) {
  process.stderr.write(`${long.join('\n')}\n${long.length} line(s) over ${LIMIT} characters\n`);
  process.exit(1);
}
