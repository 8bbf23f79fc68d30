/** SpRAy's settings and their defaults, apart from the pipeline so --help lists them without loading the numeric engines. */
export const VARIANTS = ['spectral', 'absspectral', 'fullspectral', 'histogram'] as const;
export type Variant = (typeof VARIANTS)[number];
export const EMBEDDINGS = ['tsne', 'umap'] as const;
export type EmbeddingName = (typeof EMBEDDINGS)[number];
export const CLUSTERINGS = ['kmeans', 'dbscan', 'hdbscan', 'agglomerative'] as const;
export type ClusteringName = (typeof CLUSTERINGS)[number];

export interface SprayOptions {
  variant: Variant;
  nEigval: number;
  nNeighbors: number;
  /** k values for k-means and agglomerative; eps = k/10 for DBSCAN. */
  clusters: number[];
  algorithms: ClusteringName[];
  embeddings: EmbeddingName[];
  seed: number;
}

export const DEFAULT_SPRAY: SprayOptions = {
  variant: 'spectral',
  nEigval: 32,
  nNeighbors: 32,
  clusters: Array.from({ length: 29 }, (_, i) => i + 2),
  algorithms: ['kmeans', 'dbscan', 'hdbscan', 'agglomerative'],
  embeddings: ['tsne', 'umap'],
  seed: 0,
};
