/* Reference TLB loop for `python -m sim.bench --reference`: a plain C loop
 * with the simulator's TLB model, to put the simulator's speed in context.
 *
 * The model is machine/tlb.py's: an L1 for 4 KiB pages, an L1 for 2 MiB
 * pages and a shared L2, each set-associative with true LRU (ways kept in
 * recency order, way 0 most recent); a tag is the virtual page number
 * shifted left by one with the low bit set for 2 MiB; sets are indexed by
 * the low bits of the page number.  A record (page, count) is count
 * accesses to one page (machine/engine.py tlb_access): one lookup in the L1
 * of the page size, then on a miss one in the L2 (an L2 miss is a walk);
 * the count - 1 repeats hit the L1.
 *
 * usage: bench_ref FILE PAGE_SHIFT L1S_SETS L1S_WAYS L1H_SETS L1H_WAYS
 *                  L2_SETS L2_WAYS REPEAT
 * FILE (little-endian): u64 n_records, u64 n_warm, then n_records u64 byte
 * addresses, then n_records u32 counts.  PAGE_SHIFT is 12 (every page 4 KiB)
 * or 21 (every page 2 MiB).  The first n_warm records warm the TLB untimed
 * (the trace's pre-touch); the rest are timed.  Each of REPEAT runs starts
 * from empty TLBs.  Prints one line per run:
 *   seconds cpu_seconds accesses l1_hits l2_hits walks
 * (of the timed records; cpu_seconds is this thread's CPU time, which a
 * loaded machine stretches less than the wall-clock seconds).  Exit status 2 on a usage or input error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    int64_t *tags;
    uint64_t sets, ways;
} level_t;

static int level_init(level_t *l, uint64_t sets, uint64_t ways)
{
    l->sets = sets;
    l->ways = ways;
    l->tags = malloc(sets * ways * sizeof(int64_t));
    return l->tags != NULL;
}

static void level_clear(level_t *l)
{
    memset(l->tags, 0xff, l->sets * l->ways * sizeof(int64_t)); /* -1: invalid */
}

/* One LRU access of tag t in set s: move to the front on a hit, insert at
 * the front (evicting the last way) on a miss.  Returns 1 on a hit. */
static inline int touch(level_t *l, uint64_t key, int64_t t)
{
    int64_t *set = l->tags + (key & (l->sets - 1)) * l->ways;
    uint64_t w, last = l->ways - 1;
    int hit = 0;
    for (w = 0; w < l->ways; w++) {
        if (set[w] == t) {
            last = w;
            hit = 1;
            break;
        }
    }
    for (w = last; w > 0; w--)
        set[w] = set[w - 1];
    set[0] = t;
    return hit;
}

typedef struct {
    uint64_t accesses, l1_hits, l2_hits, walks;
} counts_t;

static void run(const uint64_t *addr, const uint32_t *cnt, uint64_t lo, uint64_t hi,
                int shift, level_t *l1, level_t *l2, counts_t *c)
{
    int huge = shift != 12;
    for (uint64_t i = lo; i < hi; i++) {
        uint64_t key = addr[i] >> shift;
        int64_t t = (int64_t)((key << 1) | (uint64_t)huge);
        uint64_t n = cnt[i];
        c->accesses += n;
        if (touch(l1, key, t)) {
            c->l1_hits += n;
            continue;
        }
        c->l1_hits += n - 1;
        if (touch(l2, key, t))
            c->l2_hits++;
        else
            c->walks++;
    }
}

static double seconds(struct timespec a, struct timespec b)
{
    return (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
}

int main(int argc, char **argv)
{
    if (argc != 10) {
        fprintf(stderr, "usage: %s FILE PAGE_SHIFT L1S_SETS L1S_WAYS L1H_SETS L1H_WAYS "
                "L2_SETS L2_WAYS REPEAT\n", argv[0]);
        return 2;
    }
    int shift = atoi(argv[2]);
    uint64_t g[6];
    for (int k = 0; k < 6; k++) {
        g[k] = strtoull(argv[3 + k], NULL, 10);
        if (g[k] == 0 || ((k % 2 == 0) && (g[k] & (g[k] - 1)))) {
            fprintf(stderr, "bench_ref: bad geometry %s\n", argv[3 + k]);
            return 2;
        }
    }
    int repeat = atoi(argv[9]);
    if ((shift != 12 && shift != 21) || repeat < 1) {
        fprintf(stderr, "bench_ref: PAGE_SHIFT must be 12 or 21, REPEAT >= 1\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    uint64_t head[2];
    if (!f || fread(head, 8, 2, f) != 2 || head[1] > head[0]) {
        fprintf(stderr, "bench_ref: cannot read %s\n", argv[1]);
        return 2;
    }
    uint64_t n = head[0], warm = head[1];
    uint64_t *addr = malloc(n * 8 + 1);
    uint32_t *cnt = malloc(n * 4 + 1);
    if (!addr || !cnt || fread(addr, 8, n, f) != n || fread(cnt, 4, n, f) != n) {
        fprintf(stderr, "bench_ref: %s is truncated\n", argv[1]);
        return 2;
    }
    fclose(f);
    level_t l1s, l1h, l2;
    if (!level_init(&l1s, g[0], g[1]) || !level_init(&l1h, g[2], g[3])
        || !level_init(&l2, g[4], g[5])) {
        fprintf(stderr, "bench_ref: out of memory\n");
        return 2;
    }
    level_t *l1 = shift == 12 ? &l1s : &l1h;
    for (int r = 0; r < repeat; r++) {
        level_clear(&l1s);
        level_clear(&l1h);
        level_clear(&l2);
        counts_t c = {0, 0, 0, 0};
        run(addr, cnt, 0, warm, shift, l1, &l2, &c);
        memset(&c, 0, sizeof c);
        struct timespec t0, t1, c0, c1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        run(addr, cnt, warm, n, shift, l1, &l2, &c);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
        printf("%.6f %.6f %llu %llu %llu %llu\n", seconds(t0, t1), seconds(c0, c1),
               (unsigned long long)c.accesses,
               (unsigned long long)c.l1_hits, (unsigned long long)c.l2_hits,
               (unsigned long long)c.walks);
    }
    return 0;
}
