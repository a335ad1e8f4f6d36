//! CRC-32C folding in WebAssembly SIMD, built by `deno task wasm`
//! (tools/wasm.ts) into `lib/protocol/_crc32c_fold_wasm.ts` and driven by
//! `lib/protocol/crc32c_fold.ts`.
//!
//! A CRC is the remainder of the message, as a polynomial over GF(2), modulo
//! the CRC's polynomial P. With y = x^128, one 16-byte chunk,
//!
//!   y^209 + y^144 + y^54 + y^39 + y^14 + 1 ≡ 0 (mod P, Castagnoli),
//!
//! found by a meet-in-the-middle search over sums of two powers of y. So a
//! chunk's bits may be moved 209 chunks towards the message's end, with a
//! copy 65, 155, 170 and 195 chunks on (209 minus each middle exponent),
//! without changing the remainder. In the reflected bit order of CRC-32C, a
//! chunk moved a whole number of chunks keeps each bit at its place in the
//! 128-bit lane, so moving is a plain XOR of 16-byte vectors: no shifts, no
//! tables, no carry-less multiply (which WebAssembly lacks).
//!
//! Folding every chunk but the last 209 this way leaves zeros in front and
//! the same remainder in the last 209 chunks (3,344 bytes), whose CRC the
//! caller computes with its tables. Read in order, chunk `j` receives from
//! the chunks 65, 155, 170, 195 and 209 before it once they are final, so
//! each chunk costs six loads, five XORs and a store. The working area holds
//! the 209 chunks before the current block, so every access is at a fixed
//! offset. No standard library, no allocator, no crates.

#![no_std]

use core::arch::wasm32::*;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// The degree of the multiple of P in y: chunks kept at the end.
const SPAN: usize = 209;
/// Chunks the caller copies in per call: 64 KiB.
const BLOCK: usize = 4096;

/// The SPAN chunks before the block, then the block.
static mut WORK: [u128; SPAN + BLOCK] = [0; SPAN + BLOCK];
/// The last SPAN chunks of the message, folded.
static mut TAIL: [u128; SPAN] = [0; SPAN];

/// Where the caller copies each block.
#[no_mangle]
pub extern "C" fn block() -> usize {
    unsafe { (core::ptr::addr_of_mut!(WORK) as *mut u128).add(SPAN) as usize }
}

/// Where the folded last SPAN chunks are, once the last block is folded.
#[no_mangle]
pub extern "C" fn tail() -> usize {
    core::ptr::addr_of_mut!(TAIL) as usize
}

/// Starts a message: nothing comes before its first chunk.
#[no_mangle]
pub extern "C" fn start() {
    let work = core::ptr::addr_of_mut!(WORK) as *mut v128;
    for i in 0..SPAN {
        unsafe { v128_store(work.add(i), u64x2_splat(0)) };
    }
}

/// Chunk `SPAN` from `at` with what the chunks before it moved into it.
#[inline(always)]
unsafe fn folded(at: *const v128) -> v128 {
    let mut v = v128_load(at.add(SPAN));
    v = v128_xor(v, v128_load(at.add(SPAN - 65)));
    v = v128_xor(v, v128_load(at.add(SPAN - 155)));
    v = v128_xor(v, v128_load(at.add(SPAN - 170)));
    v = v128_xor(v, v128_load(at.add(SPAN - 195)));
    v128_xor(v, v128_load(at))
}

/// Folds the `count` chunks (at most BLOCK) at `block()`, chunks `first` on
/// of a message of `total` chunks (more than SPAN). The last SPAN chunks of
/// the message go to `tail()`, and zero stays in their place, as they move
/// nothing on.
#[no_mangle]
pub extern "C" fn fold(count: usize, first: usize, total: usize) {
    let count = if count > BLOCK { BLOCK } else { count };
    let work = core::ptr::addr_of_mut!(WORK) as *mut v128;
    let out = core::ptr::addr_of_mut!(TAIL) as *mut v128;
    let kept = total.saturating_sub(SPAN); // chunks that move on
    let moving = if kept <= first {
        0
    } else if kept - first > count {
        count
    } else {
        kept - first
    };
    unsafe {
        for i in 0..moving {
            v128_store(work.add(SPAN + i), folded(work.add(i)));
        }
        for i in moving..count {
            let at = first + i - kept;
            if at < SPAN {
                v128_store(out.add(at), folded(work.add(i)));
            }
            v128_store(work.add(SPAN + i), u64x2_splat(0));
        }
        // The last SPAN chunks come before the next block.
        core::ptr::copy(work.add(count), work, SPAN);
    }
}
