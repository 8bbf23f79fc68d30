// `node --import ./record-loads.mjs …`: appends the URL of every module the process loads (ES modules
// and, on Node 20.6+, the CommonJS files they pull in) to the file named by XAI_LOAD_LOG, one a line.
// The hook runs on the loader thread, so it appends to a file rather than keeping a list in memory.
import { register } from 'node:module';

const hook = `
import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(process.env.XAI_LOAD_LOG, url + '\\n');
  return next(url, context);
}
`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
