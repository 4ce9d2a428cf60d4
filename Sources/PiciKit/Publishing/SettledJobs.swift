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

    static func key(_ name: String, _ jobID: String) -> String { RestFile.key(name, jobID) }

    static func read(artifactDir: String) -> SettledJobs {
        var settled = SettledJobs()
        for (key, n) in RestFile.read(path(artifactDir: artifactDir), count: 2) { settled.jobs[key] = Times(job: n[0], artifacts: n[1]) }
        return settled
    }

    func isSettled(_ key: String, _ times: Times?) -> Bool { times != nil && jobs[key] == times }

    /// Records a job found at rest with `times`, unless a time is under a second old
    /// (`RestFile.isOld`).
    mutating func record(_ key: String, _ times: Times, nowNanoseconds: Int = Clock.nowNanoseconds()) {
        guard RestFile.isOld(times.job, nowNanoseconds: nowNanoseconds), RestFile.isOld(times.artifacts, nowNanoseconds: nowNanoseconds) else { return }
        jobs[key] = times
    }

    func bytes() -> [UInt8] { RestFile.bytes(jobs.map { ($0.key, [$0.value.job, $0.value.artifacts]) }) }

    func write(artifactDir: String) { RestFile.write(SettledJobs.path(artifactDir: artifactDir), bytes()) }
}
