/// `.pici/at-rest`: the published jobs whose every session a pass found staged from its final
/// history, with the job directory's modification time and the sessions' ends then (a hash of
/// each session's name, short name, end and exit code). A later pass that finds both the same
/// does not look at the job: no `.pici-staged.json` read, no file looked up. Any file made,
/// renamed or removed in the directory since (a log, a page, a leftover) changes its time,
/// and a session that ends anew changes the hash; either way the job is looked at as before.
/// A pass over nothing but finished jobs was mostly those looks (about a dozen system calls
/// and a JSON parse a job).
///
/// Only a cache: a line it cannot read, or the file missing, costs one full look.
struct JobsAtRest: Equatable {
    struct Entry: Equatable {
        var dirTime: Int
        var ends: UInt64
    }

    /// By `name<TAB>jobID`.
    private(set) var jobs: [String: Entry] = [:]

    static func path(artifactDir: String) -> String { artifactDir + "/.pici/at-rest" }

    static func key(_ job: JobRecord) -> String { job.name + "\t" + job.jobID }

    /// FNV-1a over what decides whether a session is staged: its names, end and exit code.
    static func ends(of job: JobRecord) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func add(_ text: String) {
            for byte in text.utf8 {
                hash ^= UInt64(byte)
                hash = hash &* 0x100_0000_01b3
            }
            hash ^= 0x0A
            hash = hash &* 0x100_0000_01b3
        }
        for s in job.sessions {
            add(s.name)
            add(s.short ?? "")
            add(s.ended.map(String.init) ?? "-")
            add(s.exitCode.map(String.init) ?? "-")
        }
        return hash
    }

    static func read(artifactDir: String) -> JobsAtRest {
        var atRest = JobsAtRest()
        guard let bytes = try? FileSystem.readFile(path(artifactDir: artifactDir)) else { return atRest }
        for line in bytes.split(separator: 0x0A) {
            let f = line.split(separator: 0x09, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            guard f.count == 4, let time = Int(f[2]), let ends = UInt64(f[3], radix: 16) else { continue }
            atRest.jobs[f[0] + "\t" + f[1]] = Entry(dirTime: time, ends: ends)
        }
        return atRest
    }

    func holds(_ job: JobRecord, dirTime: Int?) -> Bool {
        guard let dirTime, let entry = jobs[JobsAtRest.key(job)] else { return false }
        return entry.dirTime == dirTime && entry.ends == JobsAtRest.ends(of: job)
    }

    /// Records a job found at rest, its directory's time taken before the look; not a time
    /// under a second old: a directory's time has the kernel clock's coarse steps, and a change
    /// in the same step as the one recorded would not show.
    mutating func record(_ job: JobRecord, dirTime: Int, nowNanoseconds: Int = Clock.nowNanoseconds()) {
        guard dirTime < nowNanoseconds - 1_000_000_000 else { return }
        jobs[JobsAtRest.key(job)] = Entry(dirTime: dirTime, ends: JobsAtRest.ends(of: job))
    }

    func bytes() -> [UInt8] {
        var out: [UInt8] = []
        for (key, e) in jobs.sorted(by: { $0.key < $1.key }) {
            out += Array("\(key)\t\(e.dirTime)\t\(String(e.ends, radix: 16))\n".utf8)
        }
        return out
    }
}
