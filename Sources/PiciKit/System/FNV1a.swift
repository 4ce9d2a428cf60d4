/// FNV-1a, 64 bits: a short, stable name for some bytes (a zmx command line's shared
/// listing, a job's session ends). Not for secrets or against an adversary.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        for byte in bytes { add(byte) }
    }

    mutating func add(_ byte: UInt8) {
        value ^= UInt64(byte)
        value = value &* 0x100_0000_01b3
    }

    /// The decimal digits of `n`, as `String(n)` spells them, without making the String.
    mutating func add(decimal n: Int) {
        if n < 0 { add(UInt8(ascii: "-")) }
        var m = n.magnitude
        var divisor: UInt = 1
        while m / divisor >= 10 { divisor *= 10 }
        repeat {
            add(UInt8(ascii: "0") + UInt8(m / divisor))
            m %= divisor
            divisor /= 10
        } while divisor > 0
    }
}
