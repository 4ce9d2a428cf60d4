/// Newlines counted eight bytes at a time (a word's zero bytes found with integer arithmetic,
/// no SIMD types needed): how a long log is copied without looking at each byte alone.
enum ByteScan {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let highs: UInt64 = 0x8080_8080_8080_8080

    /// The high bit of each byte of `w` that is zero, exactly (no carry crosses a byte).
    @inline(__always)
    private static func zeroBytes(_ w: UInt64) -> UInt64 {
        let low: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        return ~(((w & low) &+ low) | w | low)
    }

    @inline(__always)
    private static func newlines(_ w: UInt64) -> UInt64 { zeroBytes(w ^ (0x0A &* ones)) }

    /// How many newlines `bytes` holds, whether all its bytes are ASCII, whether one is a CR.
    static func scan(_ bytes: UnsafeBufferPointer<UInt8>) -> (newlines: Int, ascii: Bool, cr: Bool) {
        let raw = UnsafeRawBufferPointer(bytes)
        var lines = 0, i = 0
        var any: UInt64 = 0, crs: UInt64 = 0
        while i + 8 <= raw.count {
            let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            any |= w
            crs |= zeroBytes(w ^ (0x0D &* ones))
            lines += newlines(w).nonzeroBitCount
            i += 8
        }
        while i < raw.count {
            let b = raw[i]
            any |= UInt64(b)
            if b == 0x0D { crs = 1 }
            if b == 0x0A { lines += 1 }
            i += 1
        }
        return (lines, any & highs == 0, crs != 0)
    }

    /// The high bit of each byte of `w` that is `byte`, exact up to the lowest (a borrow only
    /// marks bytes above it): all a search for the first needs, in fewer steps.
    @inline(__always)
    static func bytesUpToFirst(_ w: UInt64, equalTo byte: UInt8) -> UInt64 {
        let x = w ^ (UInt64(byte) &* ones)
        return (x &- ones) & ~x & highs
    }

    /// Whether every byte is ASCII.
    static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        let raw = UnsafeRawBufferPointer(bytes)
        var any: UInt64 = 0, i = 0
        while i + 8 <= raw.count {
            any |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            i += 8
        }
        while i < raw.count {
            any |= UInt64(raw[i])
            i += 1
        }
        return any & highs == 0
    }

    /// Counting back from the end: the index just after the `n`-th newline (n ≥ 1), or
    /// nil and how many newlines there are when fewer.
    static func afterNewline(_ n: Int, fromEndOf bytes: UnsafeBufferPointer<UInt8>) -> (index: Int?, newlines: Int) {
        let raw = UnsafeRawBufferPointer(bytes)
        var seen = 0, i = raw.count
        while i >= 8 {
            let c = newlines(raw.loadUnaligned(fromByteOffset: i - 8, as: UInt64.self)).nonzeroBitCount
            if seen + c >= n { break }
            seen += c
            i -= 8
        }
        while i > 0 {
            i -= 1
            if raw[i] == 0x0A {
                seen += 1
                if seen == n { return (i + 1, seen) }
            }
        }
        return (nil, seen)
    }
}
