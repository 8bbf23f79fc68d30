import type { DecodedPoints } from '../points-format.js';
import { api, serverAnswers, ServerUnreachable, type CategoryDetails, type ColorMapInfo, type ProjectDetails, type ProjectSummary } from './api.js';
import { clusterColors } from './colors.js';
import { $, applySampling, el, fillSelect } from './dom.js';
import { makeRoving, modifierOf, type Modifier } from './keyboard.js';
import { renderLegend, resolveScale } from './legend.js';
import { categoryOptions, renderOverview } from './overview.js';
import { requests, resolveCategory, resolveProject, resolveSelection, resolveView } from './resolve.js';
import { PositionIndex } from './positions.js';
import { openSampleView, wireSampleView } from './sample-view.js';
import { EmbeddingPlot, type Tool } from './scatter.js';
import { renderClusters, renderEigenvalues } from './side.js';
import {
  EMPTY_STATE,
  exportFileName,
  stateFromExport,
  stateFromQuery,
  stateToExport,
  stateToQuery,
  THEMES,
  type DisplayMode,
  type ViewState,
} from './state.js';
import { describeSample, pageCount, renderStrip } from './strip.js';
import { evaluationColors, evaluationText, installEvaluation } from './evaluation.js';
import { installImagePlaceholders } from './placeholder.js';
import { addTiming, publishTimings, resetTimings, timed, timedSync } from './timings.js';

/** What one `apply` loaded for a resolved state; `message` says why the plot stays empty. */
interface Loaded {
  state: ViewState;
  project?: ProjectDetails;
  category?: CategoryDetails;
  points?: DecodedPoints;
  /** Dataset sample index → position in `points`. */
  positionOf: PositionIndex;
  message?: string;
}

/** Everything the page holds, in one place: what the server offers, what is shown, what was asked for. */
const page = {
  catalog: { projects: [] as ProjectSummary[], colorMaps: [] as ColorMapInfo[], defaultColorMap: '' },
  /** The state on screen (the plot, the controls and the URL all show it). */
  shown: { state: { ...EMPTY_STATE }, positionOf: new PositionIndex() } as Loaded,
  colors: new Map<number, string>(),
  /** The last state asked for; Retry and recovery from a lost server apply it again. */
  requested: { ...EMPTY_STATE } as ViewState,
  generation: 0,
  tool: 'pan' as Tool,
  offline: false,
  /** Counters that let tests wait for an outcome instead of for a time. */
  counters: { canvasSelections: 0, views: 0 },
};
const state = (): ViewState => page.shown.state;

// ---- loading: resolve the requested state stage by stage (resolve.ts), fetching what each needs --

async function load(requested: ViewState, current: () => boolean): Promise<Loaded | undefined> {
  const { projects, colorMaps, defaultColorMap } = page.catalog;
  let s = resolveProject({ ...requested, selection: [...requested.selection] }, projects, colorMaps, defaultColorMap);
  const none = new PositionIndex();
  if (!s.project) return { state: s, positionOf: none, message: 'No project could be loaded; see the server output for the reasons.' };
  const project = await api.project(s.project);
  await installEvaluation(
    s.project,
    () => void apply({ ...state() }),
    () => (page.shown = { ...page.shown, points: undefined }),
  );
  if (!current()) return undefined;
  s = resolveCategory(s, project);
  const entry = project.analyses.find((a) => a.name === s.analysis)?.categories.find((c) => c.name === s.category);
  if (!entry)
    return {
      state: s,
      project,
      positionOf: none,
      message: `Project “${project.name}” has no analyses to show. Run \`xai-tools spray\` and add the analysis file to the project.`,
    };
  const category = await timed('category request', () => api.category(s.project, s.analysis, s.category));
  if (!current()) return undefined;
  s = resolveView(s, category, entry.suspicion);
  const embedding = category.embeddings.find((e) => e.name === s.embedding);
  if (!embedding || !s.clustering)
    return { state: s, project, category, positionOf: none, message: `Category ${s.category} has no ${embedding ? 'clustering' : 'embedding'}.` };
  const points = await api.points(s.project, s.analysis, s.category, s.embedding, s.clustering, s.x, s.y);
  if (!current()) return undefined;
  const positionOf = page.shown.points === points ? page.shown.positionOf : timedSync('position index', () => new PositionIndex(points.index));
  s = resolveSelection(s, (i) => positionOf.has(i), pageCount);
  return { state: s, project, category, points, positionOf };
}

/**
 * Makes the page show `requested`: loads what it needs (memoised), then draws everything from the
 * resolved state at once, so controls never show a view the plot does not. A newer call
 * supersedes an older one still waiting for data.
 */
async function apply(requested: ViewState): Promise<void> {
  const gen = ++page.generation;
  const current = () => gen === page.generation;
  page.requested = requested;
  setBusy(true);
  resetTimings();
  const t0 = performance.now();
  try {
    applyTheme(requested.theme);
    const loaded = await load(requested, current);
    if (!loaded || !current()) return;
    addTiming('load (all fetches)', performance.now() - t0);
    const drawsPoints = Boolean(loaded.points && loaded.points !== page.shown.points);
    await show(loaded, current);
    if (current()) showError(undefined);
    if (drawsPoints && current()) {
      addTiming('apply (total)', performance.now() - t0);
      publishTimings();
    }
  } catch (error) {
    if (current()) fail(error);
  } finally {
    if (current()) setBusy(false);
  }
}

async function show(loaded: Loaded, current: () => boolean): Promise<void> {
  const previous = page.shown;
  const s = loaded.state;
  const clusters = loaded.category?.clusterings.find((c) => c.name === s.clustering)?.clusters ?? [];
  const colors = clusterColors(clusters.map((c) => c.id));
  const positions = s.selection.map((i) => loaded.positionOf.get(i) as number);
  if (loaded.points && previous.points !== loaded.points) {
    const t0 = performance.now();
    const slotOf = new Map(clusters.map((c, slot) => [c.id, slot]));
    const slot = new Int32Array(loaded.points.index.length);
    for (let i = 0; i < slot.length; i++) slot[i] = slotOf.get(loaded.points.cluster[i]) ?? 0;
    const byAopc = evaluationColors(loaded.points.index);
    addTiming('colour slots', performance.now() - t0);
    await plot.show(
      { x: loaded.points.x, y: loaded.points.y, slot: byAopc?.slot ?? slot, kdOrder: loaded.points.kdOrder },
      byAopc?.colors ?? clusters.map((c) => colors.get(c.id) ?? '#888'),
      positions,
    );
    if (!current()) return;
  } else if (loaded.points) plot.select(positions);
  const t1 = performance.now();
  page.shown = loaded;
  page.colors = colors;
  showPlotMessage(loaded.message ?? '');
  renderSelects(loaded);
  renderTabs(s.project);
  renderControls();
  renderStatus(s);
  syncUrl();
  $('plot-info').textContent = loaded.points
    ? `${loaded.points.index.length.toLocaleString('en')} points · ${s.embedding} [${s.x}, ${s.y}] · ${s.clustering}`
    : '';
  const categories = loaded.project?.analyses.find((a) => a.name === s.analysis)?.categories ?? [];
  renderOverview(categories, s.category, (name) => void apply(requests.category(state(), name, true)));
  if (loaded.category) renderEigenvalues(loaded.category, s.embedding);
  renderClusters(clusters, colors, selectedIn, pickCluster);
  addTiming('page controls', performance.now() - t1);
  await timed('strip', () => renderStrip(s, clusterColorOfSample, current, (info) => void openSampleView(info, state(), colorMapInfo())));
}

// ---- rendering the small parts -------------------------------------------------------------------

/** Fills every select from a loaded state (also after a failed load, to undo what the user picked). */
function renderSelects({ state: s, project, category }: Loaded): void {
  const select = (id: string) => $(id) as HTMLSelectElement;
  const analysis = project?.analyses.find((a) => a.name === s.analysis);
  fillSelect(
    select('analysis'),
    (project?.analyses ?? []).map((a) => ({ value: a.name, label: a.name })),
    s.analysis,
  );
  fillSelect(select('category'), categoryOptions(analysis?.categories ?? []), s.category);
  fillSelect(
    select('clustering'),
    (category?.clusterings ?? []).map((c) => ({ value: c.name, label: `${c.name} (${c.clusters.length})` })),
    s.clustering,
  );
  fillSelect(
    select('embedding'),
    (category?.embeddings ?? []).map((e) => ({ value: e.name, label: `${e.name} (${e.dims}-D)` })),
    s.embedding,
  );
  const dims = category?.embeddings.find((e) => e.name === s.embedding)?.dims ?? 2;
  const columns = Array.from({ length: dims }, (_, i) => ({ value: String(i), label: String(i) }));
  $('axes').hidden = dims <= 2;
  fillSelect(select('axis-x'), columns, String(s.x));
  fillSelect(select('axis-y'), columns, String(s.y));
}

function renderTabs(active: string): void {
  $('tabs').replaceChildren(
    ...page.catalog.projects.map((p) => {
      const tab = el('button', { className: 'tab', type: 'button', textContent: p.name, title: `${p.name} — model ${p.model}, dataset ${p.dataset.name}` });
      tab.setAttribute('role', 'tab');
      tab.setAttribute('aria-selected', String(p.id === active));
      tab.dataset.project = p.id;
      tab.addEventListener('click', () => {
        if (p.id !== state().project) void apply(requests.project(state(), p.id));
      });
      return tab;
    }),
  );
}

const colorMapInfo = (): ColorMapInfo | undefined => page.catalog.colorMaps.find((c) => c.name === state().colormap);

function renderControls(): void {
  const s = state();
  fillSelect(
    $('colormap') as HTMLSelectElement,
    page.catalog.colorMaps.map((c) => ({ value: c.name, label: c.name, group: c.family === 'virelay' ? 'ViRelAy' : 'Zennit' })),
    s.colormap,
  );
  const preview = $('colormap-preview') as HTMLImageElement;
  const url = api.colorMapPreviewUrl(s.colormap);
  if (preview.getAttribute('src') !== url) preview.src = url;
  ($('scale') as HTMLSelectElement).value = s.scale;
  for (const radio of document.querySelectorAll<HTMLInputElement>('input[name="mode"]')) radio.checked = radio.value === s.mode;
  for (const radio of document.querySelectorAll<HTMLInputElement>('input[name="tool"]')) radio.checked = radio.value === page.tool;
  ($('sampling') as HTMLSelectElement).value = s.sampling;
  const theme = $('theme');
  const label = `Theme: ${s.theme === 'auto' ? 'follows the system' : s.theme} (click to change)`;
  theme.title = label;
  theme.setAttribute('aria-label', label);
  (theme.firstElementChild as HTMLElement).textContent = s.theme === 'auto' ? '◐' : s.theme === 'dark' ? '☾' : '☀';
  const legend = $('legend');
  legend.hidden = s.mode === 'input' || !s.colormap;
  if (!legend.hidden) renderLegend(legend, s.colormap, resolveScale(s.scale, colorMapInfo()));
}

function renderStatus(s: ViewState): void {
  const summary = page.catalog.projects.find((p) => p.id === s.project);
  if (!summary) return;
  const item = (label: string, value: string) => el('span', {}, [`${label} `, el('b', { textContent: value })]);
  $('status').replaceChildren(
    item('Project', summary.name),
    item('Dataset', `${summary.dataset.name} (${summary.dataset.count.toLocaleString('en')} samples, ${summary.dataset.type})`),
    item('Model', summary.model),
    item('Attribution', summary.attribution ? `${summary.attribution.method} · ${summary.attribution.strategy}` : 'none'),
    item('Selected', `${s.selection.length.toLocaleString('en')}`),
  );
}

function applyTheme(theme: ViewState['theme']): void {
  if (theme === 'auto') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
  const dark = theme === 'dark' || (theme === 'auto' && matchMedia('(prefers-color-scheme: dark)').matches);
  plot?.setTheme(dark);
}

function syncUrl(): void {
  const query = stateToQuery(state());
  const url = `${location.pathname}${query ? `?${query}` : ''}`;
  if (url !== `${location.pathname}${location.search}`) history.replaceState(null, '', url);
  const share = $('share-url') as HTMLInputElement;
  if (!share.hidden) share.value = location.href;
}

function setBusy(busy: boolean): void {
  document.body.dataset.busy = busy ? '1' : '0';
}

function showPlotMessage(text: string): void {
  const box = $('plot-message');
  box.textContent = text;
  box.hidden = !text;
}

// ---- errors and a lost server ----------------------------------------------------------------------

/** The error panel above the plot (never drawn over the points); undefined hides it. */
function showError(error: unknown): void {
  const panel = $('error-panel');
  panel.hidden = error === undefined;
  $('error-text').textContent = error === undefined ? '' : `Could not load this view: ${error instanceof Error ? error.message : String(error)}`;
}

function fail(error: unknown): void {
  // The controls go back to what the plot still shows.
  renderSelects(page.shown);
  renderControls();
  if (error instanceof ServerUnreachable) goOffline();
  else showError(error);
}

let reconnectTimer: ReturnType<typeof setInterval> | undefined;

function goOffline(): void {
  if (page.offline) return;
  page.offline = true;
  $('connection-banner').hidden = false;
  document.body.dataset.offline = '1';
  reconnectTimer = setInterval(async () => {
    if (!(await serverAnswers()) || !page.offline) return;
    page.offline = false;
    clearInterval(reconnectTimer);
    $('connection-banner').hidden = true;
    document.body.dataset.offline = '0';
    await start();
  }, 1500);
}

/** A light heartbeat while the page is visible, so a stopped server is noticed before the next click. */
function watchServer(): void {
  setInterval(async () => {
    if (page.offline || document.hidden) return;
    if (!(await serverAnswers())) goOffline();
  }, 4000);
}

// ---- selection -----------------------------------------------------------------------------------

/** Sets the selection from point positions (already merged by the plot or the cluster list). */
function selectPositions(positions: Iterable<number>, fromPlot: boolean): void {
  const points = page.shown.points;
  if (!points) return;
  const samples = new Set<number>();
  for (const p of positions) samples.add(points.index[p]);
  const selection = [...samples].sort((a, b) => a - b);
  if (!fromPlot) plot.select(selection.map((i) => page.shown.positionOf.get(i) as number));
  void apply({ ...state(), selection, page: 0 });
}

function clusterMembers(id: number): number[] {
  const points = page.shown.points;
  const members: number[] = [];
  if (points) for (let i = 0; i < points.cluster.length; i++) if (points.cluster[i] === id) members.push(i);
  return members;
}

/** How many of a cluster's points are selected (the list marks fully selected clusters). */
function selectedIn(id: number): number {
  const points = page.shown.points;
  if (!points) return 0;
  let n = 0;
  for (const sample of state().selection) if (points.cluster[page.shown.positionOf.get(sample) as number] === id) n++;
  return n;
}

function pickCluster(id: number, how: Modifier): void {
  const current = new Set(state().selection.map((i) => page.shown.positionOf.get(i) as number));
  if (how === 'replace') current.clear();
  for (const m of clusterMembers(id))
    if (how === 'remove') current.delete(m);
    else current.add(m);
  selectPositions(current, false);
}

function clusterColorOfSample(sample: number): string {
  const position = page.shown.positionOf.get(sample);
  const points = page.shown.points;
  return position === undefined || !points ? 'transparent' : (page.colors.get(points.cluster[position]) ?? 'transparent');
}

// ---- hover preview ---------------------------------------------------------------------------------

let hoverTimer: ReturnType<typeof setTimeout> | undefined;
let mouse: [number, number] = [0, 0];

function onHover(position: number): void {
  clearTimeout(hoverTimer);
  const card = $('hover-card');
  const points = page.shown.points;
  if (position < 0 || !points) {
    card.hidden = true;
    return;
  }
  const sample = points.index[position];
  hoverTimer = setTimeout(async () => {
    const s = state();
    let info: Awaited<ReturnType<typeof api.samples>>[number] | undefined;
    try {
      [info] = await api.samples(s.project, [sample]);
    } catch (error) {
      if (error instanceof ServerUnreachable) goOffline();
      return;
    }
    if (!info || page.shown.points?.index[position] !== sample) return;
    const img = card.querySelector('img') as HTMLImageElement;
    const mode: DisplayMode = info.hasAttribution ? s.mode : 'input';
    img.src = api.imageUrl(s.project, sample, mode, s.colormap, s.scale);
    applySampling(img, s.sampling);
    (card.querySelector('.hover-text') as HTMLElement).textContent = [describeSample(info).text, evaluationText(sample)].filter(Boolean).join(' · ');
    card.style.left = `${Math.min(mouse[0] + 16, innerWidth - 220)}px`;
    card.style.top = `${Math.min(mouse[1] + 16, innerHeight - 220)}px`;
    card.dataset.index = String(sample);
    card.hidden = false;
  }, 250);
}

// ---- wiring ------------------------------------------------------------------------------------------

function on(id: string, event: string, handler: (e: Event) => void): void {
  $(id).addEventListener(event, handler);
}

const valueOf = (e: Event): string => (e.target as HTMLSelectElement | HTMLInputElement).value;

/** Keys typed into a form field are the field's, not shortcuts. */
const inFormField = (target: EventTarget | null) => target instanceof HTMLElement && target.matches('input, select, textarea, [contenteditable]');

function wire(): void {
  on('analysis', 'change', (e) => void apply(requests.analysis(state(), valueOf(e))));
  on('category', 'change', (e) => {
    const name = valueOf(e);
    const entry = page.shown.project?.analyses.find((a) => a.name === state().analysis)?.categories.find((c) => c.name === name);
    void apply(requests.category(state(), name, Boolean(entry?.suspicion)));
  });
  on('clustering', 'change', (e) => void apply({ ...state(), clustering: valueOf(e) }));
  on('embedding', 'change', (e) => void apply({ ...state(), embedding: valueOf(e), x: 0, y: 1 }));
  on('axis-x', 'change', (e) => void apply({ ...state(), x: Number(valueOf(e)) }));
  on('axis-y', 'change', (e) => void apply({ ...state(), y: Number(valueOf(e)) }));
  on('colormap', 'change', (e) => void apply({ ...state(), colormap: valueOf(e) }));
  on('scale', 'change', (e) => void apply({ ...state(), scale: valueOf(e) as ViewState['scale'] }));
  on('sampling', 'change', (e) => void apply({ ...state(), sampling: valueOf(e) as ViewState['sampling'] }));
  on('mode', 'change', (e) => void apply({ ...state(), mode: valueOf(e) as DisplayMode }));
  on('tool', 'change', (e) => {
    page.tool = valueOf(e) as Tool;
    plot.setTool(page.tool);
  });
  on('clear-selection', 'click', () => selectPositions([], false));
  on('fit-view', 'click', () => void plot.fit());
  on('page-prev', 'click', () => void apply({ ...state(), page: Math.max(0, state().page - 1) }));
  on('page-next', 'click', () => void apply({ ...state(), page: state().page + 1 }));
  on('theme', 'click', () => void apply({ ...state(), theme: THEMES[(THEMES.indexOf(state().theme) + 1) % THEMES.length] }));
  on('error-retry', 'click', () => void start());
  on('error-dismiss', 'click', () => showError(undefined));
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => applyTheme(state().theme));

  makeRoving($('clusters'), 'li', { orientation: 'vertical', activate: (item, event) => pickCluster(Number(item.dataset.cluster), modifierOf(event)) });
  makeRoving($('strip'), 'button.tile-open', { orientation: 'horizontal', activate: (item) => item.click() });
  wireSampleView();
  wirePlotKeys();
  document.addEventListener('keydown', (event) => {
    if (inFormField(event.target) || event.ctrlKey || event.metaKey || ($('sample-view') as HTMLDialogElement).open) return;
    if (event.key === 'Escape' && state().selection.length) selectPositions([], false);
    else if ((event.key === 'f' || event.key === 'F') && !event.altKey) void plot.fit();
  });

  on('export', 'click', () => {
    const now = new Date();
    const blob = new Blob([JSON.stringify(stateToExport(state(), now), null, 2)], { type: 'application/json' });
    const link = el('a', { href: URL.createObjectURL(blob), download: exportFileName(now) });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  });
  on('import', 'click', () => ($('import-file') as HTMLInputElement).click());
  on('import-file', 'change', async (e) => {
    const input = e.target as HTMLInputElement;
    const file = input.files?.[0];
    input.value = '';
    if (!file) return;
    // Busy from the change event on: reading the file is asynchronous, and whoever waits for the
    // page to settle must not see it idle before the imported view is applied.
    setBusy(true);
    let imported: ViewState;
    try {
      imported = stateFromExport(JSON.parse(await file.text()), page.catalog.projects);
    } catch (error) {
      setBusy(false);
      showError(new Error(`import of ${file.name} failed: ${error instanceof Error ? error.message : String(error)}`));
      return;
    }
    await apply(imported);
  });
  on('share', 'click', async () => {
    const box = $('share-url') as HTMLInputElement;
    box.hidden = false;
    box.value = location.href;
    box.select();
    try {
      await navigator.clipboard.writeText(location.href);
      $('share').textContent = 'Copied';
      setTimeout(() => ($('share').textContent = 'Share'), 1500);
    } catch {
      // Clipboard access can be refused; the selected text box still lets the user copy.
    }
  });
  $('plot').addEventListener('pointermove', (e) => (mouse = [e.clientX, e.clientY]));
  $('plot').addEventListener('pointerleave', () => onHover(-1));
}

/** The focused plot: arrow keys pan by a tenth of the view, + and − zoom, 0 fits. */
function wirePlotKeys(): void {
  const keys: Record<string, () => Promise<void>> = {
    ArrowLeft: () => plot.panBy(-0.1, 0),
    ArrowRight: () => plot.panBy(0.1, 0),
    ArrowUp: () => plot.panBy(0, 0.1),
    ArrowDown: () => plot.panBy(0, -0.1),
    '+': () => plot.zoomBy(1.25),
    '=': () => plot.zoomBy(1.25),
    '-': () => plot.zoomBy(0.8),
    '0': () => plot.fit(),
  };
  on('plot-wrap', 'keydown', (e) => {
    const action = keys[(e as KeyboardEvent).key];
    if (!action) return;
    e.preventDefault();
    void action();
  });
}

/** Hooks for the browser tests and the benchmark (read-only views of the page's model). */
function exposeTestHooks(): void {
  (window as unknown as { __viewer: unknown }).__viewer = {
    state: () => structuredClone(state()),
    /** Page coordinates and sample index of every point as currently drawn. */
    points: () => {
      const rect = (plot.instance as unknown as { get(k: 'canvas'): HTMLCanvasElement }).get('canvas').getBoundingClientRect();
      const out: Array<{ sample: number; x: number; y: number }> = [];
      const pts = page.shown.points;
      if (!pts) return out;
      for (let i = 0; i < pts.index.length; i++) {
        const p = plot.screenPosition(i);
        if (p) out.push({ sample: pts.index[i], x: rect.left + p[0], y: rect.top + p[1] });
      }
      return out;
    },
    plot: () => plot.instance,
    canvasSelections: () => page.counters.canvasSelections,
    views: () => page.counters.views,
  };
}

let plot: EmbeddingPlot;

async function boot(): Promise<void> {
  plot = new EmbeddingPlot($('plot') as HTMLCanvasElement, {
    onSelect: (positions) => {
      page.counters.canvasSelections++;
      selectPositions(positions, true);
    },
    onHover,
    onView: () => page.counters.views++,
  });
  wire();
  exposeTestHooks();
  watchServer();
  page.requested = stateFromQuery(location.search);
  await start();
}

/** Loads the project and colour-map lists (once they are in) and applies the requested state. */
async function start(): Promise<void> {
  if (!page.catalog.projects.length) {
    try {
      const [list, maps] = await Promise.all([api.projects(), api.colorMaps()]);
      page.catalog = { projects: list, colorMaps: maps.colorMaps, defaultColorMap: maps.default };
    } catch (error) {
      setBusy(false);
      if (error instanceof ServerUnreachable) goOffline();
      else showError(error);
      return;
    }
  }
  await apply(page.requested);
}

installImagePlaceholders();
void boot();
