/// What a session's state is, as pici-list derives it from `zmx list`.
public enum SessionStatus: String, Sendable, CaseIterable {
    case running, success, failed
    /// zmx printed `err=` for it: the daemon did not answer.
    case unreachable
}

/// One zmx session: a `session` record, the output of pici-list.
public struct SessionRecord: Equatable, Sendable {
    public var name: String
    public var repo: String?
    public var jobID: String?
    public var short: String?
    public var pid: Int?
    public var clients: Int?
    /// Unix seconds; 0 when zmx did not say (an unreachable session).
    public var created: Int
    public var ended: Int?
    public var exitCode: Int?
    public var status: SessionStatus
    public var cwd: String?
    /// Other `key=value` fields zmx printed, in the order it printed them.
    public var labels: [(key: String, value: String)]
    /// Fields this version does not know, passed on unchanged.
    public var extra: [JSONObject.Member]

    public init(
        name: String, repo: String? = nil, jobID: String? = nil, short: String? = nil,
        pid: Int? = nil, clients: Int? = nil, created: Int, ended: Int? = nil, exitCode: Int? = nil,
        status: SessionStatus, cwd: String? = nil, labels: [(key: String, value: String)] = [],
        extra: [JSONObject.Member] = []
    ) {
        self.name = name
        self.repo = repo
        self.jobID = jobID
        self.short = short
        self.pid = pid
        self.clients = clients
        self.created = created
        self.ended = ended
        self.exitCode = exitCode
        self.status = status
        self.cwd = cwd
        self.labels = labels
        self.extra = extra
    }

    public static func == (a: SessionRecord, b: SessionRecord) -> Bool {
        a.name == b.name && a.repo == b.repo && a.jobID == b.jobID && a.short == b.short
            && a.pid == b.pid && a.clients == b.clients && a.created == b.created && a.ended == b.ended
            && a.exitCode == b.exitCode && a.status == b.status && a.cwd == b.cwd
            && a.labels.map(\.key) == b.labels.map(\.key) && a.labels.map(\.value) == b.labels.map(\.value)
            && a.extra == b.extra
    }

    /// The runner is the session that ran pico.sh; the seed tells it by its name's suffix.
    public var isRunner: Bool { name.hasSuffix(".runner") }

    public var hasEnded: Bool { ended != nil }

    static let knownKeys: Set<String> = [
        "type", "name", "repo", "job_id", "short", "pid", "clients", "created", "ended",
        "exit_code", "status", "cwd", "labels",
    ]

    public var json: JSON {
        var o = JSONObject()
        o.append("type", .string("session"))
        o.append("name", .string(name))
        o.append("repo", .optionalString(repo))
        o.append("job_id", .optionalString(jobID))
        o.append("short", .optionalString(short))
        o.append("pid", .optionalInt(pid))
        o.append("clients", .optionalInt(clients))
        o.append("created", .int(created))
        o.append("ended", .optionalInt(ended))
        o.append("exit_code", .optionalInt(exitCode))
        o.append("status", .string(status.rawValue))
        o.append("cwd", .optionalString(cwd))
        o.append("labels", .object(JSONObject(labels.map { JSONObject.Member($0.key, .string($0.value)) })))
        o.members.append(contentsOf: extra)
        return .object(o)
    }

    public init(json object: JSONObject) throws {
        let r = FieldReader(object: object, type: "session")
        try r.expectType()
        name = try r.string("name")
        repo = try r.optionalString("repo")
        jobID = try r.optionalString("job_id")
        short = try r.optionalString("short")
        pid = try r.optionalInt("pid")
        clients = try r.optionalInt("clients")
        created = try r.int("created")
        ended = try r.optionalInt("ended")
        exitCode = try r.optionalInt("exit_code")
        let statusText = try r.string("status")
        guard let s = SessionStatus(rawValue: statusText) else {
            throw RecordError.badField(type: "session", field: "status", reason: "unknown status \"\(statusText)\"")
        }
        status = s
        cwd = try r.optionalString("cwd")
        var labels: [(key: String, value: String)] = []
        switch object["labels"] {
        case nil, .null?: break
        case .object(let l)?:
            for m in l.members {
                guard case .string(let v) = m.value else {
                    throw RecordError.badField(type: "session", field: "labels", reason: "label \"\(m.key)\" is not a string")
                }
                labels.append((m.key, v))
            }
        default: throw RecordError.badField(type: "session", field: "labels", reason: "not an object")
        }
        self.labels = labels
        extra = object.members.filter { !SessionRecord.knownKeys.contains($0.key) }
    }
}
