/// How a job ended when something outside it ended it, as the markers in its `artifacts/`
/// say: `timeout.json` (killed at its deadline, or by gc when it had one) or `cancelled.json`
/// (pici-run cancelled it, or gc killed it). pici-publish publishes such a job with the
/// marker's status and reason, whether its sessions are still listed, ended or gone.
public struct JobEnding: Equatable, Sendable {
    public var status: JobStatus
    /// 124 for a timeout, as timeout(1); nil for a cancellation.
    public var exitCode: Int?
    public var reason: String

    public init(status: JobStatus, exitCode: Int?, reason: String) {
        self.status = status
        self.exitCode = exitCode
        self.reason = reason
    }

    public static let timeoutExitCode = 124

    public static func timeoutPath(artifactDir: String, name: String, jobID: String) -> String {
        JobArtifacts.artifactsDir(artifactDir: artifactDir, name: name, jobID: jobID) + "/timeout.json"
    }

    /// Writes `timeout.json`, `{"job_id":…,"timed_out_at":RFC3339,"reason":…}`, atomically.
    /// Written before the job's sessions are killed, so a crash in between still ends in
    /// `timeout`, never `lost`.
    public static func writeTimeout(artifactDir: String, name: String, jobID: String, reason: String, at: Int = Clock.nowSeconds()) throws {
        try SafeName.check(name)
        try SafeName.check(jobID)
        let dir = JobArtifacts.artifactsDir(artifactDir: artifactDir, name: name, jobID: jobID)
        try FileSystem.makeDirectories(dir)
        let o = JSONObject(["job_id": .string(jobID), "timed_out_at": .string(TimeFormat.rfc3339(at)), "reason": .string(reason)])
        try FileSystem.writeAtomically(dir + "/timeout.json", JSONSerializer.bytes(.object(o)) + [0x0A])
    }

    /// The job's ending, if a marker says one: a timeout before a cancellation.
    public static func read(artifactDir: String, name: String, jobID: String) -> JobEnding? {
        guard SafeName.isSafe(name), SafeName.isSafe(jobID) else { return nil }
        let timeout = timeoutPath(artifactDir: artifactDir, name: name, jobID: jobID)
        if FileSystem.info(timeout) != nil {
            var reason = "timed out"
            if let bytes = try? FileSystem.readFile(timeout, limit: 1 << 16), case .object(let o)? = try? JSONParser.parse(bytes),
               let r = o["reason"]?.stringValue, !r.isEmpty {
                reason = r
            }
            return JobEnding(status: .timeout, exitCode: timeoutExitCode, reason: reason)
        }
        if let marker = Cancel.readMarker(artifactDir: artifactDir, name: name, jobID: jobID) {
            return JobEnding(status: .cancelled, exitCode: nil, reason: marker.message ?? marker.summary)
        }
        if FileSystem.info(Cancel.markerPath(artifactDir: artifactDir, name: name, jobID: jobID)) != nil {
            return JobEnding(status: .cancelled, exitCode: nil, reason: "cancelled")
        }
        return nil
    }

    /// `job` as published with this ending: its status, its exit code (a cancelled job that
    /// had finished keeps its own), and the reason.
    public func applied(to job: JobRecord) -> JobRecord {
        var out = job
        out.status = status
        if status == .timeout || !job.status.isTerminal { out.exitCode = exitCode }
        out.reason = reason
        return out
    }
}
