/// The parts of a CI session name: `ci.<repo>.<job_id>.runner` or
/// `ci.<repo>.<job_id>.step.<step>`.
public struct JobName: Equatable, Sendable {
    public var repo: String
    public var jobID: String
    /// `runner` or the step name, as the seed's cleanSessionShort gives it.
    public var short: String

    public var prefix: String { "ci.\(repo).\(jobID)." }

    /// The one session that is a job's runner: `ci.<repo>.<job_id>.runner`, exactly.
    public static func runnerName(repo: String, jobID: String) -> String { "ci.\(repo).\(jobID).runner" }

    /// Finds the job id by its shape (eight lowercase hex digits) rather than by counting
    /// dots as the seed does, so `ci.socket.io.a3f2b8c1.runner` is repo `socket.io`. The first
    /// id followed by `runner` or `step` wins; failing that, the first id with anything after it.
    public static func parse(_ name: String) -> JobName? {
        switch parseASCII(name) {
        case .job(let job): return job
        case .noJob: return nil
        case .notASCII: return parseByCharacters(name)
        }
    }

    /// `parse` on Swift's Characters, for names that are not ASCII.
    static func parseByCharacters(_ name: String) -> JobName? {
        guard name.hasPrefix("ci.") else { return nil }
        let parts = name.dropFirst(3).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return nil }
        var found: Int? = nil
        for i in 1..<(parts.count - 1) where SafeName.isJobID(parts[i]) {
            if parts[i + 1] == "runner" || parts[i + 1] == "step" { found = i; break }
            if found == nil { found = i }
        }
        guard let i = found else { return nil }
        let repo = parts[0..<i].joined(separator: ".")
        guard !repo.isEmpty else { return nil }
        let jobID = String(parts[i])
        let short = cleanShort(name, repo: repo, jobID: jobID)
        guard !short.isEmpty else { return nil }
        return JobName(repo: repo, jobID: jobID, short: short)
    }

    enum ASCIIParse: Equatable { case job(JobName), noJob, notASCII }

    /// `parse` for an ASCII name, on its bytes: there every byte is a Character, `.` never
    /// joins a neighbour, and the prefix `ci.<repo>.<job_id>.` is the name's own head. Any
    /// other name is left to `parse`, which splits it the Character way.
    static func parseASCII(_ name: String) -> ASCIIParse {
        let r = name.utf8.withContiguousStorageIfAvailable { u -> ASCIIParse in
            guard !u.contains(where: { $0 >= 0x80 }) else { return .notASCII }
            guard ASCIIBytes.hasPrefix(u, "ci.") else { return .noJob }
            func dot(after i: Int) -> Int { u[i...].firstIndex(of: UInt8(ascii: ".")) ?? u.count }
            func isJobID(_ r: Range<Int>) -> Bool {
                r.count == 8 && u[r].allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
            }
            // The parts after `ci.`, one at a time: part k is `start..<end`. The id is a part
            // after the first with a part after it.
            var found: Range<Int>? = nil
            var start = dot(after: 3) + 1  // part 1
            while start <= u.count {
                let end = dot(after: start)
                guard end < u.count else { break }
                if isJobID(start..<end) {
                    let next = (end + 1)..<dot(after: end + 1)
                    if ASCIIBytes.equal(u[next], "runner") || ASCIIBytes.equal(u[next], "step") { found = start..<end; break }
                    if found == nil { found = start..<end }
                }
                start = end + 1
            }
            guard let id = found else { return .noJob }
            let repoEnd = id.lowerBound - 1, prefixEnd = id.upperBound + 1  // `ci.<repo>` and `ci.<repo>.<id>.`
            guard repoEnd > 3 else { return .noJob }
            var short = u[prefixEnd...]
            if ASCIIBytes.hasPrefix(short, "step.") { short = short.dropFirst(5) }
            if short.starts(with: u[0..<prefixEnd]) { short = short.dropFirst(prefixEnd) }
            guard !short.isEmpty else { return .noJob }
            return .job(JobName(
                repo: String(decoding: UnsafeBufferPointer(rebasing: u[3..<repoEnd]), as: UTF8.self),
                jobID: String(decoding: UnsafeBufferPointer(rebasing: u[id]), as: UTF8.self),
                short: String(decoding: UnsafeBufferPointer(rebasing: short), as: UTF8.self)))
        }
        return r ?? .notASCII
    }

    /// The seed's cleanSessionShort: `ci.r.id.step.lint` → `lint`,
    /// `ci.r.id.step.ci.r.id.runner` → `runner`.
    public static func cleanShort(_ name: String, repo: String, jobID: String) -> String {
        let prefix = "ci.\(repo).\(jobID)."
        var short = Substring(name)
        if short.hasPrefix(prefix) { short = short.dropFirst(prefix.count) }
        if short.hasPrefix("step.") { short = short.dropFirst(5) }
        if short.hasPrefix(prefix) { short = short.dropFirst(prefix.count) }
        return String(short)
    }
}

/// Names in the order of their UTF-8 bytes, as records are sorted: the same on every machine,
/// unlike String's `<`, which orders by Unicode's canonical form.
enum NameOrder {
    static func less(_ a: String, _ b: String) -> Bool {
        let r = a.utf8.withContiguousStorageIfAvailable { x in
            b.utf8.withContiguousStorageIfAvailable { y -> Bool in
                let n = min(x.count, y.count)
                for i in 0..<n where x[i] != y[i] { return x[i] < y[i] }
                return x.count < y.count
            }
        }
        return (r ?? nil) ?? a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}

/// Bytes compared with an ASCII literal directly, rather than through a String or a generic
/// sequence of its UTF-8.
enum ASCIIBytes {
    static func equal<C: Collection<UInt8>>(_ bytes: C, _ word: StaticString) -> Bool {
        bytes.count == word.utf8CodeUnitCount && hasPrefix(bytes, word)
    }

    static func hasPrefix<C: Collection<UInt8>>(_ bytes: C, _ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard bytes.count >= n else { return false }
        var i = bytes.startIndex
        for k in 0..<n {
            if bytes[i] != word.utf8Start[k] { return false }
            i = bytes.index(after: i)
        }
        return true
    }

    static func isLetter(_ c: UInt8) -> Bool { (c | 0x20) >= 97 && (c | 0x20) <= 122 }
}
