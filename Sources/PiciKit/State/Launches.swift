import Glibc

/// What pici-run records about a job the moment it has an id, before it touches anything: who
/// is launching it, the deadline it runs under, and where its workspace copy is. The file
/// outlives pici-run: the monitor pass reads it to kill the job at its deadline, to remove its
/// workspace once it is published and kept long enough, and to publish a job whose pici-run
/// died before launching it; gc reads it to remove what a crash left.
public struct LaunchRecord: Equatable, Sendable {
    public var name: String
    public var jobID: String
    /// Unix seconds when pici-run made the job id.
    public var launchedAt: Int
    /// pici-run's pid and its start time (clock ticks since boot, /proc's field 22), which
    /// together tell whether it still runs even after the pid is reused.
    public var pid: Int
    public var pidStart: Int
    /// The job's time limit in seconds, counted from its start; nil for none.
    public var timeout: Double?
    /// The workspace copy, once made.
    public var workspace: String?
    /// With a hosts file: the host the job was placed on, and the copy made there (on
    /// another machine) before anything is copied into it.
    public var host: String? = nil
    public var remoteWorkspace: String? = nil
    /// Set by --retain when it removed the published job's directory but a copy stayed (its
    /// host was away): the record is all that is left of the job, for the reaper and gc.
    public var jobRemoved = false
    /// The directory copies are made in, so one made but not yet recorded (a crash between
    /// the two) is still found by its name, `pici-<job_id>-…`.
    public var temporaryBase: String

    public init(name: String, jobID: String, launchedAt: Int, pid: Int, pidStart: Int, timeout: Double?, workspace: String?, temporaryBase: String) {
        self.name = name
        self.jobID = jobID
        self.launchedAt = launchedAt
        self.pid = pid
        self.pidStart = pidStart
        self.timeout = timeout
        self.workspace = workspace
        self.temporaryBase = temporaryBase
    }

    /// This process as the launcher.
    public static func current(name: String, jobID: String, timeout: Double?, now: Int = Clock.nowSeconds()) -> LaunchRecord {
        let pid = Int(getpid())
        return LaunchRecord(
            name: name, jobID: jobID, launchedAt: now, pid: pid, pidStart: Launcher.startTime(pid: pid) ?? 0,
            timeout: timeout, workspace: nil, temporaryBase: Workspace.temporaryBase())
    }

    public var json: JSON {
        var o = JSONObject()
        o.append("name", .string(name))
        o.append("job_id", .string(jobID))
        o.append("launched_at", .int(launchedAt))
        o.append("pid", .int(pid))
        o.append("pid_start", .int(pidStart))
        o.append("timeout_ms", timeout.map { .int(Int(($0 * 1000).rounded())) } ?? .null)
        o.append("workspace", workspace.map { .string($0) } ?? .null)
        o.append("tmp", .string(temporaryBase))
        if let host { o.append("host", .string(host)) }
        if let remoteWorkspace { o.append("remote_workspace", .string(remoteWorkspace)) }
        if jobRemoved { o.append("job_removed", .bool(true)) }
        return .object(o)
    }

    public init(json o: JSONObject) throws {
        func bad(_ field: String, _ reason: String) -> RecordError { .badField(type: "launch", field: field, reason: reason) }
        guard let name = o["name"]?.stringValue else { throw bad("name", "not a string") }
        guard let jobID = o["job_id"]?.stringValue else { throw bad("job_id", "not a string") }
        guard let at = o["launched_at"]?.intValue else { throw bad("launched_at", "not a whole number") }
        guard let pid = o["pid"]?.intValue, pid > 0 else { throw bad("pid", "not a positive whole number") }
        let timeout: Double?
        switch o["timeout_ms"] {
        case nil, .null?: timeout = nil
        case let v?:
            guard let ms = v.intValue, ms > 0, ms < 1 << 40 else { throw bad("timeout_ms", "not a positive whole number") }
            timeout = Double(ms) / 1000
        }
        let workspace: String?
        switch o["workspace"] {
        case nil, .null?: workspace = nil
        case .string(let s)?: workspace = s
        default: throw bad("workspace", "not a string")
        }
        self.init(
            name: name, jobID: jobID, launchedAt: at, pid: pid, pidStart: o["pid_start"]?.intValue ?? 0, timeout: timeout,
            workspace: workspace, temporaryBase: o["tmp"]?.stringValue ?? "")
        for (key, field) in [("host", \LaunchRecord.host), ("remote_workspace", \LaunchRecord.remoteWorkspace)] {
            switch o[key] {
            case nil, .null?: break
            case .string(let s)?: self[keyPath: field] = s
            default: throw bad(key, "not a string")
            }
        }
        switch o["job_removed"] {
        case nil, .null?: break
        case .bool(let b)?: jobRemoved = b
        default: throw bad("job_removed", "not true or false")
        }
    }

    /// Every workspace copy of the job that exists: the recorded one, and any other the
    /// temporary dir holds under the job's name.
    public func workspaces() -> [String] {
        var found: [String] = []
        if let workspace, Workspace.isWorkspacePath(workspace), FileSystem.info(workspace) != nil { found.append(workspace) }
        let stem = Workspace.namePrefix + jobID + "-"
        if Workspace.isWorkspacePath(temporaryBase + "/" + stem + "x") {
            for entry in FileSystem.list(temporaryBase) where entry.hasPrefix(stem) {
                let path = temporaryBase + "/" + entry
                if !found.contains(path) { found.append(path) }
            }
        }
        return found
    }
}

/// Whether a launcher still runs.
public enum Launcher {
    /// A process's start time, field 22 of /proc/PID/stat; nil when it does not exist.
    public static func startTime(pid: Int) -> Int? {
        guard let bytes = try? FileSystem.readFile("/proc/\(pid)/stat", limit: 4096) else { return nil }
        // The command name, field 2, is in parentheses and may hold spaces: count after it.
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = bytes[(close + 1)...].split(separator: UInt8(ascii: " "))
        // Field 3 is the first after ")"; field 22 is the 20th.
        guard fields.count >= 20 else { return nil }
        return Int(String(decoding: fields[19], as: UTF8.self))
    }

    /// True while the process that wrote `record` runs (a process of another user counts).
    public static func isAlive(_ record: LaunchRecord) -> Bool {
        if kill(pid_t(record.pid), 0) != 0 && errno == ESRCH { return false }
        guard let start = startTime(pid: record.pid) else {
            // No /proc to ask: trust kill(2).
            return !FileSystem.isDirectory("/proc/self")
        }
        return record.pidStart == 0 || start == record.pidStart
    }
}

/// The launch records, `DIR/.pici/launch/<name>.<job_id>.json`.
public enum Launches {
    public static func directory(artifactDir: String) -> String {
        FileSystem.join(artifactDir, ".pici", "launch")
    }

    public static func path(artifactDir: String, name: String, jobID: String) -> String {
        directory(artifactDir: artifactDir) + "/" + name + "." + jobID + ".json"
    }

    public static func write(_ record: LaunchRecord, artifactDir: String) throws {
        try SafeName.check(record.name)
        try SafeName.check(record.jobID)
        try FileSystem.makeDirectories(directory(artifactDir: artifactDir))
        try FileSystem.writeAtomically(path(artifactDir: artifactDir, name: record.name, jobID: record.jobID), JSONSerializer.bytes(record.json) + [0x0A])
    }

    public static func read(path: String) -> LaunchRecord? {
        guard let bytes = try? FileSystem.readFile(path, limit: 1 << 16),
              case .object(let o)? = try? JSONParser.parse(bytes),
              let record = try? LaunchRecord(json: o),
              SafeName.isSafe(record.name), SafeName.isSafe(record.jobID)
        else { return nil }
        return record
    }

    public static func read(artifactDir: String, name: String, jobID: String) -> LaunchRecord? {
        guard SafeName.isSafe(name), SafeName.isSafe(jobID) else { return nil }
        return read(path: path(artifactDir: artifactDir, name: name, jobID: jobID))
    }

    /// Every record, by file name; a file that does not hold one comes with nil.
    public static func all(artifactDir: String) -> [(path: String, record: LaunchRecord?)] {
        let dir = directory(artifactDir: artifactDir)
        return FileSystem.list(dir).compactMap { file in
            guard file.hasSuffix(".json"), !file.hasPrefix(".") else { return nil }
            return (dir + "/" + file, read(path: dir + "/" + file))
        }
    }

    public static func remove(artifactDir: String, name: String, jobID: String) throws {
        try SafeName.check(name)
        try SafeName.check(jobID)
        try FileSystem.remove(path(artifactDir: artifactDir, name: name, jobID: jobID))
    }
}
