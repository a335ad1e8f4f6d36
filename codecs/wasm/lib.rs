//! The codecs' WebAssembly: LZ4 blocks (`lz4.rs`) and snappy raw blocks
//! (`snappy.rs`), both ways, and gzip compression (`deflate.rs`), built by
//! `deno task wasm` (tools/wasm.ts) into `codecs/_wasm_bytes.ts` and loaded
//! by `codecs/_wasm.ts`.
//!
//! The caller (TypeScript) places its input in this module's memory after
//! `reserve` and names where the output goes; every read and write stays
//! within the input and the output bound the caller reserved. No standard
//! library, no allocator, no crates.

#![no_std]

use core::ptr;

mod deflate;
mod lz4;
mod snappy;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

const PAGE: usize = 65536;

extern "C" {
    static __heap_base: u8;
}

/// Makes sure the memory holds `bytes` bytes from the heap's start and
/// returns that start, or 0 if the memory cannot grow that far.
#[no_mangle]
pub extern "C" fn reserve(bytes: usize) -> usize {
    let base = ptr::addr_of!(__heap_base) as usize;
    let base = (base + 15) & !15;
    let need = match base.checked_add(bytes) {
        Some(n) => n,
        None => return 0,
    };
    let have = core::arch::wasm32::memory_size(0) * PAGE;
    if need > have {
        let pages = (need - have + PAGE - 1) / PAGE;
        if core::arch::wasm32::memory_grow(0, pages) == usize::MAX {
            return 0;
        }
    }
    base
}

#[inline(always)]
pub(crate) unsafe fn read_u32(p: *const u8) -> u32 {
    ptr::read_unaligned(p as *const u32)
}

#[inline(always)]
pub(crate) unsafe fn read_u64(p: *const u8) -> u64 {
    ptr::read_unaligned(p as *const u64)
}

#[inline(always)]
pub(crate) unsafe fn write_u64(p: *mut u8, v: u64) {
    ptr::write_unaligned(p as *mut u64, v);
}

/// How many bytes from `a` and `b` on are equal, reading no further than
/// `limit` from `a`.
#[inline(always)]
pub(crate) unsafe fn common_length(mut a: *const u8, mut b: *const u8, limit: *const u8) -> usize {
    let start = a;
    while (limit as usize) - (a as usize) >= 8 {
        let diff = read_u64(a) ^ read_u64(b);
        if diff != 0 {
            return a as usize - start as usize + (diff.trailing_zeros() / 8) as usize;
        }
        a = a.add(8);
        b = b.add(8);
    }
    while a < limit && *a == *b {
        a = a.add(1);
        b = b.add(1);
    }
    a as usize - start as usize
}

/// Copies a match of `length` bytes from `offset` back to `to`, where `room`
/// bytes are writable (at least `length`, and `offset` bytes before `to`
/// are output already written: the decoders check both first).
#[inline(always)]
pub(crate) unsafe fn copy_match(mut to: *mut u8, offset: usize, length: usize, room: usize) {
    let mut from = to.sub(offset);
    let end = to.add(length);
    if offset >= 8 && room >= length + 8 {
        // 8 bytes a step: each read lies at least 8 bytes behind the write,
        // so it holds bytes already written; the last step may write up to
        // 7 bytes past the match, within the room, and those are written
        // over later.
        while to < end {
            write_u64(to, read_u64(from));
            from = from.add(8);
            to = to.add(8);
        }
    } else {
        // Near the end, or overlapping closely (a run): byte by byte, so
        // that each byte may be one this match just wrote.
        while to < end {
            *to = *from;
            from = from.add(1);
            to = to.add(1);
        }
    }
}
