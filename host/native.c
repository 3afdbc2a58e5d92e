/* Native replay of a trace on the host kernel, and the calibration probes.
 *
 * Compiled at run time by host/native.py (cc -O2), one binary per source hash.
 *
 *   native replay MODE INSTRUMENT SAMPLE_NS LO HI   records on stdin, results on stdout
 *     SAMPLE_NS: RSS / AnonHugePages sampled at most this often in replay time
 *     (spaced by SAMPLE_COST_X times a sample's cost), 0: at phase ends only
 *     MODE 0: no madvise, 1: MADV_NOHUGEPAGE (host-4k), 2: MADV_HUGEPAGE (host-thp)
 *     INSTRUMENT 1: time each access that may fault (fault time, latency
 *     histogram, huge faults); 0: time the run alone, faults counted per span;
 *     2 (TOUCH_ONLY, the warm-up): only each page's first access and first
 *     write, no compute cycles, no repeats: the same faults, in the same order
 *     stdin: blocks of  u32 n | n x u64 word | n x u32 arg  (workloads/trace.py
 *     records), a block with n = 0 ends the trace.
 *   native spin N            N iterations of a one-cycle dependent loop; prints CPU ns
 *   native chase BYTES MODE HOPS SEED STRIDE   pointer chase over one line per STRIDE
 *                            bytes (a power of two >= 64) of a BYTES buffer, in random
 *                            order; prints CPU ns per hop
 *   native zero BYTES REPS   clear a pre-faulted buffer page by page (rep stosb,
 *                            as the kernel's clear_page_erms); prints CPU ns per 4 KiB
 *                            page, per repetition
 *
 * Replay: the trace's mappings lie in [LO, HI) (host/replay.py reads it from the
 * trace's MMAP records).  The replayer first reserves a window that size
 * (PROT_NONE, MAP_NORESERVE) wherever the kernel has room, and shifts every
 * trace address by the same multiple of 1 GiB into it, so that huge-page
 * alignment is kept and a mapping can never land on the replayer's own
 * (its libraries and heap sit at a random address, ASLR: at the trace's own
 * addresses, mmap failed with EEXIST in about one workflow run in a few).
 * Each MMAP record is then mmap(MAP_FIXED) at its shifted address, anonymous
 * and private, inside the window, and madvise'd per MODE; a MUNMAP record
 * unmaps by mapping the window's PROT_NONE reservation back over its range
 * (a plain munmap would leave a hole that malloc could take); MADV_DONTNEED
 * records call madvise(MADV_DONTNEED).  With LO == HI == 0 (or a window the
 * kernel cannot reserve) the addresses are the trace's own, mapped with
 * MAP_FIXED_NOREPLACE, and a collision ends the replay with status 3.  An ACCESS record
 * reads or writes 8 bytes in the page at its address, repeat times, after
 * spinning the trace's compute cycles per access (CYCLES records) with the
 * loop `spin`.  Accesses are serialized, as the simulator charges them
 * (compute, page walk and data latency added up): each access's address
 * depends on the spin chain (`chained`), and a write is read back into it, so
 * no access starts before the previous one has finished (otherwise the core
 * overlaps the next accesses' page walks and misses with the spin, by an amount
 * set by the replay loop's own read/write mix, not by the trace).  The trace
 * records pages, not lines: a record's accesses go to consecutive units of
 * ACCESS_BYTES (what the trace's generator's accesses stand for, 8, a word, or
 * 64, a line: host.replay.access_bytes) from a pseudo-random unit of its page
 * (`place`), wrapping within the page,
 * as the program that made them walked a neighbour list or copied a value;
 * the pseudo-random start spreads the records over the cache's sets as an
 * application's (always offset 0 would use 1 set in 64).  A page's first
 * access since it was mapped, and its first write, can fault: only those
 * accesses are timed (rdtsc around the access alone, INSTRUMENT 1).  Whether
 * one faulted is known without a system call (one between two faults slows
 * the second): with MADV_NOHUGEPAGE from the page state (such an access
 * always faults), otherwise from its latency (>= FAULT_NS).  An access
 * slower than SLOW_NS is checked with getrusage(RUSAGE_SELF) (faults, and
 * context switches: one since the last look and a latency over
 * DESCHEDULED_X times the mean of its kind mean the TSC's span held other
 * programs' time, and the fault counts that mean instead) and, unless
 * MADV_NOHUGEPAGE, /proc/self/statm: a fault that added >= 256 pages to the
 * resident set mapped a huge page.  The faults counted at each span's end
 * check those seen one by one (stray_faults).  The instrumentation's own time
 * is measured and left out of the instrumented run's time; the run time
 * reported is that of an uninstrumented run (INSTRUMENT 0), in which faults
 * are counted per span.  Everything the replay itself touches (record buffer,
 * page-state bytes, stack) is touched before it is timed, so the only faults
 * counted are the trace's.
 *
 * Output lines (space separated):
 *   S t_ns phase accesses faults fault_ns faults_2m rss_kb anon_huge_kb
 *   P phase start_ns end_ns accesses faults fault_ns faults_2m
 *   C ticks ns_per_tick switched n4k ns4k n2m ns2m   cost of a tsc read pair
 *                        (subtracted from each timed access), the TSC's period, faults
 *                        not timed (descheduled), timed faults and their time by kind
 *                        (4 KiB or other; huge)
 *   H bin count          fault latency histogram, bin = floor(ln(ns) / ln(1.01))
 *   T runtime_ns accesses writes faults fault_ns faults_2m free_ns stray_faults (signed)
 *     instr_ns peak_rss_kb peak_anon_huge_kb read_faults cow_faults
 *   (read_faults: faults on a read, i.e. zero-page or huge-zero-page mappings;
 *   cow_faults: faults on the first write to a page read before)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

enum { ACCESS = 0, MMAP = 1, MUNMAP = 2, DONTNEED = 3, PHASE = 4, CYCLES = 5 };
#define KIND_MASK 0xFULL
#define WRITE_BIT 0x10ULL
#define PAGE_SHIFT 12
#define LEAF_SHIFT 30                      /* one page-state leaf per 1 GiB */
#define LEAF_PAGES (1UL << (LEAF_SHIFT - PAGE_SHIFT))
#define N_LEAVES (1UL << (47 - LEAF_SHIFT))
#define MAX_BLOCK (1u << 20)
#define HIST_BINS 4096
#define TOUCH_ONLY 2        /* INSTRUMENT value of the warm-up */
#define SAMPLE_COST_X 10    /* periodic samples take at most a tenth of the replay's time:
                               one read of /proc/self/smaps_rollup walks the page tables,
                               14 ms for 1 GiB in 4 KiB pages here (2026-11-30), more than
                               a 10 ms sample period */
#define FAULT_NS 1000.0     /* host-thp: a first access slower than this faulted.  Measured
                               here (2026-11-30, getrusage after every first access): 4 KiB
                               faults >= 1.69 µs; first accesses that found their huge page
                               mapped: 99.9% < 441 ns, 2 of 65,408 over 1 µs (interrupts;
                               the span-end count corrects the total: stray_faults) */
#define SLOW_NS 20000.0     /* an access this slow is checked with getrusage (a huge
                               fault zeroes 512 pages: >= 100 µs here) */
#define DESCHEDULED_X 2.0   /* a slow fault after a context switch counts the mean of its
                               kind if it took more than this many times that mean: huge
                               faults spread 169-266 µs undisturbed here (2026-11-30,
                               val_gather), a time slice the thread lost is milliseconds */
#define ST_TOUCHED 1
#define ST_WRITTEN 2

static uint8_t **leaves;                  /* page state: ST_* bits per 4 KiB page */
static uint64_t *words;
static uint32_t *args;
static uint64_t hist[HIST_BINS];
static volatile uint64_t sink;
static char procbuf[8192];

static void die(const char *msg) {
    fprintf(stderr, "native: %s: %s\n", msg, strerror(errno));
    exit(2);
}

#define WINDOW_ALIGN (1ULL << 30)          /* the shift keeps 1 GiB alignment */
#define EXIT_ADDRESS_IN_USE 3

/* The shift that moves [lo, hi) into a window reserved for it, or 0 (no
 * window: the trace's own addresses) when lo == hi or the kernel has no room. */
static int64_t reserve_window(uint64_t lo, uint64_t hi, int *reserved) {
    *reserved = 0;
    if (hi <= lo) return 0;
    uint64_t base_lo = lo & ~(WINDOW_ALIGN - 1);
    uint64_t len = ((hi - base_lo + WINDOW_ALIGN - 1) & ~(WINDOW_ALIGN - 1)) + WINDOW_ALIGN;
    void *r = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED) return 0;
    uint64_t base = ((uint64_t)r + WINDOW_ALIGN - 1) & ~(WINDOW_ALIGN - 1);
    *reserved = 1;
    return (int64_t)(base - base_lo);
}

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* this thread's CPU time (user + system): the replay's clock.  On a shared
 * machine wall time also holds the time other programs ran; CPU time is what
 * the simulator's per-process clock models. */
static inline uint64_t cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static inline uint64_t tsc(void) {
    uint32_t lo, hi;
    __asm__ volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi) :: "memory");
    return ((uint64_t)hi << 32) | lo;
}

/* the median cost, in ticks, of two back-to-back tsc() reads: subtracted
 * from every timed access */
static uint64_t tsc_cost(void) {
    enum { N = 2001 };
    static uint64_t d[N];
    for (int i = 0; i < N; i++) {
        uint64_t a = tsc();
        d[i] = tsc() - a;
    }
    for (int i = 1; i < N; i++)             /* insertion sort: small, once */
        for (int j = i; j > 0 && d[j - 1] > d[j]; j--) {
            uint64_t t = d[j]; d[j] = d[j - 1]; d[j - 1] = t;
        }
    return d[N / 2];
}

/* nanoseconds per TSC tick, against CLOCK_MONOTONIC over 20 ms */
static double tsc_ns_per_tick(void) {
    uint64_t n0 = now_ns(), k0 = tsc();
    while (now_ns() - n0 < 20000000ULL) {}
    uint64_t n1 = now_ns(), k1 = tsc();
    return (double)(n1 - n0) / (double)(k1 - k0);
}

static long last_switches;          /* context switches at the last minflt() */

static inline long minflt(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    last_switches = ru.ru_nvcsw + ru.ru_nivcsw;
    return ru.ru_minflt;
}

/* n iterations of a loop whose only dependency chain is one add: ~1 cycle each */
static inline uint64_t spin(uint64_t n, uint64_t x) {
    for (uint64_t i = 0; i < n; i++) {
        x += 1;
        __asm__ volatile("" : "+r"(x));
    }
    return x;
}

/* An opaque zero that depends on x: the address of the next access waits for the
 * spin chain (the compiler cannot fold z - x, the CPU must compute it). */
static inline uint64_t chained(uint64_t x) {
    uint64_t z = x;
    __asm__ volatile("" : "+r"(z));
    return z - x;
}

/* The byte offset of access number n in its page: a pseudo-random 8-byte word
 * (Fibonacci hashing of the access count; the same sequence every run). */
static inline uint64_t line_of(uint64_t n) {
    return ((n * 0x9E3779B97F4A7C15ULL) >> 52) & 0xFF8;
}

/* The byte offset of access k of a record whose first access is number n of
 * the run, with accesses of ab bytes (8 or 64): consecutive units from the
 * pseudo-random unit line_of(n), wrapping within the 4 KiB page.  (A record
 * is a run of accesses to one page: tests/test_host_lines.py.) */
static inline uint64_t place(uint64_t n, uint64_t k, uint64_t ab) {
    return ((line_of(n) & ~(ab - 1)) + k * ab) & 0xFFF;
}

/* resident pages of this process (/proc/self/statm, field 2) */
static long statm_resident(void) {
    int fd = open("/proc/self/statm", O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = read(fd, procbuf, sizeof procbuf - 1);
    close(fd);
    if (n <= 0) return -1;
    procbuf[n] = 0;
    long size, res;
    if (sscanf(procbuf, "%ld %ld", &size, &res) != 2) return -1;
    return res;
}

/* Rss and AnonHugePages of /proc/self/smaps_rollup, in KiB */
static void rollup(long *rss_kb, long *huge_kb) {
    *rss_kb = *huge_kb = -1;
    int fd = open("/proc/self/smaps_rollup", O_RDONLY);
    if (fd < 0) return;
    ssize_t n = read(fd, procbuf, sizeof procbuf - 1);
    close(fd);
    if (n <= 0) return;
    procbuf[n] = 0;
    char *p = strstr(procbuf, "\nRss:");
    if (p) *rss_kb = strtol(p + 5, NULL, 10);
    p = strstr(procbuf, "\nAnonHugePages:");
    if (p) *huge_kb = strtol(p + 15, NULL, 10);
}

static void touch(void *p, size_t n) {
    memset(p, 1, n);
    memset(p, 0, n);
}

static uint8_t *state_of(uint64_t a) {
    uint8_t *leaf = leaves[a >> LEAF_SHIFT];
    return leaf ? leaf + ((a >> PAGE_SHIFT) & (LEAF_PAGES - 1)) : NULL;
}

/* page-state bytes for [a, a+len): allocated (and touched) on first use */
static void state_alloc(uint64_t a, uint64_t len) {
    for (uint64_t g = a >> LEAF_SHIFT; g <= (a + len - 1) >> LEAF_SHIFT; g++) {
        if (!leaves[g]) {
            leaves[g] = malloc(LEAF_PAGES);
            if (!leaves[g]) die("page-state allocation");
            touch(leaves[g], LEAF_PAGES);
        }
    }
}

static void state_clear(uint64_t a, uint64_t len) {
    for (uint64_t x = a; x < a + len; ) {
        uint64_t end = ((x >> LEAF_SHIFT) + 1) << LEAF_SHIFT;
        if (end > a + len) end = a + len;
        uint8_t *s = state_of(x);
        if (s) memset(s, 0, (end - x) >> PAGE_SHIFT);
        x = end;
    }
}

static int read_full(void *buf, size_t n) {
    char *p = buf;
    while (n) {
        ssize_t r = read(0, p, n);
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* run-wide counters, and those at the start of the open phase */
typedef struct {
    uint64_t t, accesses, faults, fault_ns, faults_2m;
} counters;

static int replay(int mode, int instrument, uint64_t sample_ns, uint64_t lo, uint64_t hi,
                  uint64_t ab) {
    int reserved;
    const int64_t offset = reserve_window(lo, hi, &reserved);
    leaves = calloc(N_LEAVES, sizeof *leaves);
    words = malloc(MAX_BLOCK * sizeof *words);
    args = malloc(MAX_BLOCK * sizeof *args);
    if (!leaves || !words || !args) die("allocation");
    touch(leaves, N_LEAVES * sizeof *leaves);
    touch(words, MAX_BLOCK * sizeof *words);
    touch(args, MAX_BLOCK * sizeof *args);
    { volatile char stack[256 << 10]; memset((char *)stack, 0, sizeof stack); }
    touch(hist, sizeof hist);
    long rss0_kb = -1, huge0_kb = -1, rss_kb, huge_kb;
    rollup(&rss0_kb, &huge0_kb);          /* the replayer's own, subtracted */
    const uint64_t tcost = tsc_cost();
    touch(procbuf, sizeof procbuf);
    /* fault in every page mapped so far (program and library text, data,
     * stack), so that code run for the first time in the loop (the libraries'
     * fault-path calls) adds no faults of its own; then unlock */
    if (mlockall(MCL_CURRENT) == 0) munlockall();
    sink = (uint64_t)log((double)(sink + 2));
    const double ns_per_tick = tsc_ns_per_tick();
    double timed_ns[2] = {0, 0};             /* per kind (4 KiB, huge): time, faults */
    uint64_t timed[2] = {0, 0}, switched = 0;
    long prev_sw = 0;
    (void)minflt();
    (void)statm_resident();

    counters c = {0}, ph = {0};
    uint64_t writes = 0, free_ns = 0, instr_ns = 0, f_read = 0, f_cow = 0;
    int64_t stray = 0;        /* faults counted at span ends less those seen one by one */
    uint64_t cycles = 0, x = 0;
    int64_t next_sample = 0;    /* c.t may dip below 0 for a moment: it is charged the
                                   instrumentation's time measured on another clock */
    long peak_rss = 0, peak_huge = 0;
    long res_prev = statm_resident();     /* resident pages before the next fault */
    int phase = -1;
    const double lnr = log(1.01);
    long prev = minflt();           /* faults (getrusage) at the last look */
    long guessed = 0;               /* faults taken by the instrumentation since then */
    uint64_t t_mark = cpu_ns();           /* start of the current timed span */

#define STOP() do {                                                            \
        c.t += cpu_ns() - t_mark;                                              \
        long f_ = minflt();                    /* faults not seen one by one */ \
        c.faults += f_ - prev - guessed;                                       \
        if (instrument) stray += f_ - prev - guessed;                          \
        prev = f_;                                                             \
        guessed = 0;                                                           \
    } while (0)
/* (the switch count too: reading the next block from the pipe may block, a
 * context switch that must not make the span's first slow fault look
 * descheduled) */
#define START() (prev = minflt(), prev_sw = last_switches, guessed = 0, t_mark = cpu_ns())
#define SAMPLE() do {                                                          \
        rollup(&rss_kb, &huge_kb);                                             \
        rss_kb -= rss0_kb; huge_kb -= huge0_kb;                                \
        if (rss_kb > peak_rss) peak_rss = rss_kb;                              \
        if (huge_kb > peak_huge) peak_huge = huge_kb;                          \
        printf("S %ld %d %lu %lu %lu %lu %ld %ld\n", c.t, phase, c.accesses,   \
               c.faults, c.fault_ns, c.faults_2m, rss_kb, huge_kb);            \
    } while (0)

    STOP(); SAMPLE(); START();
    next_sample = (int64_t)sample_ns;
    for (;;) {
        STOP();
        uint32_t n;
        if (read_full(&n, 4)) { errno = EIO; die("truncated record stream"); }
        if (n > MAX_BLOCK) { errno = EINVAL; die("record block too large"); }
        if (n == 0) break;
        if (read_full(words, n * 8ULL) || read_full(args, n * 4ULL)) {
            errno = EIO; die("truncated record block");
        }
        START();
        for (uint32_t i = 0; i < n; i++) {
            uint64_t w = words[i], kind = w & KIND_MASK;
            uint64_t a = (w & ~0xFFFULL) + (uint64_t)offset;
            uint32_t arg = args[i];
            if (kind == ACCESS) {
                volatile uint64_t *p = (volatile uint64_t *)a;
                int wr = (w & WRITE_BIT) != 0;
                uint8_t *s = state_of(a);
                uint8_t need = wr ? (ST_TOUCHED | ST_WRITTEN) : ST_TOUCHED;
                uint32_t r = arg;
                if (instrument == TOUCH_ONLY) {
                    if (!s || (*s & need) != need) {
                        if (wr) *p = x; else x += *p;
                        if (s) *s |= need;
                    }
                    c.accesses += r;
                    continue;
                }
                if (instrument && s && (*s & need) != need) {  /* may fault: timed alone */
                    x = spin(cycles, x);
                    uint64_t t0 = tsc();
                    if (wr) *p = x; else x += *p;
                    uint64_t t1 = tsc();
                    double d = t1 - t0 > tcost ? (double)(t1 - t0 - tcost) * ns_per_tick : 0;
                    /* Did it fault?  No system call on the common path: one
                     * between two faults makes the second slower (measured on a
                     * sequential 4 KiB touch: 2.08 µs a fault with getrusage
                     * after each, 1.62 µs without, and the uninstrumented run's
                     * whole cost was 1.86 µs a page).  With MADV_NOHUGEPAGE the
                     * page state says it (an anonymous page's first access, and
                     * the first write to a page only read, always fault); else
                     * (MADV_HUGEPAGE) a first access may find its huge page mapped,
                     * so an access slower than FAULT_NS is a fault.  An access
                     * slower than SLOW_NS (a huge page's zeroing alone takes
                     * longer) is checked: faults, huge (the resident set grew by
                     * >= 256 pages) and context switches.  The faults seen at
                     * each span's end check the count (stray_faults). */
                    long nf = mode == 1 ? 1 : d >= FAULT_NS;
                    int huge = 0, untimed = 0;
                    if (d >= SLOW_NS) {
                        struct rusage ru;
                        getrusage(RUSAGE_SELF, &ru);
                        long sw = ru.ru_nvcsw + ru.ru_nivcsw;
                        long real = ru.ru_minflt - prev;    /* since the last look */
                        nf = real > 0;                      /* this access's */
                        stray += real - nf - guessed;       /* earlier guesses' error */
                        c.faults += real - nf - guessed;
                        prev = ru.ru_minflt;
                        guessed = -nf;                      /* (nf is added below) */
                        if (mode != 1 && nf) {
                            long res = statm_resident();
                            huge = res - res_prev >= 256;
                            res_prev = res;
                        }
                        /* descheduled meanwhile: the TSC span holds other programs'
                         * time; the fault counts the mean of its kind so far */
                        untimed = sw != prev_sw && nf && timed[huge]
                                  && d > DESCHEDULED_X * timed_ns[huge] / (double)timed[huge];
                        prev_sw = sw;
                    } else if (mode != 1 && wr) {
                        res_prev += nf;     /* a 4 KiB write fault: one more resident
                                               page (a read maps the zero page: none) */
                    }
                    if (nf) {
                        if (untimed) {
                            switched += nf;
                            d = timed_ns[huge] / (double)timed[huge] * (double)nf;
                        } else {
                            timed_ns[huge] += d;
                            timed[huge] += nf;
                        }
                        c.faults += nf;
                        c.faults_2m += huge;
                        if (!wr) f_read += nf;
                        else if (*s & ST_TOUCHED) f_cow += nf;
                        c.fault_ns += (uint64_t)d;
                        int b = d >= nf ? (int)(log(d / (double)nf) / lnr) : 0;
                        hist[b < HIST_BINS ? b : HIST_BINS - 1] += nf;
                        guessed += nf;
                    }
                    *s |= need;
                    r--;
                    c.accesses++;
                    writes += wr;
                    uint64_t t2 = tsc();
                    /* time of the instrumentation, on the run's clock */
                    uint64_t in = (uint64_t)((double)(t2 - t1 + tcost) * ns_per_tick);
                    instr_ns += in;
                    c.t -= in;
                }
                if (wr) {
                    for (uint32_t k = 0; k < r; k++) {
                        x = spin(cycles, x);
                        volatile uint64_t *q = (volatile uint64_t *)
                            ((uint64_t)p + place(c.accesses, k, ab) + chained(x));
                        *q = x;
                        x += *q;    /* the next access waits for this one */
                    }
                    writes += r;
                } else {
                    for (uint32_t k = 0; k < r; k++) {
                        x = spin(cycles, x);
                        x += *(volatile uint64_t *)
                            ((uint64_t)p + place(c.accesses, k, ab) + chained(x));
                    }
                }
                c.accesses += r;
                if ((i & 4095) == 0 && sample_ns) {
                    int64_t t = (int64_t)(c.t + cpu_ns() - t_mark);
                    if (t >= next_sample) {
                        STOP();
                        uint64_t s0 = cpu_ns();
                        SAMPLE();
                        /* the next sample no sooner than SAMPLE_COST_X times this
                         * one's cost: smaps_rollup walks every page table */
                        int64_t spaced = (int64_t)(c.t + SAMPLE_COST_X * (cpu_ns() - s0));
                        while (next_sample <= (int64_t)c.t) next_sample += (int64_t)sample_ns;
                        if (next_sample < spaced) next_sample = spaced;
                        START();
                    }
                }
            } else if (kind == MMAP) {
                uint64_t len = (uint64_t)arg << PAGE_SHIFT;
                void *p = mmap((void *)a, len, PROT_READ | PROT_WRITE,
                               MAP_PRIVATE | MAP_ANONYMOUS |
                               (reserved ? MAP_FIXED : MAP_FIXED_NOREPLACE), -1, 0);
                if (p == MAP_FAILED && errno == EEXIST) {
                    fprintf(stderr, "native: mmap at the trace's address %#lx: in use by the "
                            "replayer itself\n", (unsigned long)a);
                    exit(EXIT_ADDRESS_IN_USE);
                }
                if (p == MAP_FAILED || (uint64_t)p != a) die("mmap at the trace's address");
                if (mode && madvise(p, len, mode == 2 ? MADV_HUGEPAGE : MADV_NOHUGEPAGE))
                    die("madvise(MADV_HUGEPAGE/MADV_NOHUGEPAGE)");
                STOP();
                state_alloc(a, len);
                state_clear(a, len);
                START();
            } else if (kind == MUNMAP || kind == DONTNEED) {
                uint64_t len = (uint64_t)arg << PAGE_SHIFT;
                uint64_t t0 = cpu_ns();
                if (kind == MUNMAP
                        ? (reserved ? mmap((void *)a, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS |
                                           MAP_NORESERVE | MAP_FIXED, -1, 0) == MAP_FAILED
                                    : munmap((void *)a, len) != 0)
                        : madvise((void *)a, len, MADV_DONTNEED) != 0)
                    die(kind == MUNMAP ? "munmap" : "madvise(MADV_DONTNEED)");
                free_ns += cpu_ns() - t0;
                STOP();
                state_clear(a, len);
                res_prev = statm_resident();
                START();
            } else if (kind == PHASE) {
                STOP();
                SAMPLE();
                if (phase >= 0 || c.accesses || c.faults)
                    printf("P %d %lu %lu %lu %lu %lu %lu\n", phase, ph.t, c.t,
                           c.accesses - ph.accesses, c.faults - ph.faults,
                           c.fault_ns - ph.fault_ns, c.faults_2m - ph.faults_2m);
                ph = c;
                phase = (int)arg;
                START();
            } else if (kind == CYCLES) {
                cycles = arg;
            }
        }
    }
    SAMPLE();
    printf("P %d %lu %lu %lu %lu %lu %lu\n", phase, ph.t, c.t, c.accesses - ph.accesses,
           c.faults - ph.faults, c.fault_ns - ph.fault_ns, c.faults_2m - ph.faults_2m);
    for (int b = 0; b < HIST_BINS; b++)
        if (hist[b]) printf("H %d %lu\n", b, hist[b]);
    printf("C %lu %.6f %lu %lu %.0f %lu %.0f\n", tcost, ns_per_tick, switched, timed[0],
           timed_ns[0], timed[1], timed_ns[1]);
    printf("T %lu %lu %lu %lu %lu %lu %lu %ld %lu %ld %ld %lu %lu\n", c.t, c.accesses, writes,
           c.faults, c.fault_ns, c.faults_2m, free_ns, stray, instr_ns, peak_rss, peak_huge,
           f_read, f_cow);
    sink = x;
    return 0;
}

static uint64_t xorshift(uint64_t *s) {
    *s ^= *s << 13; *s ^= *s >> 7; *s ^= *s << 17;
    return *s;
}

/* pointer chase through one 64-byte line per STRIDE bytes, in a random cycle */
static int chase(uint64_t bytes, int mode, uint64_t hops, uint64_t seed, uint64_t stride) {
    int sh = 0;
    while ((1ULL << sh) < stride) sh++;
    uint64_t n = bytes >> sh;
    char *buf = mmap(NULL, bytes + (2 << 20), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) die("mmap");
    char *b = (char *)(((uint64_t)buf + (2 << 20) - 1) & ~((2ULL << 20) - 1));
    if (mode && madvise(b, bytes, mode == 2 ? MADV_HUGEPAGE : MADV_NOHUGEPAGE)) die("madvise");
    memset(b, 0, bytes);
    uint64_t *perm = malloc(n * sizeof *perm);
    if (!perm) die("malloc");
    for (uint64_t i = 0; i < n; i++) perm[i] = i;
    uint64_t s = seed | 1;
    for (uint64_t i = n - 1; i > 0; i--) {
        uint64_t j = xorshift(&s) % (i + 1), t = perm[i];
        perm[i] = perm[j]; perm[j] = t;
    }
    /* the line within a stride varies so the chase spreads over cache sets */
    uint64_t lines = stride / 64;
#define SLOT(k) (b + ((k) << sh) + (((k) * 7) % lines) * 64)
    for (uint64_t i = 0; i < n; i++)
        *(char **)SLOT(perm[i]) = SLOT(perm[(i + 1) % n]);
    char **p = (char **)SLOT(perm[0]);
    free(perm);
    for (uint64_t i = 0; i < n; i++) p = (char **)*p;   /* warm */
    uint64_t t0 = cpu_ns();
    for (uint64_t i = 0; i < hops; i++) p = (char **)*p;
    uint64_t t1 = cpu_ns();
    sink = (uint64_t)p;
    printf("%.4f\n", (double)(t1 - t0) / (double)hops);
    return 0;
}

static int zero(uint64_t bytes, int reps) {
    char *b = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (b == MAP_FAILED) die("mmap");
    memset(b, 1, bytes);
    uint64_t best = UINT64_MAX;
    for (int r = 0; r < reps; r++) {
        uint64_t t0 = cpu_ns();
        for (uint64_t off = 0; off < bytes; off += 4096) {
            void *d = b + off;
            uint64_t cnt = 4096;
            __asm__ volatile("rep stosb" : "+D"(d), "+c"(cnt) : "a"(0) : "memory");
        }
        uint64_t t = cpu_ns() - t0;
        printf("%.4f\n", (double)t / (double)(bytes >> PAGE_SHIFT));
        if (t < best) best = t;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 8 && !strcmp(argv[1], "replay")) {
        uint64_t ab = strtoull(argv[7], NULL, 10);
        if (ab != 8 && ab != 64) {
            fprintf(stderr, "native replay: ACCESS_BYTES %s: must be 8 or 64\n", argv[7]);
            return 2;
        }
        return replay(atoi(argv[2]), atoi(argv[3]), strtoull(argv[4], NULL, 10),
                      strtoull(argv[5], NULL, 10), strtoull(argv[6], NULL, 10), ab);
    }
    if (argc >= 5 && !strcmp(argv[1], "place")) {    /* the offsets of a record's accesses */
        uint64_t n = strtoull(argv[2], NULL, 10), count = strtoull(argv[3], NULL, 10);
        uint64_t ab = strtoull(argv[4], NULL, 10);
        for (uint64_t k = 0; k < count; k++) printf("%lu\n", place(n, k, ab));
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "spin")) {
        uint64_t n = strtoull(argv[2], NULL, 10);
        uint64_t t0 = cpu_ns();
        sink = spin(n, 0);
        printf("%lu\n", cpu_ns() - t0);
        return 0;
    }
    if (argc >= 7 && !strcmp(argv[1], "chase"))
        return chase(strtoull(argv[2], NULL, 10), atoi(argv[3]), strtoull(argv[4], NULL, 10),
                     strtoull(argv[5], NULL, 10), strtoull(argv[6], NULL, 10));
    if (argc >= 4 && !strcmp(argv[1], "zero"))
        return zero(strtoull(argv[2], NULL, 10), atoi(argv[3]));
    fprintf(stderr, "usage: native replay MODE INSTRUMENT SAMPLE_NS LO HI ACCESS_BYTES | "
                    "place N COUNT ACCESS_BYTES | spin N | chase BYTES MODE HOPS SEED STRIDE | "
                    "zero BYTES REPS\n");
    return 2;
}
