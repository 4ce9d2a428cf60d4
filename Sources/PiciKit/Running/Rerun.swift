/// `pici-run --rerun NAME/JOB_ID`: a new job from the stored event of an earlier one, so a
/// failure can be run again without writing its event by hand. The new job's
/// `artifacts/rerun.json` names the one it re-ran, and its page links it.
public enum Rerun {
    /// The earlier job, as given on the command line.
    public struct Source: Equatable, Sendable {
        public var name: String
        public var jobID: String

        public init(parsing text: String) throws {
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, SafeName.isSafe(String(parts[0])), SafeName.isSafe(String(parts[1])) else {
                throw Arguments.UsageError(message: "--rerun: \(SafeName.quoted(text)) is not NAME/JOB_ID")
            }
            name = String(parts[0])
            jobID = String(parts[1])
        }

        public var eventPath: String { "\(name)/\(jobID)/artifacts/event.json" }

        /// The earlier job's event, read and checked as any event is.
        public func event(artifactDir: String) throws -> Event {
            let path = FileSystem.join(artifactDir, eventPath)
            guard FileSystem.info(path) != nil else { throw RerunError.noEvent(path: path) }
            let event = try Event.parse(try FileSystem.readFile(path, limit: Event.maxSize + 1))
            guard event.name == name else { throw RerunError.otherRepository(path: path, name: event.name) }
            return event
        }
    }

    public static func linkPath(artifactDir: String, name: String, jobID: String) -> String {
        JobArtifacts.artifactsDir(artifactDir: artifactDir, name: name, jobID: jobID) + "/rerun.json"
    }

    /// Writes `{"rerun_of":JOB_ID}` beside the new job's event, and marks the earlier job
    /// with an empty `.pici-reruns/<new job_id>` (one file per re-run: two at once cannot
    /// lose each other's; rsync leaves `.pici-*` out), from which its page links the new one.
    public static func writeLink(artifactDir: String, name: String, jobID: String, rerunOf: String) throws {
        let o = JSONObject(["rerun_of": .string(rerunOf)])
        try FileSystem.writeAtomically(linkPath(artifactDir: artifactDir, name: name, jobID: jobID), JSONSerializer.bytes(.object(o)) + [0x0A])
        let old = JobArtifacts.jobDir(artifactDir: artifactDir, name: name, jobID: rerunOf)
        // Only into a job that is there (a removed one is not made again by its re-run), and
        // best effort: the link back is a convenience, the new job is what was asked for.
        guard FileSystem.isDirectory(old) else { return }
        try? FileSystem.makeDirectories(old + "/" + rerunsDirectory)
        try? FileSystem.writeAtomically(old + "/" + rerunsDirectory + "/" + jobID, [])
    }

    static let rerunsDirectory = ".pici-reruns"

    /// The jobs that re-ran this one and are still there, oldest first; only safe ids, since
    /// they become links.
    public static func reruns(artifactDir: String, name: String, jobID: String) -> [String] {
        let dir = JobArtifacts.jobDir(artifactDir: artifactDir, name: name, jobID: jobID) + "/" + rerunsDirectory
        let ids = FileSystem.list(dir).filter {
            SafeName.isSafe($0) && !$0.hasPrefix(".") && FileSystem.isDirectory(JobArtifacts.jobDir(artifactDir: artifactDir, name: name, jobID: $0))
        }
        let at = Dictionary(ids.map { ($0, FileSystem.info(dir + "/" + $0)?.modifiedNanoseconds ?? 0) }, uniquingKeysWith: { a, _ in a })
        return ids.sorted { (at[$0]!, $0) < (at[$1]!, $1) }
    }

    /// The job id a job re-ran, if it is one; only a safe id, since it becomes a link.
    public static func rerunOf(artifactDir: String, name: String, jobID: String) -> String? {
        guard let bytes = try? FileSystem.readFile(linkPath(artifactDir: artifactDir, name: name, jobID: jobID), limit: 1 << 12),
              case .object(let o)? = try? JSONParser.parse(bytes), let id = o["rerun_of"]?.stringValue, SafeName.isSafe(id)
        else { return nil }
        return id
    }
}

/// Why `--rerun` could not find its event.
public enum RerunError: Error, Equatable, CustomStringConvertible {
    case noEvent(path: String)
    case otherRepository(path: String, name: String)

    public var description: String {
        switch self {
        case .noEvent(let path): return "--rerun: no event at \(path)"
        case .otherRepository(let path, let name): return "--rerun: \(path) is the event of \(SafeName.quoted(name))"
        }
    }
}
