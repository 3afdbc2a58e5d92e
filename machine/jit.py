"""How the machine's hot code is compiled.

``kernel`` is numba's ``njit`` with the compiled cache on and the reference-
counting runtime (NRT) off.  Kernels never allocate arrays: they only read
and write arrays handed to them, so they need no reference counting, and
without it each call avoids dozens of atomic increments (measured on this
machine class: a block-list push+remove pair fell from 280 ns to 5.5 ns).
"""
from __future__ import annotations

from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic


def kernel(fn=None, **options):
    """``@kernel`` or ``@kernel(inline="always")``."""
    options = {"cache": True, "_nrt": False, **options}
    if fn is not None:
        return njit(**options)(fn)
    return njit(**options)


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
