/**
 * Roving focus for a list of items (cluster list, strip tiles, suspicion overview): one item is in
 * the Tab order at a time, arrow keys / Home / End move focus along the list, Enter and Space
 * activate the focused item with the modifier state of the key press.
 */
export interface RovingOptions {
  /** Arrow keys that move: vertical lists use Up/Down, the strip Left/Right. */
  orientation: 'vertical' | 'horizontal';
  activate(item: HTMLElement, event: KeyboardEvent): void;
}

export type Modifier = 'replace' | 'add' | 'remove';

/** Shift adds to the selection, Alt removes from it, anything else replaces it (mouse and keys alike). */
export function modifierOf(event: { shiftKey: boolean; altKey: boolean }): Modifier {
  return event.shiftKey ? 'add' : event.altKey ? 'remove' : 'replace';
}

export function makeRoving(container: HTMLElement, selector: string, options: RovingOptions): void {
  const items = () => [...container.querySelectorAll<HTMLElement>(selector)];
  container.addEventListener('keydown', (event) => {
    const list = items();
    const current = list.indexOf(event.target as HTMLElement);
    if (current < 0) return;
    const [back, forward] = options.orientation === 'vertical' ? ['ArrowUp', 'ArrowDown'] : ['ArrowLeft', 'ArrowRight'];
    let next = -1;
    if (event.key === forward) next = Math.min(list.length - 1, current + 1);
    else if (event.key === back) next = Math.max(0, current - 1);
    else if (event.key === 'Home') next = 0;
    else if (event.key === 'End') next = list.length - 1;
    else if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      options.activate(list[current], event);
      return;
    } else return;
    event.preventDefault();
    focusItem(list, next);
  });
  container.addEventListener('focusin', (event) => {
    const list = items();
    const index = list.indexOf(event.target as HTMLElement);
    if (index >= 0) for (const [i, item] of list.entries()) item.tabIndex = i === index ? 0 : -1;
  });
}

/** After a re-render: keeps exactly one item tabbable (the one with `keep`'s key, else the first). */
export function resetRoving(container: HTMLElement, selector: string, isKept: (item: HTMLElement) => boolean = () => false): void {
  const list = [...container.querySelectorAll<HTMLElement>(selector)];
  const kept = Math.max(0, list.findIndex(isKept));
  for (const [i, item] of list.entries()) item.tabIndex = i === kept ? 0 : -1;
}

function focusItem(list: HTMLElement[], index: number): void {
  for (const [i, item] of list.entries()) item.tabIndex = i === index ? 0 : -1;
  list[index]?.focus();
  list[index]?.scrollIntoView({ block: 'nearest', inline: 'nearest' });
}
