import { describe, expect, it } from 'vitest';
import { wantsLiveBar } from './progress.js';

describe('wantsLiveBar', () => {
  const tty = { isTTY: true, columns: 120 };
  it('draws the bar only on a wide enough colour-capable TTY', () => {
    expect(wantsLiveBar(tty, {})).toBe(true);
    expect(wantsLiveBar({ isTTY: false, columns: 120 }, {})).toBe(false);
  });
  it('falls back to plain lines for NO_COLOR, TERM=dumb and narrow or 0-column terminals', () => {
    expect(wantsLiveBar(tty, { NO_COLOR: '1' })).toBe(false);
    expect(wantsLiveBar(tty, { NO_COLOR: '' })).toBe(true); // no-color.org: only a non-empty value counts
    expect(wantsLiveBar(tty, { TERM: 'dumb' })).toBe(false);
    expect(wantsLiveBar({ isTTY: true, columns: 0 }, {})).toBe(false);
    expect(wantsLiveBar({ isTTY: true, columns: 30 }, {})).toBe(false);
    expect(wantsLiveBar({ isTTY: true }, {})).toBe(false);
  });
});
