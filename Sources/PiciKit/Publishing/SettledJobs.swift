import Glibc

/// `.pici/settled`: the published jobs that a pass found at rest — pages showing their result,
/// no temp file in the job's directory or its `artifacts/` — with the modification times of
/// those two directories at the time. A later pass that finds the same times looks no
/// further: a file made, renamed or removed in either since (a temp file a killed writer
/// left, a page written again, a first re-run) changes a time, and the job is looked at in
/// full again. A job with re-runs always is: their jobs come and go elsewhere. A pass over
/// nothing but finished jobs was mostly those looks (some twenty system calls a job).
///
/// Only a cache: a line it cannot read, or the file missing, costs one full look.
struct SettledJobs {
    /// The two directories' modification times (ns).
    struct Times: Equatable {
        var job: Int
        var artifacts: Int

        /// Now, before the job is looked at, so a change made during the look shows next time;
        /// nil when the job's directory or its `artifacts/` is missing, or it has re-runs.
        init?(jobDir: String) {
            guard let job = FileSystem.info(jobDir)?.modifiedNanoseconds,
                  let artifacts = FileSystem.info(jobDir + "/artifacts")?.modifiedNanoseconds,
                  FileSystem.info(jobDir + "/" + Rerun.rerunsDirectory) == nil
            else { return nil }
            self.init(job: job, artifacts: artifacts)
        }

        init(job: Int, artifacts: Int) {
            self.job = job
            self.artifacts = artifacts
        }
    }

    /// By `name<TAB>jobID`.
    private(set) var jobs: [String: Times] = [:]

    static func path(artifactDir: String) -> String { artifactDir + "/.pici/settled" }

    static func key(_ name: String, _ jobID: String) -> String { name + "\t" + jobID }

    static func read(artifactDir: String) -> SettledJobs {
        var settled = SettledJobs()
        guard let bytes = try? FileSystem.readFile(path(artifactDir: artifactDir)) else { return settled }
        for line in bytes.split(separator: 0x0A) {
            let f = line.split(separator: 0x09, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            guard f.count == 4, let job = Int(f[2]), let artifacts = Int(f[3]) else { continue }
            settled.jobs[key(f[0], f[1])] = Times(job: job, artifacts: artifacts)
        }
        return settled
    }

    func isSettled(_ key: String, _ times: Times?) -> Bool { times != nil && jobs[key] == times }

    /// Records a job found at rest with `times`, unless a time is under a second old: a
    /// directory's time has the kernel clock's coarse steps, and a change in the same step as
    /// the one recorded would not show.
    mutating func record(_ key: String, _ times: Times, nowNanoseconds: Int = Clock.nowNanoseconds()) {
        let young = nowNanoseconds - 1_000_000_000
        guard times.job < young, times.artifacts < young else { return }
        jobs[key] = times
    }

    func bytes() -> [UInt8] {
        var out: [UInt8] = []
        for (key, t) in jobs.sorted(by: { $0.key < $1.key }) {
            out += Array("\(key)\t\(t.job)\t\(t.artifacts)\n".utf8)
        }
        return out
    }
}
