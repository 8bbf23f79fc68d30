"""Independent check of a spray analysis file against the SpRAy chain computed here with numpy.

usage: spray_check.py ATTRIBUTION_H5 ANALYSIS_H5 VARIANT N_NEIGHBORS NORMALIZED(0/1)

For every category of the analysis file: the variant's pre-processing, exact Euclidean kNN (self
excluded), A = (B + B^T)/2, M = D^-1/2 A D^-1/2, a dense eigendecomposition of M. Prints JSON with,
per category, the largest difference between the stored eigenvalues (1 - mu) and numpy's, and the
largest relative residual ||M v - mu v|| / ||v|| of the stored columns taken with the stored mu
(rows scaled back by the row norms that make them eigenvectors, when the file holds row-normalised
eigenvectors).
"""
import json
import sys

import h5py
import numpy as np

attribution_file, analysis_file, variant, n_neighbors, normalized = sys.argv[1:6]
n_neighbors = int(n_neighbors)
normalized = normalized == "1"

attr = h5py.File(attribution_file, "r")
R_all = attr["attribution"][()]


def histogram(x, bins=32):
    n, c = x.shape[:2]
    flat = x.reshape(n, c, -1)
    out = np.zeros((n, c, bins))
    for i in range(n):
        for ch in range(c):
            out[i, ch] = np.histogram(flat[i, ch], bins, density=True)[0]
    return out


def features(R):
    if variant == "spectral":
        s = R.sum(1)
        return (s / s.sum((1, 2), keepdims=True)).reshape(len(R), -1)
    if variant == "absspectral":
        s = np.abs(R).sum(1)
        return (s / s.sum((1, 2), keepdims=True)).reshape(len(R), -1)
    full = R / R.sum((1, 2, 3), keepdims=True)
    if variant == "fullspectral":
        return full.reshape(len(R), -1)
    return histogram(full).reshape(len(R), -1)


out = {}
with h5py.File(analysis_file, "r") as f:
    for name in f.keys():
        index = f[name]["index"][()]
        x = features(R_all[index].astype(np.float64))
        n = len(x)
        k = min(n_neighbors, n - 1)
        d = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
        np.fill_diagonal(d, np.inf)
        B = np.zeros((n, n))
        nearest = np.argsort(d, axis=1, kind="stable")[:, :k]
        B[np.arange(n)[:, None], nearest] = 1
        A = (B + B.T) / 2
        s = 1 / np.sqrt(A.sum(1))
        M = A * s[:, None] * s[None, :]
        mu_all, V_all = np.linalg.eigh(M)
        ds = f[name]["embedding"]["spectral"]
        S = ds[()].astype(np.float64)
        m = S.shape[1]
        lam = ds.attrs["eigenvalue"].astype(np.float64)
        pick = np.sort(np.argsort(-np.abs(mu_all), kind="stable")[:m])  # ascending mu
        mu_ref = mu_all[pick]
        V_ref = V_all[:, pick]
        mu = 1 - lam
        if normalized:
            # The file holds V with each row divided by its norm r_i; find the positive r for which
            # every column of diag(r) S is an eigenvector for its own mu (the null vector of the
            # stacked systems (M - mu_j I) diag(s_j) r = 0). No r exists when a column is not an
            # eigenvector or sits in the wrong place. (numpy's own V cannot supply r: where the
            # m-th and (m+1)-th |mu| tie, the m-dimensional subspace is not unique.)
            # With several connected components each one's r is free up to scale: take a random
            # vector of the whole null space (the smallest singular vector alone when there is none).
            K = np.vstack([(M - mu[j] * np.eye(n)) * S[:, j][None, :] for j in range(m)])
            _, sv, vt = np.linalg.svd(K, full_matrices=False)
            null = vt[sv <= 1e-5 * sv[0]] if (sv <= 1e-5 * sv[0]).any() else vt[-1:]
            r = np.random.default_rng(0).standard_normal(len(null)) @ null
            S = S * r[:, None]
        residual = np.linalg.norm(M @ S - S * mu[None, :], axis=0) / np.linalg.norm(S, axis=0)
        out[name] = {
            "n": int(n),
            "eigenvalue_error": float(np.abs(mu - mu_ref).max()),
            "residual": float(residual.max()),
            "row_norm_error": float(np.abs(np.linalg.norm(ds[()], axis=1) - 1).max()),
        }
print(json.dumps(out))
