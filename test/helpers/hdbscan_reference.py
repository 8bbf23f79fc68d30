"""Naive HDBSCAN* (Campello, Moulavi, Sander 2013, with the hdbscan library's defaults), written
from the definitions and independent of src/processors/cluster/density.ts: dense mutual-reachability
matrix, Prim's MST, single-linkage merges, condensed tree, excess-of-mass selection without the
root (allow_single_cluster=False), labelling by the selected ancestor.

stdin: JSON {x: [[...], ...], min_samples, min_cluster_size}; stdout: JSON {labels (-1 = noise), ambiguous: points whose label depends on tie order}.
"""
import json
import sys

import numpy as np


def hdbscan(x, min_samples, min_cluster_size):
    n = len(x)
    dist = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).sum(-1))
    # core distance: distance to the min_samples-th nearest point counting the point itself.
    core = np.sort(dist, axis=1)[:, min_samples - 1]
    mrd = np.maximum(dist, np.maximum(core[:, None], core[None, :]))

    # Prim's MST.
    in_tree = np.zeros(n, bool)
    best = np.full(n, np.inf)
    parent = np.full(n, -1)
    best[0] = 0
    edges = []
    for _ in range(n):
        i = int(np.argmin(np.where(in_tree, np.inf, best)))
        in_tree[i] = True
        if parent[i] >= 0:
            edges.append((mrd[i, parent[i]], int(parent[i]), i))
        closer = (~in_tree) & (mrd[i] < best)
        best[closer] = mrd[i][closer]
        parent[closer] = i
    edges.sort()

    # Single linkage: node ids 0..n-1 are points, n.. are merges (children, distance, size).
    uf = list(range(2 * n))
    def find(a):
        while uf[a] != a:
            uf[a] = uf[uf[a]]
            a = uf[a]
        return a
    children, height, size = {}, {}, {i: 1 for i in range(n)}
    next_id = n
    for w, a, b in edges:
        ra, rb = find(a), find(b)
        children[next_id] = (ra, rb)
        height[next_id] = w
        size[next_id] = size[ra] + size[rb]
        uf[ra] = uf[rb] = next_id
        next_id += 1
    root = next_id - 1

    def points(node):
        stack, out = [node], []
        while stack:
            v = stack.pop()
            if v < n:
                out.append(v)
            else:
                stack.extend(children[v])
        return out

    # Condensed tree: clusters with birth lambda, points with the lambda they leave their cluster.
    birth = {0: 0.0}
    cluster_parent = {}
    point_exit = {}       # point -> (cluster, lambda)
    next_cluster = 1
    stack = [(root, 0)]
    while stack:
        node, cluster = stack.pop()
        assert node >= n, 'a single point is never a cluster (min_cluster_size >= 2)'
        lam = 1.0 / height[node] if height[node] > 0 else np.inf
        a, b = children[node]
        big = [c for c in (a, b) if size[c] >= min_cluster_size]
        if len(big) == 2:
            for c in (a, b):
                birth[next_cluster] = lam
                cluster_parent[next_cluster] = cluster
                for p in points(c):
                    point_exit[p] = (cluster, lam)  # provisional: overwritten when it leaves the child
                stack.append((c, next_cluster))
                next_cluster += 1
        else:
            for c in (a, b):
                if size[c] >= min_cluster_size:
                    stack.append((c, cluster))
                else:
                    for p in points(c):
                        point_exit[p] = (cluster, lam)

    # Stability: sum over points and child clusters of (lambda leaving - birth).
    stability = {c: 0.0 for c in birth}
    for p, (c, lam) in point_exit.items():
        stability[c] += lam - birth[c]
    for c, par in cluster_parent.items():
        stability[par] += (birth[c] - birth[par]) * count_points(c, cluster_parent, point_exit)

    # Excess of mass, leaves first (higher ids are deeper), root excluded.
    kids = {c: [k for k, p in cluster_parent.items() if p == c] for c in birth}
    selected = {c: True for c in birth if c != 0}
    for c in sorted(birth, reverse=True):
        if c == 0:
            continue
        sub = sum(stability[k] for k in kids[c])
        if kids[c] and sub > stability[c]:
            selected[c] = False
            stability[c] = sub
        else:
            for d in descendants(c, kids):
                selected[d] = False

    labels = []
    chosen = sorted(c for c, s in selected.items() if s)
    index = {c: i for i, c in enumerate(chosen)}
    for p in range(n):
        c = point_exit[p][0]
        while c != 0 and not selected.get(c, False):
            c = cluster_parent[c]
        labels.append(index[c] if c != 0 else -1)
    # A point with two or more MST edges at exactly its core distance joins the hierarchy at a tied
    # height; which side it lands on depends on how the ties are ordered (the hdbscan library sorts
    # with an unstable argsort), so its label is not determined by the definition.
    at_core = np.zeros(n, int)
    for w, a, b in edges:
        for v in (a, b):
            at_core[v] += w == core[v]
    ambiguous = [int(v) for v in np.flatnonzero(at_core >= 2)]
    return labels, ambiguous


def count_points(c, cluster_parent, point_exit):
    """Points whose last cluster is c or a descendant of c."""
    total = 0
    for p, (k, _) in point_exit.items():
        while k != 0 and k != c:
            k = cluster_parent[k]
        total += k == c
    return total


def descendants(c, kids):
    out, stack = [], list(kids[c])
    while stack:
        d = stack.pop()
        out.append(d)
        stack.extend(kids[d])
    return out


if __name__ == '__main__':
    job = json.load(sys.stdin)
    labels, ambiguous = hdbscan(np.array(job['x'], float), job['min_samples'], job['min_cluster_size'])
    print(json.dumps({'labels': labels, 'ambiguous': ambiguous}))
