/// FNV-1a, 64 bits: a short, stable name for some bytes (a zmx command line's shared
/// listing, a job's session ends). Not for secrets or against an adversary.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        for byte in bytes {
            value ^= UInt64(byte)
            value = value &* 0x100_0000_01b3
        }
    }
}
