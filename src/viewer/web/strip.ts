import { api, type SampleInfo } from './api.js';
import { $, applySampling, el } from './dom.js';
import { resetRoving } from './keyboard.js';
import type { ViewState } from './state.js';

export const PAGE_SIZE = 24;

export function pageCount(selected: number): number {
  return Math.max(1, Math.ceil(selected / PAGE_SIZE));
}

/** One line per label kind, for the tile tooltip and the hover card. */
export function describeSample(info: SampleInfo): { text: string; correct: boolean | undefined } {
  const truth = info.labels.map((l) => `${l.name || '?'} (${l.index})`).join(', ') || '–';
  const lines = [`sample ${info.index}`, `label: ${truth}`];
  let correct: boolean | undefined;
  if (info.predictions?.length) {
    const top = info.predictions[0];
    correct = info.labels.some((l) => l.index === top.index);
    lines.push(
      `predicted: ${info.predictions
        .slice(0, 3)
        .map((p) => `${p.name || '?'} (${p.index}) ${p.score.toPrecision(3)}`)
        .join(', ')}`,
    );
  } else if (!info.hasAttribution) lines.push('no attribution');
  return { text: lines.join('\n'), correct };
}

export const samplesText = (n: number) => `${n.toLocaleString('en')} ${n === 1 ? 'sample' : 'samples'}`;

/**
 * The strip of selected samples: one page at a time, each tile showing input, heatmap or overlay
 * per the display mode, framed in its cluster colour, with true and predicted labels. Tiles are
 * buttons with roving focus (Left/Right); Enter or a click opens the larger view.
 */
export async function renderStrip(
  state: ViewState,
  clusterColor: (sample: number) => string,
  isCurrent: () => boolean,
  onOpen: (info: SampleInfo) => void,
): Promise<void> {
  const strip = $('strip');
  const total = state.selection.length;
  const pages = pageCount(total);
  const page = Math.min(state.page, pages - 1);
  $('selection-count').textContent = total ? `(${samplesText(total)})` : '';
  $('page-label').textContent = total ? `page ${page + 1} of ${pages}` : '';
  ($('page-prev') as HTMLButtonElement).disabled = page <= 0;
  ($('page-next') as HTMLButtonElement).disabled = page >= pages - 1;
  if (!total) {
    strip.removeAttribute('role');
    strip.replaceChildren(
      el('div', {
        className: 'empty',
        textContent: 'Select points in the plot (rectangle or lasso tool) or pick a cluster in the list to see its samples here.',
      }),
    );
    return;
  }
  const indices = state.selection.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
  const infos = await api.samples(state.project, indices);
  if (!isCurrent()) return;
  const focused = (document.activeElement as HTMLElement | null)?.closest<HTMLElement>('#strip figure')?.dataset.index;
  strip.setAttribute('role', 'list');
  strip.replaceChildren(
    ...infos.map((info) => {
      const { text, correct } = describeSample(info);
      const mode = info.hasAttribution ? state.mode : 'input';
      const img = el('img', { src: api.imageUrl(state.project, info.index, mode, state.colormap, state.scale), alt: '', loading: 'lazy', decoding: 'async' });
      img.style.borderColor = clusterColor(info.index);
      applySampling(img, state.sampling);
      const caption = el('div', { className: `caption${correct === false ? ' wrong' : ''}`, textContent: `#${info.index} ${info.labels[0]?.name ?? ''}` });
      const open = el('button', { type: 'button', className: 'tile-open', title: text }, [img, caption]);
      // The accessible name starts with the visible caption (WCAG 2.5.3), then says what Enter does.
      open.setAttribute('aria-label', `${caption.textContent}: ${text.split('\n').slice(1).join(', ')}; open a larger view`);
      open.addEventListener('click', () => onOpen(info));
      const tile = el('figure', { className: 'tile' }, [open]);
      tile.setAttribute('role', 'listitem');
      tile.style.margin = '0';
      tile.dataset.index = String(info.index);
      return tile;
    }),
  );
  resetRoving(strip, 'button.tile-open', (b) => b.parentElement?.dataset.index === focused);
  if (focused !== undefined) strip.querySelector<HTMLElement>(`figure[data-index="${focused}"] button`)?.focus();
}
