"""The compiled Redis generator writes the very traces the pure-Python one did.

Digests (sha256 of the whole trace file: header, chunks, trailer) taken from
the pure-Python generator (workloads/redis.py and jemalloc.py before they were
compiled, commit 4a4ee03) on these parameter sets: the bloat phases, each
jemalloc variant (lg_quantum 3, lg_dirty_mult -1 and 0, huge_map "page",
4 MiB chunks), embstr, large and big-argument values, the serving phase under
each key distribution and YCSB mix.  Any change in an access, its order, its
batching or a trailer number changes the digest.
"""
import hashlib

import pytest

from workloads.redis import Redis

CASES = [
    ('bloat', {'n_keys': 3000, 'pause_s': 0.06, 'llc_misses_per_access': 0.1}, 1,
     '5734ab0a26999c2626ffa7e0f830867ecc2b334d586bfd3e07798d137d662121'),
    ('bloat_seed7', {'n_keys': 2500}, 7,
     '140d62e2b552a7a98a2ba15c0b295a717001660a2bd4b961ca49a446c8b51b93'),
    ('lg_quantum3', {'n_keys': 3000, 'lg_quantum': 3}, 2,
     '92db7fc065472e66e77d99d1274cdbc312579ced5ebe2c05b8854f74b68b3c15'),
    ('dirty_never', {'n_keys': 3000, 'lg_dirty_mult': -1}, 3,
     'a5d6d3953f167b8e7227d59cb5a00e262cc057b58563f66d69287f7fc88c901e'),
    ('dirty_0', {'n_keys': 3000, 'lg_dirty_mult': 0}, 4,
     'd1abf32f96f667f7c78246a37a8972fa54f09cc967402bc172baf1f62e6e7530'),
    ('huge_page', {'n_keys': 3000, 'huge_map': 'page'}, 5,
     '6e6d316c8bcc63eebd0f137f0430ae104e91cbf9ef686dadfe0672e1d6b7faf9'),
    ('chunk4', {'n_keys': 3000, 'chunk_mib': 4}, 6,
     'e3137f5d6b0106666f493af4e3216c6bad4ef616379b5707038fa269c17602b7'),
    ('bloat_serve', {'n_keys': 2000, 'serve_requests': 6000}, 8,
     'e47b34dfe4532d9d68b53ccd4f0fcaf689a5832d2c9c54ce361cb7bde0f821c5'),
    ('small_values', {'n_keys': 3000, 'value_bytes': 40, 'big_value_bytes': 100000}, 9,
     '9c822aa4093630ccbd6e4fa355307b63c79485ce025e14264a0752e9ba440c77'),
    ('large_values', {'n_keys': 1500, 'value_bytes': 20000, 'key_bytes': 50}, 10,
     '87c6ca56113fa4132ce20161943b215c3ab095c6cfb850b4fd563eced49f4115'),
    ('big_values', {'n_keys': 300, 'value_bytes': 40000, 'big_value_bytes': 5000000}, 11,
     '7e877fd400957fae2b6536244579c3cd0d5d4923cce41147b12653177a1dbcfe'),
    ('ckpt7', {'n_keys': 2000, 'checkpoints': 7}, 12,
     'cb013d7a3f11b42fa5b7e74f8bd2310185721bba157b67aec3f8224b823ccf4b'),
    ('serve_scrambled_zipfian_A', {'n_keys': 2000, 'bloat': False, 'serve_requests': 8000, 'distribution': 'scrambled_zipfian', 'ycsb': 'A'}, 13,
     '9ce115899f90ca609b25e28457385b092986980801dbee5c8679d827c82573b0'),
    ('serve_scrambled_zipfian_B', {'n_keys': 2000, 'bloat': False, 'serve_requests': 8000, 'distribution': 'scrambled_zipfian', 'ycsb': 'B'}, 13,
     'e4cbc723bcf6ee8f8ca7d392337cae1a18b7cd83af56de81ac66c88faab6157b'),
    ('serve_scrambled_zipfian_C', {'n_keys': 2000, 'bloat': False, 'serve_requests': 8000, 'distribution': 'scrambled_zipfian', 'ycsb': 'C'}, 13,
     '721ced2ce768ac94054a355c78a696851221dc40660b298ab70b6645603bfd12'),
    ('serve_zipfian_A', {'n_keys': 2000, 'bloat': False, 'serve_requests': 8000, 'distribution': 'zipfian', 'ycsb': 'A'}, 13,
     '53395ec2cfdadb329ede8093e31bf4373dc77ff168fb7afcda24ab0d91239693'),
    ('serve_zipfian_B', {'n_keys': 2000, 'bloat': False, 'serve_requests': 8000, 'distribution': 'zipfian', 'ycsb': 'B'}, 13,
     '2fca8086b9ff2b2d6a9ac9dc2de4e32db672e747343f51a538e03f91d3cee96c'),
    ('serve_zipfian_C', {'n_keys': 2000, 'bloat': False, 'serve_requests': 8000, 'distribution': 'zipfian', 'ycsb': 'C'}, 13,
     '70cb8215884e4c5e72103906da91a546667357309e79d7348d21335fdc27c26e'),
    ('serve_hotspot_A', {'n_keys': 2000, 'bloat': False, 'serve_requests': 8000, 'distribution': 'hotspot', 'ycsb': 'A'}, 13,
     '2b36ffebc278b1890d8d352f66f0c6c4f13151a9440851acd70a5f7bd6638954'),
    ('serve_hotspot_B', {'n_keys': 2000, 'bloat': False, 'serve_requests': 8000, 'distribution': 'hotspot', 'ycsb': 'B'}, 13,
     'a34be04085711130ae1e83ae54d353169ca688251bc7f88b29feede0174df129'),
    ('serve_hotspot_C', {'n_keys': 2000, 'bloat': False, 'serve_requests': 8000, 'distribution': 'hotspot', 'ycsb': 'C'}, 13,
     '0f67026d380adc773e63230c935d13c4c3dc71412a7ea8a47da46276324a75c2'),
    ('serve_uniform_A', {'n_keys': 2000, 'bloat': False, 'serve_requests': 8000, 'distribution': 'uniform', 'ycsb': 'A'}, 13,
     '2aa1957ead37225b90386ed3b5054fcf6204577e36d8528f3e8a6d6b9dec1ab8'),
    ('serve_uniform_B', {'n_keys': 2000, 'bloat': False, 'serve_requests': 8000, 'distribution': 'uniform', 'ycsb': 'B'}, 13,
     '876808dcea2006f70a711b19ec3a5d494a221fb5534dfad5d8273e63fc0ca22d'),
    ('serve_uniform_C', {'n_keys': 2000, 'bloat': False, 'serve_requests': 8000, 'distribution': 'uniform', 'ycsb': 'C'}, 13,
     'e156f948773966bf56329b1b1b174aad488a2e32de7f44937dfadb8eab2d7568'),
    ('serve_rf', {'n_keys': 2000, 'bloat': False, 'serve_requests': 8000, 'read_fraction': 0.3, 'lg_quantum': 3, 'zipf_constant': 0.8, 'distribution': 'zipfian'}, 14,
     '6b5ffda03ddea1cfd213bf2938e99ca64914f7cba40669b43911eeeea56d6f0d'),
]


@pytest.mark.parametrize("name, params, seed, digest", CASES, ids=[c[0] for c in CASES])
def test_trace_equals_pure_python_generator(tmp_path, name, params, seed, digest):
    p = tmp_path / "r.trace"
    Redis(params, seed).write(p)
    assert hashlib.sha256(p.read_bytes()).hexdigest() == digest
