/** ViRelAy's image resampling methods, apart from the dataset readers so --help lists them without loading sharp or h5wasm. */
export const UP_SAMPLING_METHODS = ['none', 'fill_zeros', 'fill_ones', 'edge_repeat', 'mirror_edge', 'wrap_around', 'resize'] as const;
export const DOWN_SAMPLING_METHODS = ['none', 'center_crop', 'resize'] as const;
export type UpSamplingMethod = (typeof UP_SAMPLING_METHODS)[number];
export type DownSamplingMethod = (typeof DOWN_SAMPLING_METHODS)[number];
