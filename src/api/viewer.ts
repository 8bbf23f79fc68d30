/** Library entry point for the viewer: load project files and serve them until `close()`. */
import { UserError } from '../errors.js';
import { loadProjects, type LoadFailure } from '../viewer/server/load.js';
import { startViewer } from '../viewer/server/server.js';

export interface ServeOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port (read it from `url`). */
  port?: number;
  /** Memory budget of the rendered-image cache in bytes (default 256 MiB). */
  imageCacheBytes?: number;
}

export interface ServedViewer {
  /** Where the page is, e.g. http://127.0.0.1:40123/ */
  url: string;
  /** Project files that could not be loaded (the others are served). */
  failures: LoadFailure[];
  /** Stops the server and closes every file it opened. */
  close(): Promise<void>;
}

export async function serveProjects(files: string[], options: ServeOptions = {}): Promise<ServedViewer> {
  const { projects, failures } = await loadProjects(files);
  if (projects.length === 0)
    throw new UserError(
      undefined,
      `none of the ${files.length} project file(s) could be loaded${failures[0] ? ` (${failures[0].file}: ${failures[0].reason})` : ''}`,
    );
  const closeProjects = (): void => {
    for (const project of projects) project.close();
  };
  try {
    const viewer = await startViewer({ projects, host: options.host ?? '127.0.0.1', port: options.port ?? 0, imageCacheBytes: options.imageCacheBytes });
    return {
      url: viewer.url,
      failures,
      async close() {
        await viewer.close();
        closeProjects();
      },
    };
  } catch (error) {
    closeProjects();
    throw error;
  }
}
