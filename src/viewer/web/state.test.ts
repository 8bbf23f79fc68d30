import { describe, expect, it } from 'vitest';
import {
  decodeIndices,
  encodeIndices,
  EMPTY_STATE,
  exportFileName,
  stateFromExport,
  stateFromQuery,
  stateToExport,
  stateToQuery,
  type ViewState,
} from './state.js';

const full: ViewState = {
  project: 'alpha',
  analysis: 'spectral-analysis',
  category: 'n01440764',
  clustering: 'kmeans-10',
  embedding: 'tsne',
  x: 2,
  y: 0,
  colormap: 'coldnhot',
  scale: 'minmax',
  mode: 'overlay',
  sampling: 'pixelated',
  selection: [0, 1, 2, 3, 7, 9, 10],
  page: 1,
  theme: 'dark',
};

describe('view state', () => {
  it('compresses selections into ranges and back', () => {
    expect(encodeIndices([9, 0, 1, 2, 3, 7, 10, 3])).toBe('0-3,7,9-10');
    expect(decodeIndices('0-3,7,9-10')).toEqual([0, 1, 2, 3, 7, 9, 10]);
    expect(decodeIndices('5-2,x,4')).toEqual([4]);
  });

  it('round-trips every field through the query string, names with "-" included', () => {
    expect(stateFromQuery(`?${stateToQuery(full)}`)).toEqual(full);
    expect(stateFromQuery('')).toEqual(EMPTY_STATE);
  });

  it('round-trips every field through the export file, display mode included', () => {
    const file = JSON.parse(JSON.stringify(stateToExport(full, new Date())));
    expect(stateFromExport(file)).toEqual(full);
    expect(() => stateFromExport({ format: 'xai-tools-viewer-state', state: { mode: 'input' } })).toThrow(/names no project/);
    expect(stateFromExport({ ...full, mode: 'bogus', x: -1 })).toMatchObject({ mode: EMPTY_STATE.mode, x: 0 });
  });

  it("imports a ViRelAy export file: project by name, then by position; seismic is ViRelAy's", () => {
    const projects = [
      { id: 'alpha', name: 'Alpha' },
      { id: 'beta', name: 'Beta' },
    ];
    const file = {
      projectId: 0,
      projectName: 'Beta',
      selectedAnalysisMethod: 'spectral_analysis',
      selectedAnalysisCategory: '00000001',
      selectedEmbeddingName: 'tsne',
      selectedClustering: 'kmeans-02',
      selectedColorMap: 'seismic',
      selectedImageMode: 'overlay',
      selectedEmbeddingVectorsIndices: [14, 3, 3, 9],
    };
    expect(stateFromExport(file, projects)).toEqual({
      ...EMPTY_STATE,
      project: 'beta',
      analysis: 'spectral_analysis',
      category: '00000001',
      embedding: 'tsne',
      clustering: 'kmeans-02',
      colormap: 'virelay-seismic',
      mode: 'overlay',
      selection: [3, 9, 14],
    });
    expect(stateFromExport({ ...file, projectName: undefined, projectId: 1 }, projects).project).toBe('beta');
    expect(() => stateFromExport({ ...file, projectName: 'Gamma', projectId: 7 }, projects)).toThrow(/"Gamma".*does not serve/);
  });

  it('names export files with the real month and day', () => {
    expect(exportFileName(new Date(2026, 0, 9, 7, 5, 3))).toBe('xai-state-2026-01-09T07-05-03.json');
  });
});
