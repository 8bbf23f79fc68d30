/**
 * Progress reporting for long work. Engines receive a `Progress` and call `advance()`; they never
 * know whether it draws an ink bar on a TTY, prints plain periodic lines (CI logs) or nothing.
 */
export interface Progress {
  /** Starts (or restarts) a phase with a known total of units (samples, categories, …). */
  start(label: string, total: number, unit?: string): void;
  /** Marks `count` more units done. */
  advance(count?: number): void;
  /** A one-off message (a step finished, a warning). */
  log(message: string): void;
  /** Ends the current phase. */
  finish(): void;
}

export const silentProgress: Progress = {
  start() {},
  advance() {},
  log() {},
  finish() {},
};

export interface ProgressState {
  label: string;
  done: number;
  total: number;
  unit: string;
  startedAt: number;
}

export function rate(state: ProgressState, now = Date.now()): number {
  const seconds = (now - state.startedAt) / 1000;
  return seconds > 0 ? state.done / seconds : 0;
}

export function formatEta(state: ProgressState, now = Date.now()): string {
  const r = rate(state, now);
  if (r <= 0 || state.done >= state.total) return '--';
  const s = Math.round((state.total - state.done) / r);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(sec).padStart(2, '0')}s`;
}

export function describe(state: ProgressState, now = Date.now()): string {
  const pct = state.total > 0 ? ((100 * state.done) / state.total).toFixed(1) : '100.0';
  return `${state.label}: ${state.done}/${state.total} ${state.unit} (${pct}%), ${rate(state, now).toFixed(2)} ${state.unit}/s, ETA ${formatEta(state, now)}`;
}

/** Plain lines on a stream, at most one every `intervalMs` per phase (and one at the end). */
export class LineProgress implements Progress {
  private state: ProgressState | undefined;
  private lastPrinted = 0;

  constructor(
    private readonly stream: NodeJS.WritableStream = process.stderr,
    private readonly intervalMs = 2000,
  ) {}

  start(label: string, total: number, unit = 'samples'): void {
    this.state = { label, done: 0, total, unit, startedAt: Date.now() };
    this.lastPrinted = 0;
  }

  advance(count = 1): void {
    if (!this.state) return;
    this.state.done += count;
    const now = Date.now();
    if (now - this.lastPrinted >= this.intervalMs && this.state.done < this.state.total) {
      this.lastPrinted = now;
      this.stream.write(`${describe(this.state, now)}\n`);
    }
  }

  log(message: string): void {
    this.stream.write(`${message}\n`);
  }

  finish(): void {
    if (this.state) this.stream.write(`${describe(this.state)}\n`);
    this.state = undefined;
  }
}

/** Narrower than this, a redrawn bar wraps (and a 0-column pty makes ink clear the scrollback). */
const MIN_BAR_COLUMNS = 40;

/**
 * Whether a redrawn (ink) bar suits the terminal: stderr is a TTY of a usable width, TERM is not
 * `dumb` and NO_COLOR (https://no-color.org: any non-empty value) is not set. Otherwise plain lines.
 */
export function wantsLiveBar(stream: { isTTY?: boolean; columns?: number }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!stream.isTTY) return false;
  if (env.NO_COLOR || env.TERM === 'dumb') return false;
  return (stream.columns ?? 0) >= MIN_BAR_COLUMNS;
}

/**
 * The progress a command should use: silent with `quiet`, an ink bar on stderr when it suits the
 * terminal (wantsLiveBar), plain lines otherwise.
 */
export async function createProgress(options: { quiet?: boolean } = {}): Promise<Progress> {
  if (options.quiet) return silentProgress;
  if (wantsLiveBar(process.stderr)) {
    const { InkProgress } = await import('./progress-ink.js');
    return new InkProgress();
  }
  return new LineProgress();
}
