/// A job that failed before launch (no pico.sh, a workspace that cannot be fetched, an
/// artifact that cannot be written, zmx refusing the runner): it still gets its status, once.
/// pici-run records it as an open job that has already ended, with no session, exit code
/// pici-run's own and the reason; the next pici-publish pass publishes it as it does any
/// other, with its pages and one status line. A job that never had a session needs no
/// listing to prove it is gone, so it is published even while zmx cannot be reached.
public enum LaunchFailure {
    /// The job record of the failure: `failed`, pici-run's exit code, the reason.
    public static func job(name: String, jobID: String, startedAt: Int, endedAt: Int, exitCode: Int32?, reason: String) -> JobRecord {
        var job = JobRecord(
            name: name, jobID: jobID, status: .failed, exitCode: exitCode.map(Int.init),
            startedAt: TimeFormat.rfc3339(startedAt), endedAt: TimeFormat.rfc3339(endedAt),
            duration: TimeFormat.duration(from: startedAt, to: endedAt), sessions: [])
        job.reason = reason
        return job
    }

    /// The reason as one line: an error's first line (rsync's own message follows it on the
    /// lines after, and stays on stderr).
    public static func reason(for error: Error) -> String {
        let text = "\(error)"
        return String(text.split(separator: "\n", omittingEmptySubsequences: true).first ?? Substring(text))
    }

    /// Registers the failed job in the open set. Throws SafeName.Unsafe or FileError when
    /// even the state dir cannot be written; the caller reports that on stderr.
    public static func record(name: String, jobID: String, startedAt: Int, exitCode: Int32?, reason: String, artifactDir: String, now: Int = Clock.nowSeconds()) throws {
        let job = job(name: name, jobID: jobID, startedAt: startedAt, endedAt: now, exitCode: exitCode, reason: reason)
        try OpenJobs.write(OpenJob(job: job, seenAtNanoseconds: Clock.nowNanoseconds()), artifactDir: artifactDir)
    }
}
