import { api, type ColorMapInfo, type SampleInfo } from './api.js';
import { $, applySampling, el } from './dom.js';
import { renderLegend, resolveScale } from './legend.js';
import type { DisplayMode, ViewState } from './state.js';
import { describeSample } from './strip.js';

const MODES: Array<[DisplayMode, string]> = [
  ['input', 'Input'],
  ['attribution', 'Attribution'],
  ['overlay', 'Overlay'],
];

/**
 * The larger view of one strip tile: input, heatmap and overlay side by side with a legend that
 * prints this sample's own values. A modal <dialog>: Esc or Close returns focus to the tile.
 */
export async function openSampleView(info: SampleInfo, state: ViewState, colorMap: ColorMapInfo | undefined): Promise<void> {
  const dialog = $('sample-view') as HTMLDialogElement;
  const modes = info.hasAttribution ? MODES : MODES.slice(0, 1);
  $('sample-view-title').textContent = `Sample ${info.index}`;
  $('sample-view-text').textContent = describeSample(info).text.split('\n').slice(1).join(' · ');
  $('sample-view-images').replaceChildren(
    ...modes.map(([mode, label]) => {
      const img = el('img', { src: api.imageUrl(state.project, info.index, mode, state.colormap, state.scale), alt: `${label} of sample ${info.index}` });
      applySampling(img, state.sampling);
      const figure = el('figure', {}, [img, el('figcaption', { textContent: label })]);
      figure.dataset.mode = mode;
      return figure;
    }),
  );
  const legend = $('sample-view-legend');
  legend.hidden = !info.hasAttribution;
  if (!dialog.open) dialog.showModal();
  if (info.hasAttribution) renderLegend(legend, state.colormap, resolveScale(state.scale, colorMap), await api.attributionRange(state.project, info.index));
}

export function wireSampleView(): void {
  const dialog = $('sample-view') as HTMLDialogElement;
  $('sample-view-close').addEventListener('click', () => dialog.close());
  // A click on the backdrop (outside the dialog's box) closes it as well.
  dialog.addEventListener('click', (event) => {
    if (event.target === dialog) dialog.close();
  });
}
