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

    static func key(_ job: JobRecord) -> String { RestFile.key(job.name, job.jobID) }

    /// A hash of what decides whether a session is staged: its names, end and exit code.
    /// (Each session's name, short name, end and exit code, `-` for none, a line each; made
    /// without a String, since a pass over finished jobs hashes every job.)
    static func ends(of job: JobRecord) -> UInt64 {
        var hash = FNV1a()
        func line(_ n: Int?) {
            if let n { hash.add(decimal: n) } else { hash.add(UInt8(ascii: "-")) }
            hash.add(0x0A)
        }
        for s in job.sessions {
            hash.add(s.name.utf8)
            hash.add(0x0A)
            hash.add((s.short ?? "").utf8)
            hash.add(0x0A)
            line(s.ended)
            line(s.exitCode)
        }
        return hash.value
    }

    static func read(artifactDir: String) -> JobsAtRest {
        var atRest = JobsAtRest()
        for (key, n) in RestFile.read(path(artifactDir: artifactDir), count: 2) {
            atRest.jobs[key] = Entry(dirTime: n[0], ends: UInt64(bitPattern: Int64(n[1])))
        }
        return atRest
    }

    func holds(_ job: JobRecord, dirTime: Int?, ends: UInt64? = nil) -> Bool {
        guard let dirTime, let entry = jobs[JobsAtRest.key(job)] else { return false }
        return entry.dirTime == dirTime && entry.ends == (ends ?? JobsAtRest.ends(of: job))
    }

    /// Records a job found at rest, its directory's time taken before the look; not a time
    /// under a second old (`RestFile.isOld`).
    mutating func record(_ job: JobRecord, dirTime: Int, ends: UInt64? = nil, nowNanoseconds: Int = Clock.nowNanoseconds()) {
        guard RestFile.isOld(dirTime, nowNanoseconds: nowNanoseconds) else { return }
        jobs[JobsAtRest.key(job)] = Entry(dirTime: dirTime, ends: ends ?? JobsAtRest.ends(of: job))
    }

    func bytes() -> [UInt8] { RestFile.bytes(jobs.map { ($0.key, [$0.value.dirTime, Int(Int64(bitPattern: $0.value.ends))]) }) }

    func write(artifactDir: String) { RestFile.write(JobsAtRest.path(artifactDir: artifactDir), bytes()) }
}
