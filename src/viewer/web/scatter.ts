import createScatterplot, { createRenderer } from 'regl-scatterplot';
import { normalise } from './normalise.js';
import { buildSpatialIndex } from './spatial-index.js';
import { addTiming, timed, timedSync } from './timings.js';

export type Tool = 'pan' | 'rectangle' | 'lasso';

export interface PlotPoints {
  x: Float32Array;
  y: Float32Array;
  /** Colour slot of each point (index into `colors`). */
  slot: Int32Array;
  /** The points' k-d order from the server (large categories), so the page need not sort them. */
  kdOrder?: Uint32Array;
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
 * Above this many points the plot uses regl-scatterplot's performance mode: square points without
 * alpha blending, which software WebGL renders faster. Normal plots (up to a few 100 000 points)
 * keep round, blended points.
 */
export const PERFORMANCE_MODE_POINTS = 200_000;

/** The part of regl-scatterplot's camera (dom-2d-camera) that the snapshot pan uses. */
interface Camera {
  config(options: { isFixed: boolean }): void;
  pan(translation: [number, number]): void;
}

/**
 * The 2-D embedding canvas: a thin layer over regl-scatterplot (WebGL, smooth with 100 000
 * points) that maps our tools and modifiers onto it. Shift adds to the selection and Alt removes
 * from it in every tool; in pan mode, Ctrl-drag draws a lasso.
 */
export class EmbeddingPlot {
  private plot: Scatterplot;
  /** One WebGL context for the page, kept when the scatterplot is recreated in the other mode. */
  private readonly renderer = createRenderer();
  /** Whether `plot` renders in regl-scatterplot's performance mode (square points, no blending). */
  private performanceMode = false;
  private dark?: boolean;
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
    private readonly handlers: Handlers,
  ) {
    this.plot = this.create(false);
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
    this.wireSnapshotPan();
    new ResizeObserver(() => this.resize()).observe(canvas.parentElement ?? canvas);
  }

  /**
   * A regl-scatterplot instance on our canvas, wired to the handlers. Performance mode is fixed at
   * creation, so crossing PERFORMANCE_MODE_POINTS recreates the instance (see `show`).
   */
  private create(performanceMode: boolean): Scatterplot {
    const canvas = this.canvas;
    const handlers = this.handlers;
    const { width, height } = (canvas.parentElement ?? canvas).getBoundingClientRect();
    const plot = createScatterplot({
      canvas,
      renderer: this.renderer,
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
      performanceMode,
    } as Parameters<typeof createScatterplot>[0]);
    plot.subscribe('lassoStart', () => (this.lassoing = true));
    plot.subscribe('lassoEnd', () => {
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
    plot.subscribe('select', ({ points }: { points: number[] }) => report([...points]));
    plot.subscribe('deselect', () => report([]));
    // Index 0 is a real point: compare with undefined/-1, never truthiness (the reference's bug).
    plot.subscribe('pointOver', (position: number) => handlers.onHover(position));
    plot.subscribe('pointOut', () => handlers.onHover(-1));
    plot.subscribe('view', () => handlers.onView?.());
    return plot;
  }

  /**
   * Panning a performance-mode plot (hundreds of thousands of points): software WebGL takes most of
   * a second per frame there, so a drag would stutter from frame to frame. Instead the drawn image
   * follows the pointer as a CSS transform of the canvas (no rendering at all) while the camera
   * stays fixed, and at the release the camera moves by the same distance and renders once. Areas
   * that come into view stay empty until then. Smaller plots pan live as before.
   */
  private wireSnapshotPan(): void {
    const canvas = this.canvas;
    let drag: { x: number; y: number; dx: number; dy: number } | undefined;
    const camera = () => this.plot.get('camera') as unknown as Camera;
    canvas.addEventListener('pointerdown', (e) => {
      if (!(this.performanceMode && this.drawn && this.tool === 'pan') || e.button !== 0 || e.ctrlKey || e.shiftKey || e.altKey || e.metaKey) return;
      drag = { x: e.clientX, y: e.clientY, dx: 0, dy: 0 };
      camera().config({ isFixed: true });
    });
    window.addEventListener(
      'pointermove',
      (e) => {
        if (!drag) return;
        drag.dx = e.clientX - drag.x;
        drag.dy = e.clientY - drag.y;
        canvas.style.transform = `translate(${drag.dx}px, ${drag.dy}px)`;
      },
      true,
    );
    // regl-scatterplot redraws at every mouse move while a button is down (and hovers); during the
    // drag its window listeners do not see the moves at all. The press and release still reach it,
    // so it reads the gesture as a drag, never as a click.
    window.addEventListener('mousemove', (e) => drag && e.stopPropagation(), true);
    // Capture phase on pointerup, ahead of the mouseup and click that follow it: regl-scatterplot
    // must see the canvas back in place (a moved canvas under a moved pointer reads as a click).
    const end = () => {
      if (!drag) return;
      const { dx, dy } = drag;
      drag = undefined;
      canvas.style.transform = '';
      camera().config({ isFixed: false });
      if (dx === 0 && dy === 0) return;
      // The camera's own mouse panning, in one step: pixels to normalised device units (y up).
      const height = canvas.getBoundingClientRect().height || 1;
      camera().pan([(2 * dx) / height, (-2 * dy) / height]);
      this.plot.redraw();
    };
    window.addEventListener('pointerup', end, true);
    window.addEventListener('pointercancel', end, true);
  }

  /** Replaces the instance by one in the other mode, keeping the tool and theme. */
  private switchMode(performanceMode: boolean): void {
    if (performanceMode === this.performanceMode) return;
    this.plot.destroy();
    this.performanceMode = performanceMode;
    this.drawn = false;
    this.count = 0;
    this.plot = this.create(performanceMode);
    this.setTool(this.tool);
    if (this.dark !== undefined) this.setTheme(this.dark);
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
    this.dark = dark;
    this.plot.set({ backgroundColor: dark ? [0.09, 0.1, 0.12, 1] : [1, 1, 1, 1], pointColorActive: dark ? [1, 1, 1, 1] : [0, 0, 0, 1] } as never);
  }

  /** Replaces the points, scaled to fill the view with their aspect ratio kept. */
  async show(points: PlotPoints, colors: string[], selected: number[]): Promise<void> {
    const n = points.x.length;
    this.switchMode(n > PERFORMANCE_MODE_POINTS);
    const t0 = performance.now();
    const [x, y] = normalise(points.x, points.y);
    const z = new Float32Array(n);
    for (let i = 0; i < n; i++) z[i] = points.slot[i];
    addTiming('plot: normalise', performance.now() - t0);
    // Big dots for a few points, fine ones for 100 000 (overplotting hides structure otherwise).
    const size = n < 500 ? 9 : n < 5000 ? 6 : n < 30000 ? 4 : 2.5;
    // Dense plots stack many translucent points: dim harder so a selection still stands out.
    const inactive = n < 20000 ? 0.5 : 0.12;
    // Awaited: set() asks for a redraw in the next animation frame, which would otherwise come
    // after the new points' first frame and render all of them a second time.
    await this.plot.set({
      pointColor: colors.length ? colors : ['#3b7dd8'],
      pointSize: size,
      pointSizeSelected: 2,
      opacityInactiveMax: inactive,
      opacityInactiveScale: inactive,
    } as never);
    const spatialIndex = timedSync('plot: spatial index', () => buildSpatialIndex(x, y, points.kdOrder));
    // The fitted view is the same for every points set (they are normalised to fill it), so the
    // camera moves before the points arrive: their first frame is already the fitted one. Fitting
    // afterwards would render everything twice, and at a million points in software WebGL one
    // frame takes most of a second.
    void this.fit();
    // draw() settles with the first frame of the new points: its upload (array conversion, state
    // texture, up to that frame's start) and the frame itself are timed apart. 'drawing' fires at the
    // end of the frame, inside it, where the timeline's current time is the frame's start.
    const t1 = performance.now();
    this.plot.subscribe(
      'drawing',
      () => {
        const start = Number(document.timeline.currentTime ?? t1);
        addTiming('plot: upload (regl-scatterplot)', start - t1);
        addTiming('plot: first frame', performance.now() - start);
      },
      1,
    );
    await timed('plot: draw (upload + first frame)', () =>
      this.plot.draw({ x, y, z } as never, { zDataType: 'categorical', select: selected, spatialIndex } as never),
    );
    this.count = n;
    this.drawn = true;
  }

  /** Back to the view that shows every point (the points are normalised to fill it). */
  async fit(): Promise<void> {
    // The normalised square, whatever the canvas's aspect: the origin view only fits a wide canvas.
    // The camera moves at once; the promise settles with the next rendered frame.
    const moved = this.plot.zoomToArea({ x: -1, y: -1, width: 2, height: 2 }, { transition: false } as never);
    this.fittedCamera = this.cameraKey();
    await moved;
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
