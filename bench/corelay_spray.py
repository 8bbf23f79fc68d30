#!/usr/bin/python3
"""The Python side of bench/spray.ts: CoRelAy's SpRAy pipeline on the same attribution file.

    PYTHONPATH=$CORELAY_SRC/src /usr/bin/python3 bench/corelay_spray.py A.h5 [--clusters 2:10]
        [--n-eigval 32] [--n-neighbors 32] [--json]

Runs, for every label of the file's `attribution`/`label` datasets, the pipeline CoRelAy's ViRelAy
example (docs/examples/virelay_analysis.py, variant `spectral`) builds, restricted to what
`xai-tools spray A.h5 --clusters 2:10 --embeddings tsne` computes: sum over channels, normalise,
flatten; euclidean distances; symmetric kNN affinity; normalised Laplacian; 32 eigenpairs; then on
the eigenvectors k-means and agglomerative (Ward) for every k, DBSCAN with eps = k/10, and t-SNE.
HDBSCAN is left out: it needs the `hdbscan` package (or scikit-learn >= 1.3), which Debian 12 does not
have, while the xai-tools run includes it, so the ratio favours CoRelAy slightly. Results are written
to an HDF5 file (like the CLI's analysis file) when --output is given.

Prints the wall time of the pipelines (file reading included, interpreter start-up and imports not),
the process's CPU time, and, with --json, one JSON object for bench/spray.ts. numpy's seed is fixed. bench/spray.ts runs it
with OMP/OpenBLAS/MKL limited to one thread, like the xai-tools run.
"""
import argparse
import json
import sys
import time

T_START = time.perf_counter()

import h5py  # noqa: E402
import numpy  # noqa: E402

try:
    from corelay.pipeline.spectral import SpectralClustering
    from corelay.processor.affinity import SparseKNN
    from corelay.processor.base import Processor
    from corelay.processor.clustering import AgglomerativeClustering, DBSCAN, KMeans
    from corelay.processor.distance import SciPyPDist
    from corelay.processor.embedding import EigenDecomposition, TSNEEmbedding
    from corelay.processor.flow import Parallel, Sequential
except ImportError as error:
    print(f'corelay_spray.py: CoRelAy not importable ({error}); set CORELAY_SRC to a checkout (see bench/lib/cli.ts)', file=sys.stderr)
    sys.exit(3)

T_IMPORTED = time.perf_counter()


class ChannelSum(Processor):
    """(N, C, H, W) -> (N, H, W): relevance summed over the colour channels."""

    def function(self, data):
        return data.sum(axis=1)


class UnitSum(Processor):
    """Each sample divided by its total relevance."""

    def function(self, data):
        return data / data.sum(axis=(1, 2), keepdims=True)


class Rows(Processor):
    """One feature row per sample."""

    def function(self, data):
        return data.reshape(data.shape[0], -1)


def parse_clusters(text):
    if ':' in text:
        low, high = (int(v) for v in text.split(':'))
        return list(range(low, high + 1))
    return [int(v) for v in text.split(',')]


def build(ks, n_eigval, n_neighbors):
    return SpectralClustering(
        preprocessing=Sequential([ChannelSum(), UnitSum(), Rows()]),
        pairwise_distance=SciPyPDist(metric='euclidean'),
        affinity=SparseKNN(n_neighbors=n_neighbors, symmetric=True),
        embedding=EigenDecomposition(n_eigval=n_eigval, is_output=True),
        clustering=Parallel([
            # One k-means++ run per k, as scikit-learn >= 1.4 (n_init='auto') gives CoRelAy 1.0 and as
            # xai-tools does; Debian's scikit-learn 1.2 would otherwise default to 10 runs.
            Parallel([KMeans(n_clusters=k, kwargs={'n_init': 1}) for k in ks], broadcast=True),
            Parallel([DBSCAN(eps=k / 10.0) for k in ks], broadcast=True),
            Parallel([AgglomerativeClustering(n_clusters=k) for k in ks], broadcast=True),
            Parallel([TSNEEmbedding()], broadcast=True),
        ], broadcast=True, is_output=True),
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('attribution')
    parser.add_argument('--clusters', default='2:10')
    parser.add_argument('--n-eigval', type=int, default=32)
    parser.add_argument('--n-neighbors', type=int, default=32)
    parser.add_argument('--output')
    parser.add_argument('--json', action='store_true')
    args = parser.parse_args()
    numpy.random.seed(0)
    pipeline = build(parse_clusters(args.clusters), args.n_eigval, args.n_neighbors)
    began = time.perf_counter()
    categories = 0
    with h5py.File(args.attribution, 'r') as source:
        labels = source['label'][:]
        for label in numpy.unique(labels):
            rows = numpy.nonzero(labels == label)[0]
            data = source['attribution'][rows[0]:rows[-1] + 1][rows - rows[0]]
            (eigenvalues, eigenvectors), outputs = pipeline(data)
            categories += 1
            if args.output:
                with h5py.File(args.output, 'a') as out:
                    group = out.require_group(f'{int(label):08d}')
                    group['eigenvalues'] = eigenvalues
                    group['eigenvectors'] = eigenvectors
    seconds = time.perf_counter() - began
    # CPU time of the whole process (interpreter start-up and imports included, like the CLI's).
    result = {'categories': categories, 'pipeline_s': seconds, 'import_s': T_IMPORTED - T_START, 'cpu_s': time.process_time(), 'numpy': numpy.__version__}
    if args.json:
        print(json.dumps(result), flush=True)
    else:
        print(f"CoRelAy: {categories} categories in {seconds:.2f} s (imports {result['import_s']:.2f} s)")


if __name__ == '__main__':
    main()
