import Glibc

/// Why a file could not be hashed; carries the path and the errno of the failing call.
public enum SHA256Error: Error, Equatable, CustomStringConvertible {
    case open(path: String, errno: Int32)
    case read(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .open(let path, let code): return "\(path): cannot open: \(String(cString: strerror(code)))"
        case .read(let path, let code): return "\(path): cannot read: \(String(cString: strerror(code)))"
        }
    }
}

/// Streaming SHA-256 (FIPS 180-4), so artifacts can be checksummed without Foundation or
/// loading them whole. Feed bytes with `update`, then call `finalize` once; `finalize` resets
/// the hasher so the value can be reused.
public struct SHA256 {
    /// The digest length in bytes.
    public static let digestCount = 32
    private static let blockCount = 64

    private var h0: UInt32 = 0x6a09_e667, h1: UInt32 = 0xbb67_ae85
    private var h2: UInt32 = 0x3c6e_f372, h3: UInt32 = 0xa54f_f53a
    private var h4: UInt32 = 0x510e_527f, h5: UInt32 = 0x9b05_688c
    private var h6: UInt32 = 0x1f83_d9ab, h7: UInt32 = 0x5be0_cd19
    /// A partial block lives in a tuple rather than an Array so that hashing never allocates.
    private var pending: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
        (0, 0, 0, 0, 0, 0, 0, 0)
    private var pendingCount = 0
    private var totalCount: UInt64 = 0

    public init() {}

    /// Adds raw bytes. Whole blocks are compressed straight from the caller's buffer.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var input = bytes.baseAddress, bytes.count > 0 else { return }
        var remaining = bytes.count
        totalCount &+= UInt64(remaining)

        if pendingCount > 0 {
            let take = min(Self.blockCount - pendingCount, remaining)
            let used = pendingCount
            withUnsafeMutableBytes(of: &pending) { buf in
                buf.baseAddress!.advanced(by: used).copyMemory(from: input, byteCount: take)
            }
            pendingCount += take
            input = input.advanced(by: take)
            remaining -= take
            guard pendingCount == Self.blockCount else { return }
            var block = pending  // a copy: compress() needs `self` exclusively
            withUnsafeBytes(of: &block) { compress($0.baseAddress!, blocks: 1) }
            pendingCount = 0
        }

        let whole = remaining / Self.blockCount
        if whole > 0 {
            compress(input, blocks: whole)
            input = input.advanced(by: whole * Self.blockCount)
            remaining -= whole * Self.blockCount
        }
        if remaining > 0 {
            withUnsafeMutableBytes(of: &pending) { buf in
                buf.baseAddress!.copyMemory(from: input, byteCount: remaining)
            }
            pendingCount = remaining
        }
    }

    /// Adds bytes from any collection; contiguous ones are hashed in place, others through a
    /// small stack buffer.
    public mutating func update<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        let done: Void? = bytes.withContiguousStorageIfAvailable { update(UnsafeRawBufferPointer($0)) }
        if done != nil { return }
        withUnsafeTemporaryAllocation(byteCount: 4096, alignment: 8) { scratch in
            var filled = 0
            for byte in bytes {
                scratch[filled] = byte
                filled += 1
                if filled == scratch.count {
                    update(UnsafeRawBufferPointer(scratch))
                    filled = 0
                }
            }
            if filled > 0 { update(UnsafeRawBufferPointer(rebasing: scratch[0..<filled])) }
        }
    }

    /// Pads, returns the 32-byte digest, and resets to the initial state.
    public mutating func finalize() -> [UInt8] {
        let bitLength = totalCount &* 8
        var tail: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                   UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        let used = pendingCount
        // One block if the 0x80 marker and the 8-byte length fit after the pending bytes.
        let tailBlocks = used + 9 <= Self.blockCount ? 1 : 2
        var block = pending
        withUnsafeMutableBytes(of: &tail) { t in
            withUnsafeBytes(of: &block) { p in
                t.baseAddress!.copyMemory(from: p.baseAddress!, byteCount: used)
            }
            t[used] = 0x80
            let end = tailBlocks * Self.blockCount
            for i in 0..<8 { t[end - 1 - i] = UInt8(truncatingIfNeeded: bitLength >> (8 * UInt64(i))) }
        }
        withUnsafeBytes(of: &tail) { compress($0.baseAddress!, blocks: tailBlocks) }

        var digest = [UInt8](repeating: 0, count: Self.digestCount)
        for (i, word) in [h0, h1, h2, h3, h4, h5, h6, h7].enumerated() {
            digest[4 * i] = UInt8(truncatingIfNeeded: word >> 24)
            digest[4 * i + 1] = UInt8(truncatingIfNeeded: word >> 16)
            digest[4 * i + 2] = UInt8(truncatingIfNeeded: word >> 8)
            digest[4 * i + 3] = UInt8(truncatingIfNeeded: word)
        }
        self = SHA256()
        return digest
    }

    /// The digest of a whole collection of bytes.
    public static func hash<C: Collection>(_ bytes: C) -> [UInt8] where C.Element == UInt8 {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// Lowercase hex digest of a file, read in 64 KiB chunks so size does not matter.
    public static func hexDigest(ofFileAt path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SHA256Error.open(path: path, errno: errno) }
        defer { close(fd) }
        let chunk = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
        defer { buffer.deallocate() }
        var hasher = SHA256()
        while true {
            let n = read(fd, buffer, chunk)
            if n < 0 {
                if errno == EINTR { continue }
                throw SHA256Error.read(path: path, errno: errno)
            }
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(start: buffer, count: n))
        }
        return hex(hasher.finalize())
    }

    /// Lowercase hex of any bytes (two characters per byte).
    public static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: - Compression

    private static let k: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]

    @inline(__always)
    private static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 &- n)) }

    /// Compresses `blocks` consecutive 64-byte blocks. The schedule and constants are reached
    /// through raw pointers so the hot loop has no bounds checks and no allocations.
    private mutating func compress(_ data: UnsafeRawPointer, blocks: Int) {
        var a0 = h0, b0 = h1, c0 = h2, d0 = h3, e0 = h4, f0 = h5, g0 = h6, hh0 = h7
        Self.k.withUnsafeBufferPointer { kb in
            let k = kb.baseAddress!
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { wb in
                let w = wb.baseAddress!
                var p = data
                for _ in 0..<blocks {
                    for i in 0..<16 {
                        w[i] = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
                    }
                    for i in 16..<64 {
                        let x = w[i - 15], y = w[i - 2]
                        let s0 = Self.rotr(x, 7) ^ Self.rotr(x, 18) ^ (x >> 3)
                        let s1 = Self.rotr(y, 17) ^ Self.rotr(y, 19) ^ (y >> 10)
                        w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
                    }
                    var a = a0, b = b0, c = c0, d = d0, e = e0, f = f0, g = g0, h = hh0
                    for i in 0..<64 {
                        let s1 = Self.rotr(e, 6) ^ Self.rotr(e, 11) ^ Self.rotr(e, 25)
                        let ch = (e & f) ^ (~e & g)
                        let t1 = h &+ s1 &+ ch &+ k[i] &+ w[i]
                        let s0 = Self.rotr(a, 2) ^ Self.rotr(a, 13) ^ Self.rotr(a, 22)
                        let maj = (a & b) ^ (a & c) ^ (b & c)
                        let t2 = s0 &+ maj
                        h = g; g = f; f = e; e = d &+ t1
                        d = c; c = b; b = a; a = t1 &+ t2
                    }
                    a0 = a0 &+ a; b0 = b0 &+ b; c0 = c0 &+ c; d0 = d0 &+ d
                    e0 = e0 &+ e; f0 = f0 &+ f; g0 = g0 &+ g; hh0 = hh0 &+ h
                    p = p.advanced(by: 64)
                }
            }
        }
        h0 = a0; h1 = b0; h2 = c0; h3 = d0; h4 = e0; h5 = f0; h6 = g0; h7 = hh0
    }
}

extension Array where Element == UInt8 {
    /// Lowercase hex of the bytes, e.g. for printing a SHA-256 digest.
    public var hexString: String { SHA256.hex(self) }
}
