import { describe, expect, it } from 'vitest';
import { mappedStateToQuery, stateFromVirelayExport, stateFromVirelayLink, VIRELAY_EXPORT_FIELDS, VIRELAY_QUERY_FIELDS } from './virelay-state.js';

const projects = [
  { id: 'alpha', name: 'Alpha' },
  { id: 'virelay-example', name: 'ViRelAy Example' },
];

describe('ViRelAy share links and export files', () => {
  it('maps every share-link parameter', () => {
    const search = new URLSearchParams({
      firstEmbeddingDimension: '2',
      secondEmbeddingDimension: '0',
      colorMap: 'seismic',
      analysisMethod: 'spectral_analysis',
      analysisCategory: 'n01440764',
      clustering: 'kmeans-02',
      embedding: 'spectral',
      imageMode: 'overlay',
      embeddingVectors: '5,1,3',
    });
    // Every parameter ViRelAy writes is in the table, so none is silently dropped.
    expect(Object.keys(VIRELAY_QUERY_FIELDS).sort()).toEqual([...search.keys()].sort());
    expect(stateFromVirelayLink('1', search, projects)).toEqual({
      project: 'virelay-example',
      analysis: 'spectral_analysis',
      category: 'n01440764',
      clustering: 'kmeans-02',
      embedding: 'spectral',
      x: 2,
      y: 0,
      colormap: 'virelay-seismic',
      mode: 'overlay',
      selection: [5, 1, 3],
    });
    expect(stateFromVirelayLink('7', new URLSearchParams('colorMap=jet'), projects)).toEqual({ colormap: 'jet' });
    expect(mappedStateToQuery({ project: 'alpha', x: 2, selection: [1, 3] })).toBe('project=alpha&x=2&selection=1%2C3');
  });

  it('maps every export-file key that sets part of the view and names the rest', () => {
    const file = {
      projectId: 1,
      projectName: 'ViRelAy Example',
      modelName: 'VGG16',
      datasetName: 'ImageNet',
      selectedAnalysisMethod: 'spectral_analysis',
      selectedAnalysisCategory: 'n01440764',
      selectedCategoryHumanReadableName: 'tench',
      selectedEmbeddingName: 'tsne',
      selectedClustering: 'kmeans-02',
      numberOfClusters: 2,
      selectedColorMap: 'black-fire-red',
      selectedImageMode: 'input',
      selectedEmbeddingVectorsIndices: [0, 2],
      selectedEmbeddingVectorsClusters: [0, 1],
      allEmbeddingVectorsIndices: [0, 1, 2],
      allEmbeddingVectorsClusters: [0, 0, 1],
    };
    expect(Object.keys(VIRELAY_EXPORT_FIELDS).sort()).toEqual(Object.keys(file).sort());
    expect(stateFromVirelayExport(file, projects)).toEqual({
      project: 'virelay-example',
      analysis: 'spectral_analysis',
      category: 'n01440764',
      embedding: 'tsne',
      clustering: 'kmeans-02',
      colormap: 'black-fire-red',
      mode: 'input',
      selection: [0, 2],
    });
  });
});
