/// The file of an at-rest cache (`SettledJobs`, `JobsAtRest`): a line
/// `name<TAB>job_id<TAB>N<TAB>N…` per job found at rest, with the numbers it was found with.
/// Only a cache: a line it cannot read is left out, and a write that fails costs the next
/// pass its full looks, nothing else.
enum RestFile {
    static func key(_ name: String, _ jobID: String) -> String { name + "\t" + jobID }

    /// Each readable line's key and its `count` numbers.
    static func read(_ path: String, count: Int) -> [(key: String, numbers: [Int])] {
        guard let bytes = try? FileSystem.readFile(path) else { return [] }
        return bytes.split(separator: 0x0A).compactMap { line in
            let f = line.split(separator: 0x09, omittingEmptySubsequences: false)
            guard f.count == count + 2 else { return nil }
            let numbers = f.dropFirst(2).compactMap(number)
            guard numbers.count == count else { return nil }
            return (key(String(decoding: f[0], as: UTF8.self), String(decoding: f[1], as: UTF8.self)), numbers)
        }
    }

    /// `Int(String(decoding: field))` without the String (a pass reads one per job): an
    /// optional sign and decimal digits; nil for anything else or a number past Int's range.
    static func number(_ field: ArraySlice<UInt8>) -> Int? {
        var digits = field[...]
        var negative = false
        if let sign = digits.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty else { return nil }
        // Counted towards the negative side, which holds one more than the positive.
        var n = 0
        for d in digits {
            guard d >= UInt8(ascii: "0"), d <= UInt8(ascii: "9") else { return nil }
            let (times, o1) = n.multipliedReportingOverflow(by: 10)
            let (next, o2) = times.subtractingReportingOverflow(Int(d - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            n = next
        }
        if negative { return n }
        return n == Int.min ? nil : -n
    }

    static func bytes(_ entries: [(key: String, numbers: [Int])]) -> [UInt8] {
        var out: [UInt8] = []
        for (key, numbers) in entries.sorted(by: { $0.key < $1.key }) {
            out += Array(([key] + numbers.map(String.init)).joined(separator: "\t").utf8) + [0x0A]
        }
        return out
    }

    static func write(_ path: String, _ bytes: [UInt8]) { try? FileSystem.writeAtomically(path, bytes) }

    /// Whether a directory's time may be recorded: not under a second old, since the kernel
    /// clock that sets it has coarse steps, and a change in the same step as the one recorded
    /// would not show.
    static func isOld(_ time: Int, nowNanoseconds: Int) -> Bool { time < nowNanoseconds - 1_000_000_000 }
}
