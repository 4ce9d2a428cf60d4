import Glibc

/// The commit statuses pici-status owes the forge, one file per commit and context under
/// `DIR/.pici/forge/`, so a status survives a restart and a forge that is down for an hour.
/// A file keeps its commit's newest status even once delivered: an older one that comes later
/// (a replayed line, a slow job's running line) is recognised and never sent over it.
public struct StatusOutbox {
    public struct Entry: Equatable, Sendable {
        public var status: CommitStatus
        /// Delivered, or refused by the forge for good: nothing more to do until a newer one.
        public var done: Bool
        public var attempts: Int
        /// Unix seconds before which it is not tried again.
        public var nextAt: Int
        /// What the last failed try said.
        public var lastError: String

        public init(status: CommitStatus, done: Bool = false, attempts: Int = 0, nextAt: Int = 0, lastError: String = "") {
            self.status = status
            self.done = done
            self.attempts = attempts
            self.nextAt = nextAt
            self.lastError = lastError
        }
    }

    public let directory: String
    /// Part of each file's name, so that two forges never share a commit's file.
    public let api: String

    public init(artifactDir: String, api: String) {
        directory = artifactDir + "/.pici/forge"
        self.api = api
    }

    /// Seconds before the n-th retry: 1, 2, 4 … up to five minutes, and on for as long as it
    /// takes.
    public static func backoff(attempts: Int) -> Int { attempts <= 0 ? 0 : min(300, 1 << min(attempts - 1, 9)) }

    /// Done entries older than this are dropped.
    public static let keepSeconds = 30 * 86_400

    public func path(for status: CommitStatus) -> String {
        let key = api + "\n" + status.repo + "\n" + status.sha + "\n" + status.context
        let hex = SHA256.hash(Array(key.utf8)).prefix(16).map { b -> String in
            let digits = Array("0123456789abcdef")
            return String(digits[Int(b >> 4)]) + String(digits[Int(b & 0xF)])
        }.joined()
        return directory + "/" + hex + ".json"
    }

    public func read(_ path: String) -> Entry? {
        guard FileSystem.exists(path), let bytes = try? FileSystem.readFile(path, limit: 1 << 20),
              case .object(let o)? = try? JSONParser.parse(bytes) else { return nil }
        return StatusOutbox.entry(o)
    }

    public func write(_ entry: Entry) throws {
        try FileSystem.makeDirectories(directory)
        try FileSystem.writeAtomically(path(for: entry.status), JSONSerializer.bytes(.object(StatusOutbox.json(entry))) + [0x0A])
    }

    /// Every entry, by file; nil for a file that cannot be read as one.
    public func all() -> [(path: String, entry: Entry?)] {
        FileSystem.list(directory).filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.map { file in
            let path = directory + "/" + file
            return (path, read(path))
        }
    }

    /// Removes done entries last written more than `keepSeconds` ago.
    public func prune(now: Int) {
        for (path, entry) in all() {
            guard let entry, entry.done, let info = FileSystem.info(path), now - info.modifiedSeconds > StatusOutbox.keepSeconds else { continue }
            try? FileSystem.remove(path)
        }
    }

    static func json(_ e: Entry) -> JSONObject {
        let s = e.status
        var o = JSONObject()
        o.append("repo", .string(s.repo))
        o.append("sha", .string(s.sha))
        o.append("context", .string(s.context))
        o.append("state", .string(s.state.rawValue))
        o.append("description", .string(s.description))
        o.append("target_url", .optionalString(s.targetURL))
        o.append("name", .string(s.name))
        o.append("job_id", .string(s.jobID))
        o.append("order", .object(JSONObject([
            "started": .int(s.order.started), "final": .bool(s.order.final),
            "timestamp": .int(s.order.timestamp), "job_id": .string(s.order.jobID),
        ])))
        o.append("done", .bool(e.done))
        o.append("attempts", .int(e.attempts))
        o.append("next_at", .int(e.nextAt))
        o.append("last_error", .string(e.lastError))
        return o
    }

    static func entry(_ o: JSONObject) -> Entry? {
        guard let repo = o["repo"]?.stringValue, ForgeRepository.isValid(repo),
              let sha = o["sha"]?.stringValue.flatMap(CommitStatus.normalizedSHA),
              let context = o["context"]?.stringValue,
              let state = o["state"]?.stringValue.flatMap(CommitStatus.State.init(rawValue:)),
              let description = o["description"]?.stringValue,
              case .object(let order)? = o["order"],
              let started = order["started"]?.intValue, let final = order["final"]?.boolValue,
              let timestamp = order["timestamp"]?.intValue, let orderJob = order["job_id"]?.stringValue
        else { return nil }
        let status = CommitStatus(
            repo: repo, sha: sha, context: context, state: state, description: description,
            targetURL: o["target_url"]?.stringValue,
            order: CommitStatus.Order(started: started, final: final, timestamp: timestamp, jobID: orderJob),
            name: o["name"]?.stringValue ?? "", jobID: o["job_id"]?.stringValue ?? "")
        return Entry(
            status: status, done: o["done"]?.boolValue ?? false, attempts: o["attempts"]?.intValue ?? 0,
            nextAt: o["next_at"]?.intValue ?? 0, lastError: o["last_error"]?.stringValue ?? "")
    }
}
