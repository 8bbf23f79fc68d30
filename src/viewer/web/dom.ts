/** Small DOM helpers shared by the page's parts. */

export function $<T extends HTMLElement = HTMLElement>(id: string): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`page is missing #${id}`);
  return element as T;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> & { className?: string } = {},
  children: Array<Node | string> = [],
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  Object.assign(element, props);
  for (const child of children) element.append(child);
  return element;
}

/** Fills a select with options, keeping the DOM untouched when nothing changed (no focus loss). */
export function fillSelect(select: HTMLSelectElement, options: Array<{ value: string; label: string; group?: string }>, value: string): void {
  const signature = JSON.stringify(options);
  if (select.dataset.signature !== signature) {
    select.replaceChildren();
    const groups = new Map<string, HTMLOptGroupElement>();
    for (const option of options) {
      const node = el('option', { value: option.value, textContent: option.label });
      if (option.group) {
        let group = groups.get(option.group);
        if (!group) {
          group = el('optgroup', { label: option.group });
          groups.set(option.group, group);
          select.append(group);
        }
        group.append(node);
      } else select.append(node);
    }
    select.dataset.signature = signature;
  }
  select.value = value;
  select.disabled = options.length === 0;
}

/** Image rendering per the sampling setting; `auto` goes pixelated for small images (≤ 64 px). */
export function applySampling(img: HTMLImageElement, sampling: 'auto' | 'smooth' | 'pixelated'): void {
  const set = (pixelated: boolean) => {
    img.classList.toggle('pixelated', pixelated);
    img.classList.toggle('smooth', !pixelated);
  };
  if (sampling !== 'auto') {
    set(sampling === 'pixelated');
    return;
  }
  const decide = () => set(Math.max(img.naturalWidth, img.naturalHeight) <= 64);
  if (img.complete && img.naturalWidth) decide();
  else img.addEventListener('load', decide, { once: true });
}
