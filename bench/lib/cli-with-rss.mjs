// Runs the built CLI (dist/cli.js) like bin/xai-tools.js and, when it returns, prints the process's
// peak RSS and CPU time (user + system, worker threads included) on stderr, for the benchmarks that
// time the CLI as users run it. On a shared machine the CPU time is the steadier figure.
import { main } from '../../dist/cli.js';

const code = await main(process.argv);
const usage = process.resourceUsage();
process.stderr.write(`\nBENCH_MAXRSS_KB ${usage.maxRSS} BENCH_CPU_US ${usage.userCPUTime + usage.systemCPUTime}\n`);
process.exitCode = code;
