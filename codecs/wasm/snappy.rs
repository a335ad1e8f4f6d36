//! Snappy raw blocks for `codecs/snappy.ts`: compression into the chunks of
//! the xerial framing (each chunk's big-endian 32-bit size, then a raw block
//! of at most 64 KiB of input), and decompression of one raw block.
//!
//! Written from the snappy format description (github.com/google/snappy,
//! format_description.txt): a varint of the uncompressed length, then
//! literals (tag 00) and copies with 1-, 2- or 4-byte offsets (tags 01, 10,
//! 11). The compressor finds matches through a hash table of 4-byte
//! sequences and writes only literals and 1- and 2-byte-offset copies, as
//! the reference compressor does.
//!
//! Decompression reads bytes from the network: every length and offset is
//! checked against the input, the output written so far and the declared
//! length before it is used, and a bad one ends it with a negative error
//! code (see `snappy_decompress`), never a read or write outside the two.

use crate::{common_length, copy_match, read_u32, read_u64, write_u64};
use core::ptr;

/// At most 2^14 positions of 16 bits (chunks are at most 64 KiB); smaller
/// chunks use fewer, so that clearing the table costs little.
const HASH_LOG: u32 = 14;
const MIN_HASH_LOG: u32 = 8;
/// Inputs shorter than this are one literal; matching stops this far from
/// the end, so that the 4- and 8-byte reads stay inside the input.
const INPUT_MARGIN: usize = 15;
/// After 2^5 misses in a row the search steps further.
const SKIP_TRIGGER: u32 = 5;

static mut TABLE: [u16; 1 << HASH_LOG] = [0; 1 << HASH_LOG];

/// The most bytes a raw block of `len` input bytes takes.
const fn raw_bound(len: usize) -> usize {
    32 + len + len / 6
}

/// The most bytes `snappy_compress_chunks` writes for `len` input bytes in
/// chunks of `chunk_size`.
#[no_mangle]
pub extern "C" fn snappy_bound(len: usize, chunk_size: usize) -> usize {
    let chunks = (len + chunk_size - 1) / chunk_size;
    raw_bound(len) + chunks * (4 + 32)
}

/// Compresses `len` bytes at `src` in chunks of `chunk_size` bytes (at most
/// 64 KiB) into `dst`, which must have `snappy_bound(len, chunk_size)` bytes,
/// each chunk as its big-endian 32-bit size and a raw block, and returns how
/// many bytes it wrote.
#[no_mangle]
pub unsafe extern "C" fn snappy_compress_chunks(
    src: *const u8,
    len: usize,
    chunk_size: usize,
    dst: *mut u8,
) -> usize {
    let mut out = dst;
    let mut start = 0;
    while start < len {
        let n = if len - start < chunk_size {
            len - start
        } else {
            chunk_size
        };
        let written = compress_raw(src.add(start), n, out.add(4));
        ptr::write_unaligned(out as *mut u32, (written as u32).to_be());
        out = out.add(4 + written);
        start += n;
    }
    out as usize - dst as usize
}

#[inline(always)]
unsafe fn write_varint(mut out: *mut u8, mut value: usize) -> *mut u8 {
    while value >= 0x80 {
        *out = (value as u8) | 0x80;
        out = out.add(1);
        value >>= 7;
    }
    *out = value as u8;
    out.add(1)
}

/// Writes `n` (at least 1) literals from `src`.
#[inline(always)]
unsafe fn write_literal(mut out: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    let rest = n - 1;
    if rest < 60 {
        *out = (rest << 2) as u8;
        out = out.add(1);
    } else {
        let bytes = if rest < 1 << 8 {
            1
        } else if rest < 1 << 16 {
            2
        } else if rest < 1 << 24 {
            3
        } else {
            4
        };
        *out = ((59 + bytes) << 2) as u8;
        out = out.add(1);
        for i in 0..bytes {
            *out.add(i) = (rest >> (8 * i)) as u8;
        }
        out = out.add(bytes);
    }
    ptr::copy_nonoverlapping(src, out, n);
    out.add(n)
}

/// Writes `n` (at least 1) literals from `src` that the input follows with
/// at least `16 - n` more bytes, into an output with 16 bytes of room: up
/// to 16 as two 8-byte moves (the bytes past them are written over next),
/// more through `write_literal`. Most literals between matches are short,
/// and a move of a length known only at run time costs more than both.
#[inline(always)]
unsafe fn write_short_literal(out: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if n > 16 {
        return write_literal(out, src, n);
    }
    *out = ((n - 1) << 2) as u8;
    write_u64(out.add(1), read_u64(src));
    write_u64(out.add(9), read_u64(src.add(8)));
    out.add(1 + n)
}

/// Writes a copy of `len` (at least 4) bytes from `offset` (at most 65535)
/// back, as 2-byte-offset copies of up to 64 bytes and, when short and near
/// enough, one 1-byte-offset copy.
#[inline(always)]
unsafe fn write_copy(mut out: *mut u8, offset: usize, mut len: usize) -> *mut u8 {
    while len >= 68 {
        out = write_copy2(out, offset, 64);
        len -= 64;
    }
    if len > 64 {
        // Leaves at least 4 for the last copy.
        out = write_copy2(out, offset, 60);
        len -= 60;
    }
    if len >= 12 || offset >= 2048 {
        return write_copy2(out, offset, len);
    }
    *out = (1 | ((len - 4) << 2) | ((offset >> 8) << 5)) as u8;
    *out.add(1) = offset as u8;
    out.add(2)
}

#[inline(always)]
unsafe fn write_copy2(out: *mut u8, offset: usize, len: usize) -> *mut u8 {
    *out = (2 | ((len - 1) << 2)) as u8;
    *out.add(1) = offset as u8;
    *out.add(2) = (offset >> 8) as u8;
    out.add(3)
}

#[inline(always)]
fn hash(sequence: u32, shift: u32) -> usize {
    (sequence.wrapping_mul(0x1e35_a7bd) >> shift) as usize
}

/// Compresses `n` bytes (at most 64 KiB) at `src` into one raw block at
/// `dst` and returns its size.
unsafe fn compress_raw(src: *const u8, n: usize, dst: *mut u8) -> usize {
    let mut out = write_varint(dst, n);
    let end = src.add(n);
    let mut next_emit = src;
    if n >= INPUT_MARGIN {
        let log = (usize::BITS - n.leading_zeros()).clamp(MIN_HASH_LOG, HASH_LOG);
        let shift = 32 - log;
        let table = &mut (&mut *ptr::addr_of_mut!(TABLE))[..1 << log];
        table.fill(0);
        let limit = end.sub(INPUT_MARGIN);
        let mut ip = src.add(1);
        'search: while ip <= limit {
            let mut misses: u32 = 1 << SKIP_TRIGGER;
            let mut candidate;
            let mut sequence;
            loop {
                sequence = read_u32(ip);
                let slot = hash(sequence, shift);
                candidate = src.add(*table.get_unchecked(slot) as usize);
                *table.get_unchecked_mut(slot) = (ip as usize - src as usize) as u16;
                if candidate < ip && read_u32(candidate) == sequence {
                    break;
                }
                ip = ip.add((misses >> SKIP_TRIGGER) as usize);
                misses += 1;
                if ip > limit {
                    break 'search;
                }
            }
            if ip > next_emit {
                // ip <= limit: 15 input bytes follow it, and the bound
                // leaves the output more than 16 bytes of room.
                out = write_short_literal(out, next_emit, ip as usize - next_emit as usize);
            }
            // Copies follow one another while the position after each
            // matches again.
            loop {
                let len = 4 + common_length(ip.add(4), candidate.add(4), end);
                out = write_copy(out, ip as usize - candidate as usize, len);
                ip = ip.add(len);
                next_emit = ip;
                if ip > limit {
                    break 'search;
                }
                let back = ip.sub(1);
                *table.get_unchecked_mut(hash(read_u32(back), shift)) =
                    (back as usize - src as usize) as u16;
                sequence = read_u32(ip);
                let slot = hash(sequence, shift);
                candidate = src.add(*table.get_unchecked(slot) as usize);
                *table.get_unchecked_mut(slot) = (ip as usize - src as usize) as u16;
                if !(candidate < ip && read_u32(candidate) == sequence) {
                    break;
                }
            }
            ip = ip.add(1);
        }
    }
    if next_emit < end {
        out = write_literal(out, next_emit, end as usize - next_emit as usize);
    }
    out as usize - dst as usize
}

/// The input ends inside an element.
const CUT_SHORT: i32 = -1;
/// A literal or copy would write past the declared length.
const TOO_LONG: i32 = -2;
/// A copy's offset is 0 or reaches before the start of the output.
const BAD_OFFSET: i32 = -3;
/// The elements end before the declared length is written.
const TOO_SHORT: i32 = -4;

/// Decompresses the elements of a raw block (the `len` bytes at `src`, after
/// its length varint) into `dst`, which has exactly the `expected` bytes the
/// block declares. Returns `expected`, or a negative code: -1 the input ends
/// inside an element, -2 an element writes past `expected`, -3 a copy's
/// offset is 0 or reaches before the output's start, -4 the elements end
/// before `expected` bytes.
#[no_mangle]
pub unsafe extern "C" fn snappy_decompress(
    src: *const u8,
    len: usize,
    dst: *mut u8,
    expected: usize,
) -> i32 {
    let mut i = 0;
    let mut o = 0;
    while i < len {
        let tag = *src.add(i) as usize;
        i += 1;
        let (length, offset) = match tag & 3 {
            0 => {
                let mut length = tag >> 2;
                if length >= 60 {
                    let bytes = length - 59;
                    if len - i < bytes {
                        return CUT_SHORT;
                    }
                    length = 0;
                    for k in 0..bytes {
                        length |= (*src.add(i + k) as usize) << (8 * k);
                    }
                    i += bytes;
                }
                // A 4-byte length of 2^32 - 1 would wrap around.
                let length = match length.checked_add(1) {
                    Some(length) => length,
                    None => return CUT_SHORT,
                };
                if len - i < length {
                    return CUT_SHORT;
                }
                if expected - o < length {
                    return TOO_LONG;
                }
                if length <= 16 && len - i >= 16 && expected - o >= 16 {
                    // Short literals as two 8-byte moves, when both sides
                    // have the room; the bytes past `length` are written
                    // over later.
                    let from = src.add(i);
                    let to = dst.add(o);
                    write_u64(to, read_u64(from));
                    write_u64(to.add(8), read_u64(from.add(8)));
                } else {
                    ptr::copy_nonoverlapping(src.add(i), dst.add(o), length);
                }
                i += length;
                o += length;
                continue;
            }
            1 => {
                if i >= len {
                    return CUT_SHORT;
                }
                let offset = ((tag >> 5) << 8) | *src.add(i) as usize;
                i += 1;
                (4 + ((tag >> 2) & 7), offset)
            }
            2 => {
                if len - i < 2 {
                    return CUT_SHORT;
                }
                let offset = *src.add(i) as usize | (*src.add(i + 1) as usize) << 8;
                i += 2;
                ((tag >> 2) + 1, offset)
            }
            _ => {
                if len - i < 4 {
                    return CUT_SHORT;
                }
                let offset = u32::from_le(read_u32(src.add(i))) as usize;
                i += 4;
                ((tag >> 2) + 1, offset)
            }
        };
        if offset == 0 || offset > o {
            return BAD_OFFSET;
        }
        if expected - o < length {
            return TOO_LONG;
        }
        copy_match(dst.add(o), offset, length, expected - o);
        o += length;
    }
    if o != expected {
        return TOO_SHORT;
    }
    expected as i32
}
