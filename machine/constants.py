"""Named indices and codes shared by the compiled kernel and Python.

Kept as plain module-level integers so numba folds them into constants.
"""

from hpsim.units import HPAGE_PMD_ORDER, HUGE_SHIFT, PAGE_SHIFT, PAGES_PER_HUGE  # noqa: F401  (re-exported)


NO_FRAME = -1

# --- block states (machine.physmem) ---
BLK_FREE = 0       # no frame in use; on a free list
BLK_BASE = 1       # split into 4 KiB frames (some may be free)
BLK_HUGE = 2       # mapped whole as one 2 MiB page
BLK_RESERVED = 3   # a FreeBSD-style reservation for one virtual region

# --- region mapping kinds (Regions.huge) ---
HUGE_NONE = 0      # 4 KiB PTEs (or nothing)
HUGE_PMD = 1       # one 2 MiB PTE onto a private block
HUGE_ZERO = 2      # one 2 MiB PTE onto the shared huge zero page (read-only, no frame)

# --- block lists ---
L_FREE_ZEROED = 0  # free blocks whose frames are known zero (pre-zeroed)
L_FREE_DIRTY = 1   # free blocks with stale content
L_PARTIAL = 2      # BASE blocks with at least one free frame
N_LISTS = 3

# --- reverse map (physmem frame_page): a page index slot * 512 + i, or one of
FP_NONE = -1       # free frame
FP_MOVABLE = -2    # a movable page of another user (page cache; no simulated PTE)
FP_UNMOVABLE = -3  # an unmovable kernel page (fragmentation pressure)
FP_TENANT = -4     # memory held whole by other tenants

# --- block owner codes besides a region slot ---
OWNER_NONE = -1
OWNER_TENANT = -2  # memory held by other tenants (pressure setting)

# --- per-page state bits (pg_state) ---
PG_MAPPED = 1      # a PTE is present (private frame or the shared zero page)
PG_ZEROPAGE = 2    # the PTE points at the shared zero page (read-only)
PG_ACCESSED = 4    # hardware accessed bit; sampled and cleared by policies
PG_WRITTEN = 8     # content is non-zero (written since mapped)
PG_TOUCHED = 16    # the program accessed this page since it was mapped

# --- fault modes (what the policy asks the fault path to do) ---
FAULT_BASE = 0     # always 4 KiB (linux-4k, ingens deferred)
FAULT_HUGE = 1     # 2 MiB when the region is empty, in one VMA, and a block is free
FAULT_RESERVE = 2  # reserve an aligned block, map 4 KiB from it (FreeBSD)

# --- kernel exit statuses ---
ST_END = 0         # consumed the chunk
ST_EVENT = 1       # record i needs Python (mmap, munmap, phase)
ST_TIME = 2        # the process clock reached the time limit
ST_TRIGGER = 3     # a region's population reached the policy's trigger
ST_NOMEM = 4       # no free frame; record i not consumed
ST_SEGV = 5        # access outside every VMA; record i not consumed
ST_COMPACT = 6     # a huge fault found no free block and P_DEFRAG asks for direct
                   # compaction (done in Python: it may move other processes' pages,
                   # whose TLBs replay does not hold); record i not consumed
ST_WMARK = 7       # free frames fell below the armed watermark (G_WMARK) at a fault of
                   # record i, which is consumed: the allocator wakes a pressure-driven
                   # thread at once (mm/page_alloc.c wakeup_kswapd), not at the step's end
STATUS_NAMES = ["end", "event", "time", "trigger", "nomem", "segv", "compact", "wmark"]

# --- machine parameters (int64 array P, cycles unless noted) ---
P_FAULT_MODE = 0
P_PREFER_ZEROED = 1
P_POP_TRIGGER = 2         # 0 = off; else population count that calls the policy
P_ZEROPAGE_ON_READ = 3    # 1: a read fault maps the shared zero page
P_FAULT_BASE_4K = 4
P_FAULT_BASE_2M = 5
P_ZERO_4K = 6
P_ZERO_2M = 7
P_ZEROPAGE_FAULT = 8
P_WALK_4K = 9
P_WALK_2M = 10
P_L2_HIT = 11
P_COPY_4K = 12
P_FREE_4K = 13
P_FREE_2M = 14
P_TLB_L1S_SETS = 15
P_TLB_L1S_WAYS = 16
P_TLB_L1H_SETS = 17
P_TLB_L1H_WAYS = 18
P_TLB_L2_SETS = 19
P_TLB_L2_WAYS = 20
P_PROMOTE_INPLACE = 21
P_HIST_BINS = 22
P_CPU_HZ = 23
P_FAST_PATH = 24     # 1: replay takes runs of accesses to mapped pages in fast_run
P_POP_COUNTS_ZERO = 25  # 1: PTEs of the shared zero page count towards P_POP_TRIGGER
P_DEFRAG = 26       # 1: a huge fault that finds no free block asks for direct compaction
P_MIGRATE_4K = 27   # cycles to migrate one 4 KiB page (compaction)
P_DRAM_LATENCY = 36  # cycles an LLC miss waits for DRAM (machine.costs.dram_latency_ns)
P_HUGE_ZERO_PAGE = 32  # 1: a read fault in an empty huge-eligible region maps the huge zero page
P_ACCESS_CYCLES = 37  # least cycles an access takes, compute included (costs.access_cycles)
N_PARAMS = 40

# --- global counters (int64 array G) ---
G_FREE_FRAMES = 0
G_STAMP = 1          # monotonically increasing change stamp (LRU of reservations)
G_TOTAL_FRAMES = 2
G_RESERVATIONS = 3   # reservations made
G_RESV_PROMOTED = 4
G_RESV_BROKEN = 5
G_WMARK = 6          # free-frame watermark: replay stops (ST_WMARK) at the fault that takes
                     # G_FREE_FRAMES below it; -1 when no thread waits for one (disarmed)
N_GLOBAL = 8

# --- per-process counters (int64 array C) ---
C_CLOCK = 0           # process time, cycles (user + fault handling)
C_ACCESSES = 1
C_WRITES = 2
C_L1_HITS = 3
C_L2_HITS = 4
C_WALKS = 5           # TLB misses that walked the page table
C_WALK_CYCLES = 6     # Table 2's C1 + C2
C_USER_CYCLES = 7     # Table 2's C3: compute + data (DRAM) + L2-hit + walk cycles
C_FAULT_CYCLES = 8
C_FAULTS_4K = 9       # faults that mapped a private 4 KiB frame
C_FAULTS_2M = 10      # faults that mapped a 2 MiB page
C_FAULTS_ZEROPAGE = 11
C_FAULTS_COW = 12     # write to a zero-page mapping
C_FAULTS_PREZEROED = 13  # faults that skipped zeroing thanks to a zeroed frame
C_RSS_PAGES = 14      # private 4 KiB frames mapped (huge pages count 512)
C_BLOAT_PAGES = 15    # resident frames never accessed since mapped
C_HUGE = 16           # regions mapped huge now
C_CYCLES_PER_ACCESS = 17
C_TRIG_SLOT = 18      # region slot of the last ST_TRIGGER
C_THP_FALLBACK = 19   # huge fault wanted but no free block
C_PROMOTIONS = 20
C_SPLITS = 21
C_LAST_VMA = 22       # cache of the last VMA index hit
C_ZERO_CYCLES = 23    # part of fault cycles spent zeroing
C_FREE_CYCLES = 24
C_TLB_TICK = 25
C_SEGV_ADDR = 26
C_MADVISED_PAGES = 27
C_TLB_INVALIDATIONS = 28
C_NVMA = 29            # number of VMAs in the process's VMA arrays
C_COLLAPSE_CYCLES = 30  # cycles background threads spent collapsing this process's regions
C_REPEAT_DONE = 31    # repetitions of the current record already replayed (split at time limits)
C_HIST_LAT = 32       # memo: last fault latency (cycles) and its histogram bin
C_HIST_BIN = 33
C_FAST_RECORDS = 34  # records replay handed to fast_run (a diagnostic; in no table)
C_COMPACT_STALL = 35     # direct compactions in this process's faults (vmstat compact_stall)
C_COMPACT_MIGRATED = 36  # pages those compactions migrated (vmstat compact_migrated)
C_COMPACT_PENDING = 37   # 0, or 1 + cycles of the direct compaction done for the fault
                         # being retried (the retry adds them to its latency, no second try)
C_ZERO_RELEASED = 47  # zero-filled pages released by release_zero_pages (HawkEye remove.c)
C_DATA_CYCLES = 42   # part of user cycles spent waiting for DRAM (LLC misses x latency)
C_DATA_CPA = 43      # data cycles per access from the last CYCLES record
C_FAULTS_HUGE_ZERO = 38  # read faults that mapped the shared huge zero page
C_TRIG_LAT = 39      # latency (cycles) of the fault that fired the last ST_TRIGGER
C_HOT_LO = 40        # [C_HOT_LO, C_HOT_HI): virtual range the process's last fault cleared
C_HOT_HI = 41        # or copied into, its lines in the cache (machine.fault.cleared); empty
                     # (0, 0) when that fault cleared nothing
N_COUNTERS = 48

# fault-latency histogram: log-spaced bins, HIST_RATIO wide, from HIST_MIN_NS
HIST_MIN_NS = 100.0
HIST_RATIO = 1.01
HIST_BINS = 1400      # up to 100 ns * 1.01**1400 ~ 110 ms
