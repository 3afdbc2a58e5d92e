"""How the machine's hot code is compiled.

``kernel`` is numba's ``njit`` with the compiled cache on and the reference-
counting runtime (NRT) off.  Kernels never allocate arrays: they only read
and write arrays handed to them, so they need no reference counting, and
without it each call avoids dozens of atomic increments (measured on this
machine class: a block-list push+remove pair fell from 280 ns to 5.5 ns).

The cache of every kernel is keyed on the sources of all kernel modules, not
only its own file as numba does: a kernel inlines or links functions of the
other modules (replay carries copies of the fault path, the TLB and the
allocator), so a change in any of them must recompile it.
"""
from __future__ import annotations

from pathlib import Path

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from hpsim.numba_cache import keyed_cache, sources_stamp

_ROOT = Path(__file__).resolve().parent.parent
# every module whose code or constants end up in compiled kernels
KERNEL_SOURCES = ["machine/jit.py", "hpsim/units.py", "machine/constants.py", "machine/tlb.py",
                  "machine/physmem.py", "machine/pagetable.py", "machine/fault.py",
                  "machine/compaction.py", "machine/engine.py",
                  "workloads/trace.py"]


_Cache = keyed_cache(sources_stamp(_ROOT, KERNEL_SOURCES))


def kernel(fn=None, **options):
    """``@kernel`` or ``@kernel(inline="always")``.

    Kernels release the GIL (``nogil``): the trace's next chunk decodes on a
    second thread while the replay kernel runs (``TraceReader.columns_ahead``)."""
    options = {"_nrt": False, "nogil": True, **options}
    cache = options.pop("cache", True)

    def compile_(f):
        d = njit(**options)(f)
        if cache:
            d._cache = _Cache(d.py_func)   # what njit(cache=True) does, with our key
        return d
    return compile_(fn) if fn is not None else compile_


@intrinsic
def prefetch(typingctx, arr, idx):
    """Ask the CPU to bring arr[idx] into cache for writing (x86 PREFETCHW).

    A hint only: it never faults and changes no value.  The replay loop uses
    it for the page state of an access a few records ahead, whose cache miss
    (random traces over GiBs) would otherwise stall every iteration."""
    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]],
                                       wraparound=False)
        i8p = builder.bitcast(ptr, ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p.type, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        # (address, rw = 1 write, locality = 3 keep in all levels, cache = 1 data)
        builder.call(fn, [i8p, i32(1), i32(3), i32(1)])
        return context.get_dummy_value()
    return types.void(arr, idx), codegen
