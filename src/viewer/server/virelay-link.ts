import { mappedStateToQuery, stateFromVirelayLink } from '../virelay-state.js';
import { notFound } from './http-error.js';
import type { ViewerProject } from './model.js';
import type { Reply } from './reply.js';

/**
 * ViRelAy's share links (`/projects/<n>?analysisMethod=…&imageMode=…`) answered with a redirect
 * to the page carrying the same view in our query fields. The Location is relative (`../?…`),
 * so a link also works behind a reverse proxy that serves the viewer under a path prefix.
 */
export function virelayLinkRedirect(projects: readonly ViewerProject[], projectId: string, search: URLSearchParams): Reply {
  const state = stateFromVirelayLink(projectId, search, projects);
  if (!state.project) throw notFound(`no project ${projectId} (ViRelAy numbers projects from 0; ${projects.length} loaded)`);
  const query = mappedStateToQuery(state);
  const location = `../${query ? `?${query}` : ''}`;
  return { status: 302, contentType: 'text/plain; charset=utf-8', body: Buffer.from(`see ${location}\n`), headers: { Location: location } };
}
