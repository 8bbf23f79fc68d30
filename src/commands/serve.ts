import { spawn } from 'node:child_process';
import { type Command, InvalidArgumentError } from 'commander';
import { UserError } from '../errors.js';
import { interruptSignal } from '../util/interrupt.js';
import type { startViewer } from '../viewer/server/server.js';

function parsePort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw new InvalidArgumentError('expected an integer from 0 to 65535');
  return Number(value);
}

function parseMegabytes(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65536) throw new InvalidArgumentError('expected an integer from 1 to 65536');
  return Number(value);
}

/** Opens the URL with the desktop's handler; failure is only a note (the URL is printed anyway). */
function openBrowser(url: string): void {
  const [command, args] =
    process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  const child = spawn(command, args, { stdio: 'ignore', detached: true });
  child.on('error', () => process.stderr.write(`xai-tools: could not start a browser (${command}); open ${url} yourself\n`));
  child.unref();
}

export function register(program: Command): void {
  program
    .command('serve')
    .description("Serve the interactive viewer for one or more project files (ours or ViRelAy's)")
    .argument('<projects...>', 'project YAML files; each becomes a tab (the first opens at /)')
    .option('--host <host>', 'interface to listen on (use 0.0.0.0 to serve other machines)', '127.0.0.1')
    .option('--port <port>', 'TCP port; 0 picks a free one', parsePort, 8080)
    .option('--open', 'open the page in the default browser', false)
    .option('--cache-mb <megabytes>', 'memory for rendered images (LRU)', parseMegabytes, 256)
    .option(
      '--allow-host <name>',
      'also answer requests whose Host header is NAME (repeatable; default: only the --host address and loopback names, against DNS rebinding)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .addHelpText(
      'after',
      '\nA project that fails to load is reported (file and reason) and the others are still served.\nStop with Ctrl-C (SIGINT) or SIGTERM.',
    )
    .action(async (files: string[], options: { host: string; port: number; open: boolean; cacheMb: number; allowHost?: string[] }) => {
      // Loaded here, not at start-up: defining the command (and --help) must not load the viewer.
      const [{ loadProjects }, { startViewer }] = await Promise.all([import('../viewer/server/load.js'), import('../viewer/server/server.js')]);
      const { projects, failures, refusedAnalyses } = await loadProjects(files);
      for (const failure of failures) process.stderr.write(`xai-tools: ${failure.file}: ${failure.reason} (not served)\n`);
      for (const refused of refusedAnalyses) process.stderr.write(`xai-tools: ${refused.file}: ${refused.reason}\n`);
      if (projects.length === 0) throw new UserError(undefined, `none of the ${files.length} project file(s) could be loaded`);
      let viewer: Awaited<ReturnType<typeof startViewer>>;
      try {
        viewer = await startViewer({
          projects,
          host: options.host,
          port: options.port,
          imageCacheBytes: options.cacheMb * 1024 * 1024,
          allowHosts: options.allowHost ?? [],
          onInternalError: (error) =>
            process.stderr.write(`xai-tools: internal error while answering a request: ${error instanceof Error ? error.message : String(error)}\n`),
        });
      } catch (error) {
        for (const project of projects) project.close();
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE')
          throw new UserError('--port', `port ${options.port} on ${options.host} is in use; choose another (--port 0 picks a free one)`);
        if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EACCES')
          throw new UserError('--host', `cannot listen on ${options.host}:${options.port} (${code})`);
        throw error;
      }
      const names = projects.map((p) => p.name).join(', ');
      process.stdout.write(`Serving ${projects.length} project(s) (${names}) at ${viewer.url}\nPress Ctrl-C to stop.\n`);
      if (options.open) openBrowser(viewer.url);
      await new Promise<void>((resolve) => {
        if (interruptSignal.aborted) resolve();
        else interruptSignal.addEventListener('abort', () => resolve(), { once: true });
      });
      await viewer.close();
      for (const project of projects) project.close();
      process.stdout.write('Viewer stopped.\n');
    });
}
