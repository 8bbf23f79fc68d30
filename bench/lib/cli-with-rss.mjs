// Runs the built CLI (dist/cli.js) like bin/xai-tools.js and, when it returns, prints the process's
// peak RSS (worker threads included) on stderr, for the benchmarks that time the CLI as users run it.
import { main } from '../../dist/cli.js';

const code = await main(process.argv);
process.stderr.write(`\nBENCH_MAXRSS_KB ${process.resourceUsage().maxRSS}\n`);
process.exitCode = code;
