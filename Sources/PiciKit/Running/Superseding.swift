/// The push that superseded a job: one job per repository and branch runs at a time, and the
/// cancelled job's page names the job that took its place.
public struct Superseding: Equatable, Sendable {
    public var jobID: String
    public var branch: String
    public var commit: String

    public init(jobID: String, branch: String, commit: String) {
        self.jobID = jobID
        self.branch = branch
        self.commit = commit
    }

    /// Which running jobs a new event cancels: those of its repository and branch (the
    /// default), or, with `--cancel-scope repo`, every one of its repository as the original.
    public enum Scope: String, Sendable, CaseIterable {
        case branch, repo

        /// The branch whose running (and queued) jobs an event cancels: its own; nil, every
        /// branch of its repository, with `repo` or when the event has no branch (as the
        /// original pici's events, and `pici-run --cancel NAME`). A push and `--cancel`
        /// read an event the same way.
        public func branch(of event: Event) -> String? {
            self == .branch && !event.branch.isEmpty ? event.branch : nil
        }
    }

    /// From cancelled.json: `superseded_by` (the job id, as pici-run --wait reads it),
    /// `superseded_by_branch` and `superseded_by_commit`; nil when absent or not a job id.
    public init?(marker o: JSONObject) {
        guard let id = o["superseded_by"]?.stringValue, SafeName.isSafe(id) else { return nil }
        self.init(jobID: id, branch: o["superseded_by_branch"]?.stringValue ?? "", commit: o["superseded_by_commit"]?.stringValue ?? "")
    }

    /// A running job's branch, from its event.json; "" when it has none or it cannot be read
    /// (a job of the original pici, whose events had no branch).
    public static func branch(artifactDir: String, name: String, jobID: String) -> String {
        let path = JobArtifacts.artifactsDir(artifactDir: artifactDir, name: name, jobID: jobID) + "/event.json"
        guard let bytes = try? FileSystem.readFile(path, limit: Event.maxSize + 1),
              let event = try? Event.parse(bytes, for: .cancel) else { return "" }
        return event.branch
    }
}
