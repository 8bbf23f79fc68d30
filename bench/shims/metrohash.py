"""Stand-in for the `metrohash` module (metrohash-python), which CoRelAy imports at start-up.

Debian packages no Python binding of MetroHash and PyPI is not reachable here. CoRelAy only hashes
with it to key memoised results in an HDF5 store (corelay.io.hashing); bench/corelay_spray.py uses no
store, so no hash is ever computed on the timed path. The stand-in hashes with BLAKE2b (16 bytes), so
it would still give stable, collision-resistant keys if a store were used. bench/lib/cli.ts puts this
folder on PYTHONPATH only when `import metrohash` fails.
"""
import hashlib


class MetroHash128:
    """The subset of metrohash.MetroHash128 that corelay.io.hashing uses: update and the digests."""

    def __init__(self, seed=0):
        self._hash = hashlib.blake2b(digest_size=16, key=int(seed).to_bytes(8, 'little'))

    def update(self, data):
        self._hash.update(data)

    def digest(self):
        return self._hash.digest()

    def hexdigest(self):
        return self._hash.hexdigest()

    def intdigest(self):
        return int.from_bytes(self._hash.digest(), 'little')
