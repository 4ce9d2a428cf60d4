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
            let f = line.split(separator: 0x09, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            let numbers = f.dropFirst(2).compactMap { Int($0) }
            guard f.count == count + 2, numbers.count == count else { return nil }
            return (key(f[0], f[1]), numbers)
        }
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
