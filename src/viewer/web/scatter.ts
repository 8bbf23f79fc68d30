import createScatterplot from 'regl-scatterplot';

export type Tool = 'pan' | 'rectangle' | 'lasso';

export interface PlotPoints {
  x: Float32Array;
  y: Float32Array;
  /** Colour slot of each point (index into `colors`). */
  slot: Int32Array;
}

interface Handlers {
  /** Fired after a user selection (rectangle, lasso, click) with the full new set of point positions. */
  onSelect(positions: number[]): void;
  /** A point position under the cursor, or -1 when the cursor leaves it. */
  onHover(position: number): void;
  /** The camera moved (pan, zoom, fit). */
  onView?(): void;
}

type Scatterplot = ReturnType<typeof createScatterplot>;

/**
 * The 2-D embedding canvas: a thin layer over regl-scatterplot (WebGL, smooth with 100 000
 * points) that maps our tools and modifiers onto it. Shift adds to the selection and Alt removes
 * from it in every tool; in pan mode, Ctrl-drag draws a lasso.
 */
export class EmbeddingPlot {
  private readonly plot: Scatterplot;
  private drawn = false;
  private count = 0;
  /** The camera as the last fit left it (a later resize refits only a view the user has not moved). */
  private fittedCamera?: string;
  private programmatic = false;
  private tool: Tool = 'pan';
  /** During a rectangle drag: where the press was, the pointer now, and the selection before it. */
  private rectangle?: { from: [number, number]; to: [number, number]; before: number[]; shift: boolean; alt: boolean };
  private lassoing = false;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    handlers: Handlers,
  ) {
    const { width, height } = (canvas.parentElement ?? canvas).getBoundingClientRect();
    this.plot = createScatterplot({
      canvas,
      width: Math.max(1, width),
      height: Math.max(1, height),
      pointSize: 4,
      pointSizeSelected: 2,
      pointOutlineWidth: 1,
      opacityInactiveScale: 0.5,
      opacityInactiveMax: 0.5,
      lassoColor: [0.1, 0.45, 0.95, 1],
      lassoMinDelay: 5,
      lassoMinDist: 2,
      lassoInitiator: false,
      lassoOnLongPress: false,
      deselectOnDblClick: true,
      // Esc is handled by the page, which ignores it while focus is in a form field.
      deselectOnEscape: false,
      actionKeyMap: { lasso: 'ctrl', merge: 'shift', remove: 'alt' },
      colorBy: 'valueA',
      performanceMode: false,
    } as Parameters<typeof createScatterplot>[0]);
    // regl-scatterplot starts a rectangle at the first pointer move after the press, so a slow drag
    // misses the points between the press and that move; our rectangle runs from the press itself.
    canvas.addEventListener('pointerdown', (e) => {
      if (this.tool === 'rectangle')
        this.rectangle = {
          from: [e.offsetX, e.offsetY],
          to: [e.offsetX, e.offsetY],
          before: [...(this.plot.get('selectedPoints') as number[])],
          shift: e.shiftKey,
          alt: e.altKey,
        };
    });
    window.addEventListener('pointermove', (e) => this.track(e), true);
    window.addEventListener('pointerup', (e) => this.track(e), true);
    this.plot.subscribe('lassoStart', () => (this.lassoing = true));
    this.plot.subscribe('lassoEnd', () => {
      this.lassoing = false;
      const rectangle = this.rectangle;
      this.rectangle = undefined;
      if (this.tool !== 'rectangle' || !rectangle) return;
      const chosen = this.pointsIn(rectangle.from, rectangle.to);
      const merged = rectangle.shift
        ? [...new Set([...rectangle.before, ...chosen])]
        : rectangle.alt
          ? rectangle.before.filter((p) => !chosen.includes(p))
          : chosen;
      this.select(merged);
      handlers.onSelect(merged);
    });
    const report = (points: number[]) => {
      // A rectangle's outcome is reported at lassoEnd (above), not regl-scatterplot's own.
      if (!this.programmatic && !(this.lassoing && this.tool === 'rectangle')) handlers.onSelect(points);
    };
    this.plot.subscribe('select', ({ points }: { points: number[] }) => report([...points]));
    this.plot.subscribe('deselect', () => report([]));
    // Index 0 is a real point: compare with undefined/-1, never truthiness (the reference's bug).
    this.plot.subscribe('pointOver', (position: number) => handlers.onHover(position));
    this.plot.subscribe('pointOut', () => handlers.onHover(-1));
    this.plot.subscribe('view', () => handlers.onView?.());
    new ResizeObserver(() => this.resize()).observe(canvas.parentElement ?? canvas);
  }

  /** Fits the canvas to its container (regl-scatterplot pins the canvas to explicit pixel sizes). */
  private resize(): void {
    const { width, height } = (this.canvas.parentElement ?? this.canvas).getBoundingClientRect();
    if (!(width > 0 && height > 0)) return;
    // A view the user has not moved stays fitted when the canvas changes shape (a phone turned, a
    // panel stacked below): regl-scatterplot keeps the camera, which crops a narrower canvas.
    const wasFitted = this.drawn && this.fittedCamera === this.cameraKey();
    this.plot.set({ width, height });
    if (wasFitted) void this.fit();
  }

  private cameraKey(): string {
    return JSON.stringify([this.plot.get('cameraTarget'), this.plot.get('cameraDistance')]);
  }

  private track(e: PointerEvent): void {
    if (!this.rectangle) return;
    const box = this.canvas.getBoundingClientRect();
    this.rectangle.to = [e.clientX - box.left, e.clientY - box.top];
  }

  /** Positions of the points whose screen position lies in the rectangle spanned by two canvas points. */
  private pointsIn([x0, y0]: [number, number], [x1, y1]: [number, number]): number[] {
    const [left, right, top, bottom] = [Math.min(x0, x1), Math.max(x0, x1), Math.min(y0, y1), Math.max(y0, y1)];
    const out: number[] = [];
    for (let i = 0; i < this.count; i++) {
      const p = this.screenPosition(i);
      if (p && p[0] >= left && p[0] <= right && p[1] >= top && p[1] <= bottom) out.push(i);
    }
    return out;
  }

  setTool(tool: Tool): void {
    this.tool = tool;
    if (tool === 'pan') this.plot.set({ mouseMode: 'panZoom' });
    else this.plot.set({ mouseMode: 'lasso', lassoType: tool === 'rectangle' ? 'rectangle' : 'freeform' } as never);
  }

  setTheme(dark: boolean): void {
    this.plot.set({ backgroundColor: dark ? [0.09, 0.1, 0.12, 1] : [1, 1, 1, 1], pointColorActive: dark ? [1, 1, 1, 1] : [0, 0, 0, 1] } as never);
  }

  /** Replaces the points, scaled to fill the view with their aspect ratio kept. */
  async show(points: PlotPoints, colors: string[], selected: number[]): Promise<void> {
    const n = points.x.length;
    const [x, y] = normalise(points.x, points.y);
    const z = new Float32Array(n);
    for (let i = 0; i < n; i++) z[i] = points.slot[i];
    // Big dots for a few points, fine ones for 100 000 (overplotting hides structure otherwise).
    const size = n < 500 ? 9 : n < 5000 ? 6 : n < 30000 ? 4 : 2.5;
    // Dense plots stack many translucent points: dim harder so a selection still stands out.
    const inactive = n < 20000 ? 0.5 : 0.12;
    this.plot.set({
      pointColor: colors.length ? colors : ['#3b7dd8'],
      pointSize: size,
      pointSizeSelected: 2,
      opacityInactiveMax: inactive,
      opacityInactiveScale: inactive,
    } as never);
    await this.plot.draw({ x, y, z } as never, { zDataType: 'categorical', select: selected } as never);
    this.count = n;
    this.drawn = true;
    await this.fit();
  }

  /** Back to the view that shows every point (the points are normalised to fill it). */
  async fit(): Promise<void> {
    // The normalised square, whatever the canvas's aspect: the origin view only fits a wide canvas.
    await this.plot.zoomToArea({ x: -1, y: -1, width: 2, height: 2 }, { transition: false } as never);
    this.fittedCamera = this.cameraKey();
  }

  /** Keyboard panning: moves the view by a fraction of its visible extent. */
  async panBy(fx: number, fy: number): Promise<void> {
    const [tx, ty] = this.plot.get('cameraTarget') as [number, number];
    const distance = this.plot.get('cameraDistance') as number;
    await this.plot.zoomToLocation([tx + fx * distance, ty + fy * distance], distance, { transition: false } as never);
  }

  /** Keyboard zoom about the view's centre (factor > 1 zooms in). */
  async zoomBy(factor: number): Promise<void> {
    const target = this.plot.get('cameraTarget') as [number, number];
    const distance = this.plot.get('cameraDistance') as number;
    await this.plot.zoomToLocation(target, distance / factor, { transition: false } as never);
  }

  /** Sets the highlighted points without reporting it back as a user selection. */
  select(positions: number[]): void {
    if (!this.drawn) return;
    this.programmatic = true;
    try {
      if (positions.length) this.plot.select(positions, { preventEvent: true });
      else this.plot.deselect({ preventEvent: true });
    } finally {
      this.programmatic = false;
    }
  }

  /** Canvas-relative screen position of every point (used by tests and the hover card). */
  screenPosition(position: number): [number, number] | undefined {
    return this.drawn ? (this.plot.getScreenPosition(position) as [number, number] | undefined) : undefined;
  }

  get pointCount(): number {
    return this.count;
  }

  get instance(): Scatterplot {
    return this.plot;
  }
}

/** Maps data coordinates into [-0.95, 0.95] (regl-scatterplot's normalised space), keeping aspect. */
function normalise(xs: Float32Array, ys: Float32Array): [Float32Array, Float32Array] {
  let x0 = Infinity;
  let x1 = -Infinity;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i];
    const y = ys[i];
    if (Number.isFinite(x)) {
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
    }
    if (Number.isFinite(y)) {
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  if (!Number.isFinite(x0)) [x0, x1] = [0, 1];
  if (!Number.isFinite(y0)) [y0, y1] = [0, 1];
  const span = Math.max(x1 - x0, y1 - y0) || 1;
  const scale = 1.9 / span;
  const cx = (x0 + x1) / 2;
  const cy = (y0 + y1) / 2;
  const nx = new Float32Array(xs.length);
  const ny = new Float32Array(ys.length);
  for (let i = 0; i < xs.length; i++) {
    // Non-finite coordinates (broken embeddings) are parked at the centre instead of breaking the plot.
    nx[i] = Number.isFinite(xs[i]) ? (xs[i] - cx) * scale : 0;
    ny[i] = Number.isFinite(ys[i]) ? (ys[i] - cy) * scale : 0;
  }
  return [nx, ny];
}
