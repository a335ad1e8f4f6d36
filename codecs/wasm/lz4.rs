//! LZ4 blocks for `codecs/lz4.ts`: compression, and decompression of
//! independent blocks.
//!
//! It writes the blocks of an LZ4 frame of independent blocks: each block's
//! 32-bit little-endian size (its high bit set when the block is stored as
//! it is because compression did not shrink it), then the block. The frame's
//! header, end mark and checksums are written in TypeScript.
//!
//! Written from the LZ4 block format description (github.com/lz4/lz4,
//! doc/lz4_Block_format.md): sequences of a token, literals, a 2-byte offset
//! and the match length, found through a hash table of 5-byte sequences.

use crate::{common_length, copy_match, read_u32, read_u64, write_u64};
use core::ptr;

/// The shortest match the format can express.
const MIN_MATCH: usize = 4;
/// The last 5 bytes of a block are always literals.
const LAST_LITERALS: usize = 5;
/// The last match must start at least 12 bytes before the end of the block.
const MATCH_FIND_LIMIT: usize = 12;
/// At most 2^13 positions of 16 bits (blocks are at most 64 KiB): 16 KiB, as
/// the reference compressor's default table. Smaller blocks use fewer, so
/// that clearing the table costs little next to compressing them.
const HASH_LOG: u32 = 13;
const MIN_HASH_LOG: u32 = 8;
/// After 2^6 misses in a row the search steps further, so that
/// incompressible data stays cheap.
const SKIP_TRIGGER: u32 = 6;
const STORED_BIT: u32 = 0x8000_0000;

static mut TABLE: [u16; 1 << HASH_LOG] = [0; 1 << HASH_LOG];

/// The most bytes `lz4_compress_blocks` writes for `len` input bytes in blocks of
/// `block_size`.
#[no_mangle]
pub extern "C" fn lz4_bound(len: usize, block_size: usize) -> usize {
    let blocks = (len + block_size - 1) / block_size;
    len + len / 255 + blocks * 20
}

/// Compresses `len` bytes at `src` into blocks of `block_size` bytes
/// (at most 64 KiB) at `dst`, which must have `output_bound(len, block_size)`
/// bytes, and returns how many bytes it wrote.
#[no_mangle]
pub unsafe extern "C" fn lz4_compress_blocks(
    src: *const u8,
    len: usize,
    block_size: usize,
    dst: *mut u8,
) -> usize {
    let mut out = dst;
    let mut start = 0;
    while start < len {
        let n = if len - start < block_size {
            len - start
        } else {
            block_size
        };
        let block = src.add(start);
        let written = compress_block(block, n, out.add(4));
        if written >= n {
            // Like Kafka's writer, store a block that compression does not shrink.
            ptr::copy_nonoverlapping(block, out.add(4), n);
            write_u32(out, n as u32 | STORED_BIT);
            out = out.add(4 + n);
        } else {
            write_u32(out, written as u32);
            out = out.add(4 + written);
        }
        start += n;
    }
    out as usize - dst as usize
}

#[inline(always)]
unsafe fn write_u32(p: *mut u8, v: u32) {
    ptr::write_unaligned(p as *mut u32, v.to_le());
}

/// The table slot of the 5 bytes at `p` (read as 8; the block's last 12
/// bytes are never hashed, so the read stays inside it), for a table of
/// `64 - shift` bits: 5 bytes tell sequences apart better than 4, and found
/// more and longer matches on Kafka batches.
#[inline(always)]
unsafe fn hash(p: *const u8, shift: u32) -> usize {
    ((read_u64(p) << 24).wrapping_mul(889_523_592_379) >> shift) as usize
}

/// Writes a length's continuation bytes (255 each, then the rest).
#[inline(always)]
unsafe fn write_length(mut out: *mut u8, mut rest: usize) -> *mut u8 {
    while rest >= 255 {
        *out = 255;
        out = out.add(1);
        rest -= 255;
    }
    *out = rest as u8;
    out.add(1)
}

/// Copies `n` literals; short runs in 16-byte steps (the output bound leaves
/// room for the overshoot, which later writes overwrite).
#[inline(always)]
unsafe fn copy_literals(src: *const u8, dst: *mut u8, n: usize, src_end: *const u8) {
    if n <= 16 && (src_end as usize) - (src as usize) >= 16 {
        ptr::write_unaligned(
            dst as *mut [u8; 16],
            ptr::read_unaligned(src as *const [u8; 16]),
        );
    } else {
        ptr::copy_nonoverlapping(src, dst, n);
    }
}

/// Writes one sequence: `literals` bytes from `anchor`, then a match of
/// `match_len` bytes `offset` back.
#[inline(always)]
unsafe fn write_sequence(
    mut out: *mut u8,
    anchor: *const u8,
    literals: usize,
    offset: usize,
    match_len: usize,
    src_end: *const u8,
) -> *mut u8 {
    let token = out;
    out = out.add(1);
    let rest = match_len - MIN_MATCH;
    let high = if literals >= 15 {
        out = write_length(out, literals - 15);
        15
    } else {
        literals
    };
    let low = if rest >= 15 { 15 } else { rest };
    *token = ((high << 4) | low) as u8;
    copy_literals(anchor, out, literals, src_end);
    out = out.add(literals);
    *out = offset as u8;
    *out.add(1) = (offset >> 8) as u8;
    out = out.add(2);
    if rest >= 15 {
        out = write_length(out, rest - 15);
    }
    out
}

/// Compresses one block of `len` bytes (at most 64 KiB) at `src` into `dst`
/// and returns its size, or `len` or more when it does not shrink.
unsafe fn compress_block(src: *const u8, len: usize, dst: *mut u8) -> usize {
    let end = src.add(len);
    let mut out = dst;
    let mut anchor = src;
    if len > MATCH_FIND_LIMIT {
        let log = (usize::BITS - len.leading_zeros()).clamp(MIN_HASH_LOG, HASH_LOG);
        let shift = 64 - log;
        let table = &mut (&mut *ptr::addr_of_mut!(TABLE))[..1 << log];
        table.fill(0);
        let search_limit = end.sub(MATCH_FIND_LIMIT);
        let match_limit = end.sub(LAST_LITERALS);
        let mut ip = src.add(1);
        'search: while ip <= search_limit {
            // Find a match: positions whose 4 bytes hash alike, checked
            // against the data. Position 0 is never in the table as such,
            // and a zero entry only costs one comparison.
            let mut misses: u32 = 1 << SKIP_TRIGGER;
            let mut candidate;
            loop {
                let sequence = read_u32(ip);
                let slot = hash(ip, shift);
                let pos = ip as usize - src as usize;
                candidate = src.add(*table.get_unchecked(slot) as usize);
                *table.get_unchecked_mut(slot) = pos as u16;
                if candidate < ip && read_u32(candidate) == sequence {
                    break;
                }
                ip = ip.add((misses >> SKIP_TRIGGER) as usize);
                misses += 1;
                if ip > search_limit {
                    break 'search;
                }
            }
            // Extend backwards over literals that match too.
            while ip > anchor && candidate > src && *ip.sub(1) == *candidate.sub(1) {
                ip = ip.sub(1);
                candidate = candidate.sub(1);
            }
            let match_len =
                MIN_MATCH + common_length(ip.add(MIN_MATCH), candidate.add(MIN_MATCH), match_limit);
            out = write_sequence(
                out,
                anchor,
                ip as usize - anchor as usize,
                ip as usize - candidate as usize,
                match_len,
                end,
            );
            if out as usize - dst as usize >= len {
                return len;
            }
            ip = ip.add(match_len);
            anchor = ip;
            if ip > search_limit {
                break;
            }
            // The position two back joins the table, as in the reference
            // compressor: the next search often starts right there.
            let back = ip.sub(2);
            *table.get_unchecked_mut(hash(back, shift)) = (back as usize - src as usize) as u16;
        }
    }
    // The rest are literals.
    let literals = end as usize - anchor as usize;
    if out as usize - dst as usize + 1 + literals / 255 + literals >= len {
        return len;
    }
    let token = out;
    out = out.add(1);
    if literals >= 15 {
        *token = 15 << 4;
        out = write_length(out, literals - 15);
    } else {
        *token = (literals << 4) as u8;
    }
    ptr::copy_nonoverlapping(anchor, out, literals);
    out = out.add(literals);
    out as usize - dst as usize
}

/// The block ends inside a length, literals or an offset.
const CUT_SHORT: i32 = -1;
/// The block decodes to more than the room it was given.
const TOO_LONG: i32 = -2;
/// A match's offset is 0 or reaches before the start of the block's output.
const BAD_OFFSET: i32 = -3;

/// Decodes the independent block of `len` bytes at `src` into `dst`, which
/// has room for `cap` bytes, and returns how many it wrote, or a negative
/// code: -1 the block ends inside an element, -2 it decodes to more than
/// `cap` bytes, -3 a match's offset is 0 or reaches before `dst`. Every
/// length and offset is checked before it is used: the block comes from the
/// network. The TypeScript decoder reports the details of a bad block.
/// Reads a length's continuation bytes from `src[*i..len]` (255 each, then
/// the last), returning their sum, or None if the block ends first.
#[inline(always)]
unsafe fn read_length(src: *const u8, len: usize, i: &mut usize) -> Option<usize> {
    let mut sum = 0;
    loop {
        if *i >= len {
            return None;
        }
        let byte = *src.add(*i) as usize;
        *i += 1;
        sum += byte;
        if byte != 255 {
            return Some(sum);
        }
    }
}

#[no_mangle]
pub unsafe extern "C" fn lz4_decompress_block(
    src: *const u8,
    len: usize,
    dst: *mut u8,
    cap: usize,
) -> i32 {
    let mut i = 0;
    let mut o = 0;
    loop {
        if i >= len {
            return CUT_SHORT;
        }
        let token = *src.add(i) as usize;
        i += 1;
        let mut literals = token >> 4;
        if literals == 15 {
            match read_length(src, len, &mut i) {
                Some(more) => literals += more,
                None => return CUT_SHORT,
            }
        }
        if len - i < literals {
            return CUT_SHORT;
        }
        if cap - o < literals {
            return TOO_LONG;
        }
        if literals <= 16 && len - i >= 16 && cap - o >= 16 {
            // Short literals as two 8-byte moves when both sides have the
            // room; the bytes past them are written over later.
            write_u64(dst.add(o), read_u64(src.add(i)));
            write_u64(dst.add(o + 8), read_u64(src.add(i + 8)));
        } else {
            ptr::copy_nonoverlapping(src.add(i), dst.add(o), literals);
        }
        i += literals;
        o += literals;
        // The last sequence has literals only.
        if i == len {
            return o as i32;
        }
        if len - i < 2 {
            return CUT_SHORT;
        }
        let offset = *src.add(i) as usize | (*src.add(i + 1) as usize) << 8;
        i += 2;
        if offset == 0 || offset > o {
            return BAD_OFFSET;
        }
        let mut length = token & 15;
        if length == 15 {
            match read_length(src, len, &mut i) {
                Some(more) => length += more,
                None => return CUT_SHORT,
            }
        }
        let length = length + MIN_MATCH;
        if cap - o < length {
            return TOO_LONG;
        }
        copy_match(dst.add(o), offset, length, cap - o);
        o += length;
    }
}
