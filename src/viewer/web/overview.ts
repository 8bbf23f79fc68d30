import type { CategoryEntry } from './api.js';
import { $, el } from './dom.js';
import { rankBySuspicion } from './resolve.js';

/** How many ranked categories the panel lists (ImageNet has 1000; the category select has them all). */
export const OVERVIEW_ROWS = 6;

/**
 * The suspicion overview: categories ranked by spray's suspicion score, each with a bar (relative
 * to the top score), the score and the number of groups. Hidden when no category has a score
 * (projects made by ViRelAy's tools).
 */
export function renderOverview(categories: readonly CategoryEntry[], current: string, onOpen: (category: string) => void): void {
  const panel = $('overview');
  const ranked = rankBySuspicion(categories);
  panel.hidden = ranked.length === 0;
  if (!ranked.length) return;
  const top = ranked[0].suspicion.score || 1;
  $('overview-list').replaceChildren(
    ...ranked.slice(0, OVERVIEW_ROWS).map((c, rank) => {
      const name = c.label ? `${c.label} (${c.name})` : c.name;
      const bar = el('span', { className: 'bar' });
      bar.style.width = `${Math.max(2, (c.suspicion.score / top) * 100)}%`;
      const button = el('button', { type: 'button', className: 'overview-row' }, [
        el('span', { className: 'rank', textContent: String(rank + 1) }),
        el('span', { className: 'name', textContent: name }),
        el('span', { className: 'bar-track' }, [bar]),
        el('span', { className: 'score', textContent: c.suspicion.score.toFixed(3) }),
        el('span', { className: 'groups', textContent: `${c.suspicion.groups} groups` }),
      ]);
      button.dataset.category = c.name;
      button.title = `Open ${name} on its best-separating clustering (suspicion ${c.suspicion.score.toFixed(4)}, ${c.suspicion.groups} groups)`;
      if (c.name === current) button.setAttribute('aria-current', 'true');
      button.addEventListener('click', () => onOpen(c.name));
      return el('li', {}, [button]);
    }),
  );
}

/** The category select's options: ranked by suspicion (with the score) when scored, else in file order. */
export function categoryOptions(categories: readonly CategoryEntry[]): Array<{ value: string; label: string }> {
  const ranked = rankBySuspicion(categories);
  const unscored = categories.filter((c) => c.suspicion === null);
  return [...ranked, ...unscored].map((c) => ({
    value: c.name,
    label: `${c.label ? `${c.label} ` : ''}(${c.name}) · ${c.count}${c.suspicion ? ` · suspicion ${c.suspicion.score.toFixed(3)}` : ''}`,
  }));
}
