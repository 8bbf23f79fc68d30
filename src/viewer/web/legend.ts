import { api, type AttributionRange, type ColorMapInfo } from './api.js';
import { el } from './dom.js';
import type { Scale } from './state.js';

export type ResolvedScale = Exclude<Scale, 'auto'>;

/** `auto` as the server resolves it: diverging maps centre zero, sequential maps show |R|. */
export function resolveScale(scale: Scale, map: ColorMapInfo | undefined): ResolvedScale {
  return scale !== 'auto' ? scale : map?.signed === false ? 'absolute' : 'symmetric';
}

const fmt = (v: number) => (v === 0 ? '0' : Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toPrecision(3));

/** The labels at the ramp's left end, centre (if any) and right end, in words or with a sample's values. */
export function legendLabels(scale: ResolvedScale, range?: AttributionRange): { left: string; centre?: string; right: string; what: string } {
  if (scale === 'symmetric') {
    return range
      ? { left: fmt(-range.maxAbs), centre: '0', right: fmt(range.maxAbs), what: 'relevance, zero at the centre' }
      : { left: '−max |R|', centre: '0', right: '+max |R|', what: 'relevance, zero at the centre' };
  }
  if (scale === 'absolute') return { left: '0', right: range ? fmt(range.maxAbs) : 'max |R|', what: '|relevance| (sign dropped)' };
  return { left: range ? fmt(range.min) : 'min R', right: range ? fmt(range.max) : 'max R', what: 'relevance, min to max' };
}

/**
 * A colour legend: the map's ramp with the values at its ends. Without a `range` it states the
 * scale in words, since every strip image is scaled to its own sample's values.
 */
export function renderLegend(box: HTMLElement, colormap: string, scale: ResolvedScale, range?: AttributionRange): void {
  const labels = legendLabels(scale, range);
  const ramp = el('img', { className: 'ramp', src: api.colorMapPreviewUrl(colormap), alt: '', width: 128, height: 12 });
  const ends = el('span', { className: 'legend-ends' }, [
    el('span', { textContent: labels.left }),
    el('span', { textContent: labels.centre ?? '' }),
    el('span', { textContent: labels.right }),
  ]);
  const caption = `${labels.what}${range ? '' : ', each image scaled to its own sample'}`;
  box.replaceChildren(el('span', { className: 'legend-ramp' }, [ramp, ends]), el('span', { className: 'legend-caption', textContent: caption }));
  box.dataset.scale = scale;
  box.setAttribute(
    'aria-label',
    `Colour legend (${colormap}): ${labels.left} to ${labels.right}${labels.centre ? `, ${labels.centre} at the centre` : ''}; ${caption}`,
  );
}
