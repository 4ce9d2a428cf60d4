import Glibc

/// A running session whose history is what its logs were last written from is not written
/// again (`RunningSnapshots`).
extension Staging {
    /// The print of a running session's history and of all else its `.txt` and page show
    /// but the time: the names, the start, the build that renders them and where the
    /// declared secrets come from (`Masking.sources`; never the values).
    mutating func snapshotPrint(of fragment: [UInt8], session s: SessionRecord, file: String, job: JobRecord) -> SnapshotPrint {
        if snapshotBase == nil {
            var base = SnapshotPrint()
            base.add(PiciVersion.string)
            base.add(Staging.buildIdentity)
            for source in Masking.sources { base.add(source) }
            snapshotBase = base
        }
        var print = snapshotBase!
        print.add("\(job.name)\t\(job.jobID)\t\(s.name)\t\(s.created)\t\(s.status.rawValue)\t\(file)\t\(Staging.short(of: s, in: job))")
        print.add(fragment)
        return print
    }

    /// This executable as a file (size, modification time): a new build of the same
    /// version may render or clean logs otherwise.
    static var buildIdentity: String {
        var st = stat()
        guard stat("/proc/self/exe", &st) == 0 else { return "" }
        return "\(st.st_size)\t\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
    }

    /// Whether the session's `.txt` and page are still those written from `print`.
    func wroteBefore(_ print: SnapshotPrint, of s: SessionRecord, file: String, in work: inout Work) -> Bool {
        readSnapshots(&work)
        guard let before = work.snapshots!.sessions[s.name], before.print == print else { return false }
        for name in [file + ".txt", file + ".html"] {
            guard let info = work.dir.info(name), info.isRegular, info.modifiedSeconds == before.modified else { return false }
        }
        return true
    }

    /// Its `.txt` and page were written from `print` and given the time `modified`.
    func remember(_ print: SnapshotPrint, modified: Int, of s: SessionRecord, in work: inout Work) {
        readSnapshots(&work)
        work.snapshots!.sessions[s.name] = RunningSnapshots.Snapshot(print: print, modified: modified)
        work.snapshotsChanged = true
    }

    /// An ended session is staged from its final history once and needs no print.
    func forgetSnapshot(of s: SessionRecord, in work: inout Work) {
        readSnapshots(&work)
        if work.snapshots!.sessions.removeValue(forKey: s.name) != nil { work.snapshotsChanged = true }
    }

    /// The job's record, read when first needed and changed in place after.
    private func readSnapshots(_ work: inout Work) {
        if work.snapshots == nil { work.snapshots = RunningSnapshots.read(jobDir: work.jobDir) }
    }
}
