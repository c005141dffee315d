"""A small Zstandard frame decoder (RFC 8878), standard-library Python.

Enough for session files (spec/session.md § 4.2): one frame, no dictionary,
no skippable frames, no trailing bytes; it stops with an error as soon as
the output would exceed `limit`. Written for correctness on small inputs,
not speed (bit streams are Python integers).
"""

from __future__ import annotations

import struct


class ZstdError(Exception):
    pass


MAGIC = 0xFD2FB528
BLOCK_MAX = 128 * 1024

LL_DEFAULT = [4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, 2, 2, 2, 2,
              2, 2, 2, 2, 3, 2, 1, 1, 1, 1, 1, -1, -1, -1, -1]
ML_DEFAULT = [1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
              1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
              1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1]
OF_DEFAULT = [1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
              1, 1, 1, -1, -1, -1, -1, -1]
LL_BASE = list(range(16)) + [16, 18, 20, 22, 24, 28, 32, 40, 48, 64, 128,
                              256, 512, 1024, 2048, 4096, 8192, 16384,
                              32768, 65536]
LL_BITS = [0] * 16 + [1, 1, 1, 1, 2, 2, 3, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13,
                      14, 15, 16]
ML_BASE = [i + 3 for i in range(32)] + [35, 37, 39, 41, 43, 47, 51, 59, 67,
                                         83, 99, 131, 259, 515, 1027, 2051,
                                         4099, 8195, 16387, 32771, 65539]
ML_BITS = [0] * 32 + [1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 7, 8, 9, 10, 11, 12,
                      13, 14, 15, 16]

M64 = (1 << 64) - 1
P1, P2, P3 = 11400714785074694791, 14029467366897019727, 1609587929392839161
P4, P5 = 9650029242287828579, 2870177450012600261


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def _round(acc, lane):
    acc = (acc + lane * P2) & M64
    return (_rotl(acc, 31) * P1) & M64


def _merge(acc, val):
    acc ^= _round(0, val)
    return (acc * P1 + P4) & M64


def xxh64(data, seed=0):
    n = len(data)
    i = 0
    if n >= 32:
        v = [(seed + P1 + P2) & M64, (seed + P2) & M64, seed, (seed - P1) & M64]
        while i + 32 <= n:
            for k in range(4):
                v[k] = _round(v[k], struct.unpack_from("<Q", data, i + 8 * k)[0])
            i += 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & M64
        for k in range(4):
            h = _merge(h, v[k])
    else:
        h = (seed + P5) & M64
    h = (h + n) & M64
    while i + 8 <= n:
        h ^= _round(0, struct.unpack_from("<Q", data, i)[0])
        h = (_rotl(h, 27) * P1 + P4) & M64
        i += 8
    if i + 4 <= n:
        h ^= (struct.unpack_from("<I", data, i)[0] * P1) & M64
        h = (_rotl(h, 23) * P2 + P3) & M64
        i += 4
    while i < n:
        h ^= (data[i] * P5) & M64
        h = (_rotl(h, 11) * P1) & M64
        i += 1
    h ^= h >> 33
    h = (h * P2) & M64
    h ^= h >> 29
    h = (h * P3) & M64
    h ^= h >> 32
    return h


class BackBits:
    """A backward bit stream (RFC 8878 § 4.1): read from the end."""

    def __init__(self, b):
        if not b or b[-1] == 0:
            raise ZstdError("bit stream without its end marker")
        self.v = int.from_bytes(b, "little")
        self.pos = len(b) * 8 - 8 + b[-1].bit_length() - 1

    def read(self, n):
        if n == 0:
            return 0
        self.pos -= n
        if self.pos >= 0:
            return (self.v >> self.pos) & ((1 << n) - 1)
        return (self.v << -self.pos) & ((1 << n) - 1)

    def peek(self, n):
        p = self.pos - n
        if p >= 0:
            return (self.v >> p) & ((1 << n) - 1)
        return (self.v << -p) & ((1 << n) - 1)


def _hibit(x):
    return x.bit_length() - 1


def read_fse_description(src, pos, end, max_al, max_sym):
    """An FSE table description (§ 4.1.1): (probabilities, AL, new pos)."""
    b = src[pos:end]
    if not b:
        raise ZstdError("missing FSE table")
    v = int.from_bytes(b, "little")
    nbits = len(b) * 8
    bit = 0

    def rd(n):
        nonlocal bit
        if bit + n > nbits:
            raise ZstdError("FSE table description cut short")
        x = (v >> bit) & ((1 << n) - 1)
        bit += n
        return x

    al = rd(4) + 5
    if al > max_al:
        raise ZstdError("FSE accuracy log too large")
    remaining = 1 << al
    probs = []
    while remaining > 0 and len(probs) <= max_sym:
        bits = _hibit(remaining + 1) + 1
        val = rd(bits)
        lower = (1 << (bits - 1)) - 1
        threshold = (1 << bits) - 1 - (remaining + 1)
        if (val & lower) < threshold:
            bit -= 1
            val &= lower
        elif val > lower:
            val -= threshold
        p = val - 1
        remaining -= -p if p < 0 else p
        probs.append(p)
        if p == 0:
            while True:
                rep = rd(2)
                probs.extend([0] * rep)
                if rep != 3:
                    break
    if remaining != 0 or len(probs) > max_sym + 1:
        raise ZstdError("bad FSE table description")
    return probs, al, pos + (bit + 7) // 8


class FSE:
    def __init__(self, probs, al):
        size = 1 << al
        sym = [0] * size
        state_desc = [0] * len(probs)
        high = size
        for s, p in enumerate(probs):
            if p == -1:
                high -= 1
                sym[high] = s
                state_desc[s] = 1
        step = (size >> 1) + (size >> 3) + 3
        mask = size - 1
        pos = 0
        for s, p in enumerate(probs):
            if p <= 0:
                continue
            state_desc[s] = p
            for _ in range(p):
                sym[pos] = s
                pos = (pos + step) & mask
                while pos >= high:
                    pos = (pos + step) & mask
        if pos != 0:
            raise ZstdError("bad FSE distribution")
        self.al = al
        self.sym = sym
        self.nb = [0] * size
        self.base = [0] * size
        for i in range(size):
            s = sym[i]
            nxt = state_desc[s]
            state_desc[s] += 1
            self.nb[i] = al - _hibit(nxt)
            self.base[i] = (nxt << self.nb[i]) - size

    @staticmethod
    def rle(symbol):
        t = FSE.__new__(FSE)
        t.al = 0
        t.sym = [symbol]
        t.nb = [0]
        t.base = [0]
        return t

    def init(self, bs):
        return bs.read(self.al)

    def update(self, state, bs):
        return self.base[state] + bs.read(self.nb[state])


class Huffman:
    def __init__(self, weights):
        if not weights or len(weights) > 255:
            raise ZstdError("bad Huffman weights")
        total = sum(1 << (w - 1) for w in weights if w > 0)
        if total == 0:
            raise ZstdError("bad Huffman weights")
        maxbits = _hibit(total) + 1
        rest = (1 << maxbits) - total
        if rest & (rest - 1):
            raise ZstdError("Huffman weights do not sum to a power of two")
        weights = list(weights) + [_hibit(rest) + 1]
        if maxbits > 11:
            raise ZstdError("Huffman code too long")
        self.maxbits = maxbits
        size = 1 << maxbits
        self.sym = [0] * size
        self.nb = [0] * size
        pos = 0
        for w in range(1, maxbits + 1):
            for s, ws in enumerate(weights):
                if ws != w:
                    continue
                n = 1 << (w - 1)
                for i in range(pos, pos + n):
                    self.sym[i] = s
                    self.nb[i] = maxbits + 1 - w
                pos += n
        if pos != size:
            raise ZstdError("bad Huffman table")

    def decode_stream(self, b, count):
        bs = BackBits(b)
        out = bytearray()
        for _ in range(count):
            k = bs.peek(self.maxbits)
            out.append(self.sym[k])
            bs.pos -= self.nb[k]
        if bs.pos != 0:
            raise ZstdError("Huffman stream not consumed exactly")
        return bytes(out)


def read_huffman(src, pos, end):
    if pos >= end:
        raise ZstdError("missing Huffman tree")
    hb = src[pos]
    pos += 1
    if hb < 128:
        stop = pos + hb
        if stop > end:
            raise ZstdError("Huffman tree cut short")
        probs, al, p2 = read_fse_description(src, pos, stop, 6, 255)
        table = FSE(probs, al)
        bs = BackBits(src[p2:stop])
        s1 = table.init(bs)
        s2 = table.init(bs)
        w = []
        while True:
            if len(w) > 255:
                raise ZstdError("too many Huffman weights")
            w.append(table.sym[s1])
            s1 = table.update(s1, bs)
            if bs.pos < 0:
                w.append(table.sym[s2])
                break
            w.append(table.sym[s2])
            s2 = table.update(s2, bs)
            if bs.pos < 0:
                w.append(table.sym[s1])
                break
        return Huffman(w), stop
    n = hb - 127
    nbytes = (n + 1) // 2
    if pos + nbytes > end:
        raise ZstdError("Huffman weights cut short")
    w = []
    for i in range(n):
        byte = src[pos + i // 2]
        w.append(byte >> 4 if i % 2 == 0 else byte & 15)
    return Huffman(w), pos + nbytes


class State:
    def __init__(self, window):
        self.window = window
        self.huff = None
        self.ll = self.of = self.ml = None
        self.rep = [1, 4, 8]


def decode_literals(src, pos, end, st):
    b0 = src[pos]
    ltype = b0 & 3
    sf = (b0 >> 2) & 3
    if ltype in (0, 1):
        if sf in (0, 2):
            size, hl = b0 >> 3, 1
        elif sf == 1:
            size, hl = (b0 >> 4) + (src[pos + 1] << 4), 2
        else:
            size, hl = (b0 >> 4) + (src[pos + 1] << 4) + (src[pos + 2] << 12), 3
        pos += hl
        if ltype == 0:
            if pos + size > end:
                raise ZstdError("raw literals cut short")
            return src[pos:pos + size], pos + size
        if pos >= end:
            raise ZstdError("RLE literals cut short")
        return bytes([src[pos]]) * size, pos + 1
    if sf == 0:
        streams, hl, bits = 1, 3, 10
    elif sf == 1:
        streams, hl, bits = 4, 3, 10
    elif sf == 2:
        streams, hl, bits = 4, 4, 14
    else:
        streams, hl, bits = 4, 5, 18
    if pos + hl > end:
        raise ZstdError("literals header cut short")
    h = int.from_bytes(src[pos:pos + hl], "little")
    regen = (h >> 4) & ((1 << bits) - 1)
    comp = (h >> (4 + bits)) & ((1 << bits) - 1)
    pos += hl
    stop = pos + comp
    if stop > end:
        raise ZstdError("compressed literals cut short")
    if regen > BLOCK_MAX:
        raise ZstdError("too many literals")
    if ltype == 2:
        st.huff, pos = read_huffman(src, pos, stop)
    elif st.huff is None:
        raise ZstdError("treeless literals without a previous tree")
    if streams == 1:
        return st.huff.decode_stream(src[pos:stop], regen), stop
    if pos + 6 > stop:
        raise ZstdError("jump table cut short")
    s1, s2, s3 = struct.unpack_from("<HHH", src, pos)
    pos += 6
    each = (regen + 3) // 4
    last = regen - 3 * each
    if last < 0 or pos + s1 + s2 + s3 > stop:
        raise ZstdError("bad jump table")
    out = b""
    for size, cnt in ((s1, each), (s2, each), (s3, each),
                      (stop - pos - s1 - s2 - s3, last)):
        out += st.huff.decode_stream(src[pos:pos + size], cnt)
        pos += size
    return out, stop


def _table(src, pos, end, mode, default, default_al, max_al, max_sym, prev):
    if mode == 0:
        return FSE(default, default_al), pos
    if mode == 1:
        if pos >= end:
            raise ZstdError("RLE symbol missing")
        if src[pos] > max_sym:
            raise ZstdError("RLE symbol out of range")
        return FSE.rle(src[pos]), pos + 1
    if mode == 2:
        probs, al, pos = read_fse_description(src, pos, end, max_al, max_sym)
        return FSE(probs, al), pos
    if prev is None:
        raise ZstdError("repeat mode without a previous table")
    return prev, pos


def decode_block(src, pos, end, st, out, limit):
    lits, pos = decode_literals(src, pos, end, st)
    if pos >= end:
        raise ZstdError("sequences section missing")
    b0 = src[pos]
    if b0 == 0:
        nseq, pos = 0, pos + 1
    elif b0 < 128:
        nseq, pos = b0, pos + 1
    elif b0 < 255:
        nseq, pos = ((b0 - 128) << 8) + src[pos + 1], pos + 2
    else:
        nseq, pos = src[pos + 1] + (src[pos + 2] << 8) + 0x7F00, pos + 3
    if nseq == 0:
        if pos != end:
            raise ZstdError("bytes after an empty sequences section")
        if len(out) + len(lits) > limit:
            raise ZstdError("output exceeds the expected length")
        out += lits
        return
    if pos >= end:
        raise ZstdError("compression modes missing")
    modes = src[pos]
    pos += 1
    if modes & 3:
        raise ZstdError("reserved bits in compression modes")
    st.ll, pos = _table(src, pos, end, modes >> 6, LL_DEFAULT, 6, 9, 35, st.ll)
    st.of, pos = _table(src, pos, end, (modes >> 4) & 3, OF_DEFAULT, 5, 8, 31, st.of)
    st.ml, pos = _table(src, pos, end, (modes >> 2) & 3, ML_DEFAULT, 6, 9, 52, st.ml)
    bs = BackBits(src[pos:end])
    sll, sof, sml = st.ll.init(bs), st.of.init(bs), st.ml.init(bs)
    li = 0
    rep = st.rep
    for i in range(nseq):
        ofc, mlc, llc = st.of.sym[sof], st.ml.sym[sml], st.ll.sym[sll]
        if ofc > 31 or mlc > 52 or llc > 35:
            raise ZstdError("bad sequence code")
        ofv = (1 << ofc) + bs.read(ofc)
        ml = ML_BASE[mlc] + bs.read(ML_BITS[mlc])
        ll = LL_BASE[llc] + bs.read(LL_BITS[llc])
        if ofv > 3:
            off = ofv - 3
            rep[:] = [off, rep[0], rep[1]]
        else:
            idx = ofv - 1 + (1 if ll == 0 else 0)
            if idx == 0:
                off = rep[0]
            elif idx == 1:
                off = rep[1]
                rep[:] = [off, rep[0], rep[2]]
            else:
                off = rep[2] if idx == 2 else rep[0] - 1
                rep[:] = [off, rep[0], rep[1]]
        if i != nseq - 1:
            sll = st.ll.update(sll, bs)
            sml = st.ml.update(sml, bs)
            sof = st.of.update(sof, bs)
        if li + ll > len(lits):
            raise ZstdError("sequence uses more literals than decoded")
        if len(out) + ll + ml > limit:
            raise ZstdError("output exceeds the expected length")
        out += lits[li:li + ll]
        li += ll
        if off == 0 or off > len(out) or off > st.window:
            raise ZstdError("match offset out of range")
        start = len(out) - off
        for k in range(ml):
            out.append(out[start + k])
    if bs.pos != 0:
        raise ZstdError("sequence bit stream not consumed exactly")
    if len(out) + len(lits) - li > limit:
        raise ZstdError("output exceeds the expected length")
    out += lits[li:]


def decode_frame(src, limit):
    """Decode exactly one Zstandard frame that is all of src; refuse output
    beyond limit bytes, and a Frame_Content_Size other than limit."""
    src = bytes(src)
    if len(src) < 5 or struct.unpack_from("<I", src, 0)[0] != MAGIC:
        raise ZstdError("not a Zstandard frame")
    fhd = src[4]
    fcs_flag, single, checksum, dict_flag = fhd >> 6, (fhd >> 5) & 1, (fhd >> 2) & 1, fhd & 3
    if fhd & 8:
        raise ZstdError("reserved bit set in the frame header")
    pos = 5
    window = None
    if not single:
        if pos >= len(src):
            raise ZstdError("frame header cut short")
        wd = src[pos]
        pos += 1
        base = 1 << (10 + (wd >> 3))
        window = base + (base >> 3) * (wd & 7)
    dsize = [0, 1, 2, 4][dict_flag]
    if dsize:
        if int.from_bytes(src[pos:pos + dsize], "little") != 0:
            raise ZstdError("dictionaries are not supported")
        pos += dsize
    fsize = [1 if single else 0, 2, 4, 8][fcs_flag]
    fcs = None
    if fsize:
        if pos + fsize > len(src):
            raise ZstdError("frame header cut short")
        fcs = int.from_bytes(src[pos:pos + fsize], "little")
        if fsize == 2:
            fcs += 256
        pos += fsize
    if single:
        window = fcs
    if fcs is not None and fcs != limit:
        raise ZstdError("Frame_Content_Size %d, expected %d" % (fcs, limit))
    st = State(window)
    out = bytearray()
    while True:
        if pos + 3 > len(src):
            raise ZstdError("block header cut short")
        bh = int.from_bytes(src[pos:pos + 3], "little")
        pos += 3
        last, btype, bsize = bh & 1, (bh >> 1) & 3, bh >> 3
        if btype == 3:
            raise ZstdError("reserved block type")
        if bsize > BLOCK_MAX:
            raise ZstdError("block too large")
        if btype == 0:
            if pos + bsize > len(src):
                raise ZstdError("raw block cut short")
            if len(out) + bsize > limit:
                raise ZstdError("output exceeds the expected length")
            out += src[pos:pos + bsize]
            pos += bsize
        elif btype == 1:
            if pos + 1 > len(src):
                raise ZstdError("RLE block cut short")
            if len(out) + bsize > limit:
                raise ZstdError("output exceeds the expected length")
            out += bytes([src[pos]]) * bsize
            pos += 1
        else:
            if pos + bsize > len(src):
                raise ZstdError("compressed block cut short")
            if bsize == 0:
                raise ZstdError("empty compressed block")
            decode_block(src, pos, pos + bsize, st, out, limit)
            pos += bsize
        if last:
            break
    if checksum:
        if pos + 4 > len(src):
            raise ZstdError("content checksum cut short")
        if struct.unpack_from("<I", src, pos)[0] != xxh64(bytes(out)) & 0xFFFFFFFF:
            raise ZstdError("content checksum mismatch")
        pos += 4
    if pos != len(src):
        raise ZstdError("bytes after the frame")
    if len(out) != limit:
        raise ZstdError("decodes to %d bytes, expected %d" % (len(out), limit))
    return bytes(out)
