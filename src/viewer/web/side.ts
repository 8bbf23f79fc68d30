import type { CategoryDetails } from './api.js';
import { $, el } from './dom.js';
import { modifierOf, resetRoving, type Modifier } from './keyboard.js';

const SVG = 'http://www.w3.org/2000/svg';

/**
 * The score plot: eigenvalues of the selected embedding when it has them, otherwise of the first
 * embedding of the category that does (the spectral one). Drawn in reverse storage order, as the
 * reference does, so CoRelAy's descending values show as a rising curve.
 */
export function renderEigenvalues(category: CategoryDetails, embedding: string): void {
  const svg = $('eigenvalues') as unknown as SVGSVGElement;
  const empty = $('eigenvalues-empty');
  const source = category.embeddings.find((e) => e.name === embedding && e.eigenvalues?.length) ?? category.embeddings.find((e) => e.eigenvalues?.length);
  svg.replaceChildren();
  const values = source?.eigenvalues ? [...source.eigenvalues].reverse() : [];
  svg.style.display = values.length ? '' : 'none';
  empty.hidden = values.length > 0;
  if (!values.length || !source) return;
  const width = 260;
  const height = 110;
  const top = 12;
  const bottom = 14;
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('aria-label', `Eigenvalues of ${source.name}`);
  const max = Math.max(...values.map((v) => Math.abs(v))) || 1;
  const slot = width / values.length;
  values.forEach((value, i) => {
    const h = (Math.abs(value) / max) * (height - top - bottom);
    const rect = document.createElementNS(SVG, 'rect');
    rect.setAttribute('x', String(i * slot + slot * 0.1));
    rect.setAttribute('y', String(height - bottom - h));
    rect.setAttribute('width', String(Math.max(1, slot * 0.8)));
    rect.setAttribute('height', String(Math.max(0.5, h)));
    const title = document.createElementNS(SVG, 'title');
    title.textContent = `λ${values.length - i} = ${value.toPrecision(4)}`;
    rect.append(title);
    svg.append(rect);
  });
  const label = (x: number, y: number, text: string, anchor: string) => {
    const t = document.createElementNS(SVG, 'text');
    t.setAttribute('x', String(x));
    t.setAttribute('y', String(y));
    t.setAttribute('text-anchor', anchor);
    t.textContent = text;
    svg.append(t);
  };
  label(0, 9, `${source.name}: max ${max.toPrecision(3)}`, 'start');
  label(0, height - 2, String(values.length), 'start');
  label(width, height - 2, '1', 'end');
}

/**
 * The cluster list: swatch, id and member count. A listbox with roving focus: clicking or Enter /
 * Space selects the cluster, Shift adds it, Alt removes it (keyboard.ts wires the keys once).
 */
export function renderClusters(
  clusters: Array<{ id: number; count: number }>,
  colors: Map<number, string>,
  selectedIn: (id: number) => number,
  onPick: (id: number, how: Modifier) => void,
): void {
  const list = $('clusters');
  $('cluster-count').textContent = `(${clusters.length})`;
  const focused = (document.activeElement as HTMLElement | null)?.dataset.cluster;
  list.replaceChildren(
    ...clusters.map(({ id, count }) => {
      const selected = selectedIn(id);
      const name = id < 0 ? `noise (${id})` : `cluster ${id}`;
      const item = el('li', { title: `Select the ${count} ${count === 1 ? 'sample' : 'samples'} of ${name} (Shift adds, Alt removes)` }, [
        el('span', { className: 'swatch' }),
        el('span', { textContent: name }),
        el('span', {
          className: 'count',
          textContent: selected && selected < count ? `${selected.toLocaleString('en')} of ${count.toLocaleString('en')}` : count.toLocaleString('en'),
        }),
      ]);
      item.setAttribute('role', 'option');
      item.setAttribute('aria-selected', String(selected === count && count > 0));
      (item.firstChild as HTMLElement).style.background = colors.get(id) ?? '#888';
      item.dataset.cluster = String(id);
      item.addEventListener('click', (event) => onPick(id, modifierOf(event)));
      return item;
    }),
  );
  resetRoving(list, 'li', (item) => item.dataset.cluster === focused);
  if (focused !== undefined) list.querySelector<HTMLElement>(`li[data-cluster="${focused}"]`)?.focus();
}
