/// A job pici has seen whose terminal status is not published yet: the last job record staged
/// and when the listing that carried it was taken.
public struct OpenJob: Equatable, Sendable {
    public var job: JobRecord
    /// The listing's instant (`at_ns`, else `at` in nanoseconds), or the staging time when the
    /// stream carried no listing.
    public var seenAtNanoseconds: Int

    public init(job: JobRecord, seenAtNanoseconds: Int) {
        self.job = job
        self.seenAtNanoseconds = seenAtNanoseconds
    }

    /// `{"job": <job record>, "seen_at_ns": N}`.
    public var json: JSON {
        .object(JSONObject(["job": job.json, "seen_at_ns": .int(seenAtNanoseconds)]))
    }

    public init(json object: JSONObject) throws {
        guard case .object(let job)? = object["job"] else {
            throw RecordError.badField(type: "open job", field: "job", reason: "not an object")
        }
        guard let seen = object["seen_at_ns"]?.intValue, FieldRange.nanoseconds.contains(seen) else {
            throw RecordError.badField(type: "open job", field: "seen_at_ns", reason: "not a whole number in range")
        }
        self.init(job: try JobRecord(json: job), seenAtNanoseconds: seen)
    }
}

/// The open-job state files, `DIR/.pici/open/<name>.<job_id>.json`: pici-stage writes them,
/// pici-publish reads them and removes each once the job's terminal status is published, so a
/// job that vanishes between passes is still known after a restart.
public enum OpenJobs {
    /// A state file that exists but does not hold an open job.
    public struct Corrupt: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "\(path): not an open-job file: \(reason)" }
    }

    public static func directory(artifactDir: String) -> String {
        FileSystem.join(artifactDir, ".pici", "open")
    }

    public static func path(artifactDir: String, name: String, jobID: String) -> String {
        directory(artifactDir: artifactDir) + "/" + StateFileName.of(name: name, jobID: jobID) + ".json"
    }

    /// Writes the job's state file atomically, making the directory when needed. Throws
    /// SafeName.Unsafe for a name or job id that is not one path component, FileError else.
    public static func write(_ open: OpenJob, artifactDir: String) throws {
        try SafeName.check(open.job.name)
        try SafeName.check(open.job.jobID)
        try FileSystem.makeDirectories(directory(artifactDir: artifactDir))
        var bytes = JSONSerializer.bytes(open.json)
        bytes.append(0x0A)
        try FileSystem.writeAtomically(path(artifactDir: artifactDir, name: open.job.name, jobID: open.job.jobID), bytes)
    }

    /// Reads one state file. Throws FileError when it cannot be read, Corrupt when it is not an
    /// open job.
    public static func read(path: String) throws -> OpenJob {
        let bytes = try FileSystem.readFile(path)
        do {
            guard case .object(let object) = try JSONParser.parse(bytes) else { throw RecordError.notAnObject }
            return try OpenJob(json: object)
        } catch let e as JSONError {
            throw Corrupt(path: path, reason: "\(e)")
        } catch let e as RecordError {
            throw Corrupt(path: path, reason: "\(e)")
        }
    }

    /// Every state file, by name; a file that cannot be read or parsed comes with a nil job so
    /// the caller can report or remove it. Temp files of unfinished writes are left out.
    public static func all(artifactDir: String) -> [(path: String, job: OpenJob?)] {
        files(artifactDir: artifactDir).map { ($0.path, try? read(path: $0.path)) }
    }

    /// Every state file, unread: its name without `.json` (a `StateFileName`) and its path.
    public static func files(artifactDir: String) -> [(name: String, path: String)] {
        let dir = directory(artifactDir: artifactDir)
        return FileSystem.list(dir).compactMap { file in
            guard file.hasSuffix(".json"), !file.hasPrefix(".") else { return nil }
            return (String(file.dropLast(5)), dir + "/" + file)
        }
    }

    /// Removes the job's state file; one already gone is not an error.
    public static func remove(artifactDir: String, name: String, jobID: String) throws {
        try SafeName.check(name)
        try SafeName.check(jobID)
        try FileSystem.remove(path(artifactDir: artifactDir, name: name, jobID: jobID))
    }
}
