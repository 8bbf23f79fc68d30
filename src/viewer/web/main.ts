import type { DecodedPoints } from '../points-format.js';
import { api, type CategoryDetails, type ColorMapInfo, type ProjectDetails, type ProjectSummary } from './api.js';
import { clusterColors } from './colors.js';
import { $, applySampling, el, fillSelect } from './dom.js';
import { EmbeddingPlot, type Tool } from './scatter.js';
import { renderClusters, renderEigenvalues } from './side.js';
import { EMPTY_STATE, exportFileName, stateFromExport, stateFromQuery, stateToExport, stateToQuery, THEMES, type DisplayMode, type ViewState } from './state.js';
import { describeSample, pageCount, renderStrip } from './strip.js';
import { evaluationColors, evaluationText, installEvaluation } from './evaluation.js';

/** What is on screen now, derived from the state by `apply`. */
interface View {
  project?: ProjectDetails;
  category?: CategoryDetails;
  points?: DecodedPoints;
  /** Dataset sample index → position in `points`. */
  positionOf: Map<number, number>;
  colors: Map<number, string>;
}

let state: ViewState = { ...EMPTY_STATE };
let view: View = { positionOf: new Map(), colors: new Map() };
let projects: ProjectSummary[] = [];
let colorMaps: ColorMapInfo[] = [];
let defaultColorMap = '';
let generation = 0;
let tool: Tool = 'pan';
let plot: EmbeddingPlot;
/** Number of selections made on the canvas so far (lets tests wait for a drag's outcome). */
let canvasSelections = 0;

// ---- state → URL ------------------------------------------------------------------------------

function syncUrl(): void {
  const query = stateToQuery(state);
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

// ---- resolving a requested state against what the server holds --------------------------------

/** The reference preselects a clustering whose name parses as 10; we also accept one with 10 clusters. */
function preferredClustering(category: CategoryDetails): string {
  const byName = category.clusterings.find((c) => Number.parseInt(c.name, 10) === 10 || /(^|[^0-9])0*10$/.test(c.name));
  const byCount = category.clusterings.find((c) => c.clusters.filter((k) => k.id >= 0).length === 10);
  return (byName ?? byCount ?? category.clusterings[0])?.name ?? '';
}

function preferredEmbedding(category: CategoryDetails): string {
  return (category.embeddings.find((e) => e.name === 'tsne') ?? category.embeddings.find((e) => e.dims >= 2) ?? category.embeddings[0])?.name ?? '';
}

/**
 * Makes the page show `requested`: loads whatever it needs (all memoised), fills every control,
 * draws the plot when its data changed, and mirrors the final state into the URL. A newer call
 * supersedes an older one still waiting for data.
 */
async function apply(requested: ViewState): Promise<void> {
  const gen = ++generation;
  const current = () => gen === generation;
  setBusy(true);
  try {
    const s: ViewState = { ...requested, selection: [...requested.selection] };
    if (!projects.some((p) => p.id === s.project)) s.project = projects[0]?.id ?? '';
    if (!colorMaps.some((c) => c.name === s.colormap)) s.colormap = defaultColorMap;
    applyTheme(s.theme);
    renderTabs(s.project);
    if (!s.project) {
      showPlotMessage('No project could be loaded; see the server output for the reasons.');
      return;
    }
    const project = await api.project(s.project);
    await installEvaluation(s.project, () => void apply({ ...state }), () => (view = { ...view, points: undefined }));
    if (!current()) return;
    const analysis = project.analyses.find((a) => a.name === s.analysis) ?? project.analyses[0];
    s.analysis = analysis?.name ?? '';
    const categoryEntry = analysis?.categories.find((c) => c.name === s.category) ?? analysis?.categories[0];
    s.category = categoryEntry?.name ?? '';
    view = { ...view, project };
    fillSelect($('analysis') as HTMLSelectElement, project.analyses.map((a) => ({ value: a.name, label: a.name })), s.analysis);
    fillSelect($('category') as HTMLSelectElement, (analysis?.categories ?? []).map((c) => ({ value: c.name, label: `${c.label ? `${c.label} ` : ''}(${c.name}) · ${c.count}` })), s.category);
    renderStatus(s);
    if (!analysis || !categoryEntry) {
      for (const id of ['clustering', 'embedding']) fillSelect($(id) as HTMLSelectElement, [], '');
      showPlotMessage(`Project “${project.name}” has no analyses to show. Run \`xai-tools spray\` and add the analysis file to the project.`);
      state = s;
      syncUrl();
      return;
    }
    const category = await api.category(s.project, s.analysis, s.category);
    if (!current()) return;
    if (!category.clusterings.some((c) => c.name === s.clustering)) s.clustering = preferredClustering(category);
    if (!category.embeddings.some((e) => e.name === s.embedding)) s.embedding = preferredEmbedding(category);
    const embedding = category.embeddings.find((e) => e.name === s.embedding);
    const dims = embedding?.dims ?? 2;
    if (s.x >= dims) s.x = 0;
    if (s.y >= dims) s.y = Math.min(1, dims - 1);
    fillSelect($('clustering') as HTMLSelectElement, category.clusterings.map((c) => ({ value: c.name, label: `${c.name} (${c.clusters.length})` })), s.clustering);
    fillSelect($('embedding') as HTMLSelectElement, category.embeddings.map((e) => ({ value: e.name, label: `${e.name} (${e.dims}-D)` })), s.embedding);
    const columns = Array.from({ length: dims }, (_, i) => ({ value: String(i), label: String(i) }));
    $('axes').hidden = dims <= 2;
    fillSelect($('axis-x') as HTMLSelectElement, columns, String(s.x));
    fillSelect($('axis-y') as HTMLSelectElement, columns, String(s.y));
    if (!embedding || !s.clustering) {
      showPlotMessage(`Category ${s.category} has no ${embedding ? 'clustering' : 'embedding'}.`);
      state = s;
      syncUrl();
      return;
    }
    const points = await api.points(s.project, s.analysis, s.category, s.embedding, s.clustering, s.x, s.y);
    if (!current()) return;
    showPlotMessage('');

    const clusters = category.clusterings.find((c) => c.name === s.clustering)?.clusters ?? [];
    const colors = clusterColors(clusters.map((c) => c.id));
    const positionOf = view.points === points ? view.positionOf : new Map<number, number>();
    if (view.points !== points) for (let i = 0; i < points.index.length; i++) if (!positionOf.has(points.index[i])) positionOf.set(points.index[i], i);
    s.selection = s.selection.filter((i) => positionOf.has(i));
    s.page = Math.min(s.page, pageCount(s.selection.length) - 1);
    const positions = s.selection.map((i) => positionOf.get(i) as number);
    if (view.points !== points) {
      const slotOf = new Map(clusters.map((c, slot) => [c.id, slot]));
      const slot = new Int32Array(points.index.length);
      for (let i = 0; i < slot.length; i++) slot[i] = slotOf.get(points.cluster[i]) ?? 0;
      const byAopc = evaluationColors(points.index);
      await plot.show({ x: points.x, y: points.y, slot: byAopc?.slot ?? slot }, byAopc?.colors ?? clusters.map((c) => colors.get(c.id) ?? '#888'), positions);
      if (!current()) return;
    } else plot.select(positions);
    view = { project, category, points, positionOf, colors };
    state = s;
    syncUrl();
    $('plot-info').textContent = `${points.index.length.toLocaleString('en')} points · ${s.embedding} [${s.x}, ${s.y}] · ${s.clustering}`;
    renderEigenvalues(category, s.embedding);
    renderClusters(clusters, colors, pickCluster);
    renderControls();
    renderStatus(s);
    await renderStrip(state, clusterColorOfSample, current);
  } catch (error) {
    if (current()) showError(error);
  } finally {
    if (current()) setBusy(false);
  }
}

function clusterColorOfSample(sample: number): string {
  const position = view.positionOf.get(sample);
  return position === undefined || !view.points ? 'transparent' : (view.colors.get(view.points.cluster[position]) ?? 'transparent');
}

function showError(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  showPlotMessage(`Could not load: ${message}`);
  const status = $('status');
  status.querySelector('.error')?.remove();
  status.append(el('span', { className: 'error', textContent: message }));
}

// ---- rendering the small parts -----------------------------------------------------------------

function renderTabs(active: string): void {
  const tabs = $('tabs');
  tabs.replaceChildren(
    ...projects.map((p) => {
      const tab = el('button', { className: 'tab', type: 'button', textContent: p.name, title: `${p.name} — model ${p.model}, dataset ${p.dataset.name}` });
      tab.setAttribute('role', 'tab');
      tab.setAttribute('aria-selected', String(p.id === active));
      tab.dataset.project = p.id;
      tab.addEventListener('click', () => {
        if (p.id !== state.project) void apply({ ...EMPTY_STATE, project: p.id, colormap: state.colormap, mode: state.mode, sampling: state.sampling, theme: state.theme });
      });
      return tab;
    }),
  );
}

function renderControls(): void {
  fillSelect(
    $('colormap') as HTMLSelectElement,
    colorMaps.map((c) => ({ value: c.name, label: c.name, group: c.family === 'virelay' ? 'ViRelAy' : 'Zennit' })),
    state.colormap,
  );
  const preview = $('colormap-preview') as HTMLImageElement;
  const url = api.colorMapPreviewUrl(state.colormap);
  if (preview.getAttribute('src') !== url) preview.src = url;
  for (const button of document.querySelectorAll<HTMLButtonElement>('#mode button')) button.setAttribute('aria-pressed', String(button.dataset.mode === state.mode));
  for (const button of document.querySelectorAll<HTMLButtonElement>('.plot-tools button[data-tool]')) button.setAttribute('aria-pressed', String(button.dataset.tool === tool));
  ($('sampling') as HTMLSelectElement).value = state.sampling;
  const themeButton = $('theme');
  themeButton.title = `Theme: ${state.theme === 'auto' ? 'follows the system' : state.theme} (click to change)`;
  themeButton.textContent = state.theme === 'auto' ? '◐' : state.theme === 'dark' ? '☾' : '☀';
}

function renderStatus(s: ViewState): void {
  const summary = projects.find((p) => p.id === s.project);
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

// ---- selection -----------------------------------------------------------------------------------

/** Sets the selection from point positions (already merged by the plot or the cluster list). */
function selectPositions(positions: Iterable<number>, fromPlot: boolean): void {
  const points = view.points;
  if (!points) return;
  const samples = new Set<number>();
  for (const p of positions) samples.add(points.index[p]);
  const selection = [...samples].sort((a, b) => a - b);
  if (!fromPlot) plot.select(selection.map((i) => view.positionOf.get(i) as number));
  void apply({ ...state, selection, page: 0 });
}

function pickCluster(id: number, how: 'replace' | 'add' | 'remove'): void {
  const points = view.points;
  if (!points) return;
  const current = new Set(state.selection.map((i) => view.positionOf.get(i) as number));
  const members: number[] = [];
  for (let i = 0; i < points.cluster.length; i++) if (points.cluster[i] === id) members.push(i);
  if (how === 'replace') current.clear();
  for (const m of members) if (how === 'remove') current.delete(m);
  else current.add(m);
  selectPositions(current, false);
}

// ---- hover preview ---------------------------------------------------------------------------------

let hoverTimer: ReturnType<typeof setTimeout> | undefined;
let mouse: [number, number] = [0, 0];

function onHover(position: number): void {
  clearTimeout(hoverTimer);
  const card = $('hover-card');
  if (position < 0 || !view.points) {
    card.hidden = true;
    return;
  }
  const sample = view.points.index[position];
  hoverTimer = setTimeout(async () => {
    const [info] = await api.samples(state.project, [sample]);
    if (!info || !view.points || view.points.index[position] !== sample) return;
    const img = card.querySelector('img') as HTMLImageElement;
    const mode: DisplayMode = info.hasAttribution ? state.mode : 'input';
    img.src = api.imageUrl(state.project, sample, mode, state.colormap);
    applySampling(img, state.sampling);
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

function selectValue(e: Event): string {
  return (e.target as HTMLSelectElement).value;
}

function wire(): void {
  on('analysis', 'change', (e) => void apply({ ...state, analysis: selectValue(e), category: '', clustering: '', embedding: '', x: 0, y: 1, selection: [], page: 0 }));
  on('category', 'change', (e) => void apply({ ...state, category: selectValue(e), selection: [], page: 0 }));
  on('clustering', 'change', (e) => void apply({ ...state, clustering: selectValue(e) }));
  on('embedding', 'change', (e) => void apply({ ...state, embedding: selectValue(e), x: 0, y: 1 }));
  on('axis-x', 'change', (e) => void apply({ ...state, x: Number(selectValue(e)) }));
  on('axis-y', 'change', (e) => void apply({ ...state, y: Number(selectValue(e)) }));
  on('colormap', 'change', (e) => void apply({ ...state, colormap: selectValue(e) }));
  on('sampling', 'change', (e) => void apply({ ...state, sampling: selectValue(e) as ViewState['sampling'] }));
  for (const button of document.querySelectorAll<HTMLButtonElement>('#mode button')) {
    button.addEventListener('click', () => void apply({ ...state, mode: button.dataset.mode as DisplayMode }));
  }
  for (const button of document.querySelectorAll<HTMLButtonElement>('.plot-tools button[data-tool]')) {
    button.addEventListener('click', () => {
      tool = button.dataset.tool as Tool;
      plot.setTool(tool);
      renderControls();
    });
  }
  on('clear-selection', 'click', () => selectPositions([], false));
  on('page-prev', 'click', () => void apply({ ...state, page: Math.max(0, state.page - 1) }));
  on('page-next', 'click', () => void apply({ ...state, page: state.page + 1 }));
  on('theme', 'click', () => void apply({ ...state, theme: THEMES[(THEMES.indexOf(state.theme) + 1) % THEMES.length] }));
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => applyTheme(state.theme));

  on('export', 'click', () => {
    const now = new Date();
    const blob = new Blob([JSON.stringify(stateToExport(state, now), null, 2)], { type: 'application/json' });
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
    setBusy(true);
    try {
      await apply(stateFromExport(JSON.parse(await file.text())));
    } catch (error) {
      showError(new Error(`import of ${file.name} failed: ${error instanceof Error ? error.message : String(error)}`));
      setBusy(false);
    }
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

/** Hooks for the browser tests and the benchmark (read-only views of the page's model). */
function exposeTestHooks(): void {
  (window as unknown as { __viewer: unknown }).__viewer = {
    state: () => structuredClone(state),
    /** Page coordinates and sample index of every point as currently drawn. */
    points: () => {
      const rect = (plot.instance as unknown as { get(k: 'canvas'): HTMLCanvasElement }).get('canvas').getBoundingClientRect();
      const out: Array<{ sample: number; x: number; y: number }> = [];
      const pts = view.points;
      if (!pts) return out;
      for (let i = 0; i < pts.index.length; i++) {
        const p = plot.screenPosition(i);
        if (p) out.push({ sample: pts.index[i], x: rect.left + p[0], y: rect.top + p[1] });
      }
      return out;
    },
    plot: () => plot.instance,
    canvasSelections: () => canvasSelections,
  };
}

async function boot(): Promise<void> {
  plot = new EmbeddingPlot($('plot') as HTMLCanvasElement, {
    onSelect: (positions) => {
      canvasSelections++;
      selectPositions(positions, true);
    },
    onHover,
  });
  wire();
  exposeTestHooks();
  try {
    const [list, maps] = await Promise.all([api.projects(), api.colorMaps()]);
    projects = list;
    colorMaps = maps.colorMaps;
    defaultColorMap = maps.default;
  } catch (error) {
    showError(error);
    setBusy(false);
    return;
  }
  await apply(stateFromQuery(location.search));
}

void boot();
