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

    /// The runner is the session that ran pico.sh: exactly `ci.<repo>.<job_id>.runner`. The
    /// seed told it by the suffix `.runner`, so a step named `unit.runner` that exited 0 could
    /// stand in for a pico.sh that failed.
    public var isRunner: Bool {
        guard let repo, let jobID, name.utf8.count == repo.utf8.count + jobID.utf8.count + 11 else { return false }
        return name == JobName.runnerName(repo: repo, jobID: jobID)
    }

    public var hasEnded: Bool { ended != nil }

    /// The sessions in the order of their names' bytes, equal names as they came (a stable
    /// sort). Input already in order, as pici-list's is, is returned as it is; otherwise the
    /// indices are sorted rather than the records, which are large to move.
    static func sortedByName(_ sessions: [SessionRecord]) -> [SessionRecord] {
        guard sessions.indices.dropFirst().contains(where: { NameOrder.less(sessions[$0].name, sessions[$0 - 1].name) }) else {
            return sessions
        }
        return sessions.indices.sorted { NameOrder.less(sessions[$0].name, sessions[$1].name) }.map { sessions[$0] }
    }

    static let knownKeys = Set(Field.allCases.map(\.key))

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
        pid = try r.optionalInt(Field.pid)
        clients = try r.optionalInt(Field.clients)
        created = try r.int(Field.created)
        ended = try r.optionalInt(Field.ended)
        exitCode = try r.optionalInt(Field.exitCode)
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

// MARK: - Straight from and to bytes

extension SessionRecord {
    /// The record as JSON text, the bytes `JSONSerializer.bytes(json)` gives, written without
    /// building the `JSON` value.
    public func write(into out: inout [UInt8]) {
        JSONSerializer.append(raw: #"{"type":"session","name":"#, into: &out)
        JSONSerializer.writeString(name, into: &out)
        JSONSerializer.append(raw: #","repo":"#, into: &out)
        JSONSerializer.writeOptionalString(repo, into: &out)
        JSONSerializer.append(raw: #","job_id":"#, into: &out)
        JSONSerializer.writeOptionalString(jobID, into: &out)
        JSONSerializer.append(raw: #","short":"#, into: &out)
        JSONSerializer.writeOptionalString(short, into: &out)
        JSONSerializer.append(raw: #","pid":"#, into: &out)
        JSONSerializer.writeOptionalInt(pid, into: &out)
        JSONSerializer.append(raw: #","clients":"#, into: &out)
        JSONSerializer.writeOptionalInt(clients, into: &out)
        JSONSerializer.append(raw: #","created":"#, into: &out)
        JSONSerializer.writeInt(created, into: &out)
        JSONSerializer.append(raw: #","ended":"#, into: &out)
        JSONSerializer.writeOptionalInt(ended, into: &out)
        JSONSerializer.append(raw: #","exit_code":"#, into: &out)
        JSONSerializer.writeOptionalInt(exitCode, into: &out)
        JSONSerializer.append(raw: #","status":"#, into: &out)
        JSONSerializer.writeString(status.rawValue, into: &out)
        JSONSerializer.append(raw: #","cwd":"#, into: &out)
        JSONSerializer.writeOptionalString(cwd, into: &out)
        JSONSerializer.append(raw: #","labels":{"#, into: &out)
        for (i, label) in labels.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            JSONSerializer.writeString(label.key, into: &out)
            out.append(UInt8(ascii: ":"))
            JSONSerializer.writeString(label.value, into: &out)
        }
        out.append(UInt8(ascii: "}"))
        JSONSerializer.writeMembers(extra, into: &out)
        out.append(UInt8(ascii: "}"))
    }

    /// The fields a session record knows.
    enum Field: UInt32, CaseIterable, RecordField {
        case type, name, repo, jobID, short, pid, clients, created, ended, exitCode, status, cwd, labels

        static let required: UInt32 = Field.type.bit | Field.name.bit | Field.created.bit | Field.status.bit

        var name: StaticString {
            switch self {
            case .type: return "type"
            case .name: return "name"
            case .repo: return "repo"
            case .jobID: return "job_id"
            case .short: return "short"
            case .pid: return "pid"
            case .clients: return "clients"
            case .created: return "created"
            case .ended: return "ended"
            case .exitCode: return "exit_code"
            case .status: return "status"
            case .cwd: return "cwd"
            case .labels: return "labels"
            }
        }

        var range: ClosedRange<Int>? {
            switch self {
            case .pid, .clients: return FieldRange.count
            case .created, .ended: return FieldRange.seconds
            case .exitCode: return FieldRange.exitCode
            default: return nil
            }
        }

        static func of(_ key: Range<Int>, in p: JSONParser) -> Field? {
            guard key.count >= 3 else { return nil }
            let first = p.bytes[key.lowerBound]
            let field: Field
            switch key.count {
            case 3: field = first == UInt8(ascii: "p") ? .pid : .cwd
            case 4: field = first == UInt8(ascii: "n") ? .name : first == UInt8(ascii: "r") ? .repo : .type
            case 5: field = first == UInt8(ascii: "s") ? .short : .ended
            case 6: field = first == UInt8(ascii: "j") ? .jobID : first == UInt8(ascii: "s") ? .status : .labels
            case 7: field = p.bytes[key.lowerBound + 1] == UInt8(ascii: "l") ? .clients : .created
            case 9: field = .exitCode
            default: return nil
            }
            return p.matches(key, field.name) ? field : nil
        }
    }

    /// Reads a session object in the common shape straight into the struct: its `{` already
    /// read, and `"type":"session"` too when `typeRead`; `more` says whether members follow.
    /// `depth` is the object's nesting depth, as JSONParser counts it. Throws as FieldScanner.
    static func decodeMembers(_ p: inout JSONParser, depth: Int, typeRead: Bool, more: Bool) throws -> SessionRecord {
        typealias Scan = FieldScanner<Field>
        var scanner = Scan(depth: depth, read: typeRead ? Field.type.bit : 0, next: typeRead ? .name : .type)
        var name = "", repo: String? = nil, jobID: String? = nil, short: String? = nil, cwd: String? = nil
        var pid: Int? = nil, clients: Int? = nil, created = 0, ended: Int? = nil, exitCode: Int? = nil
        var status = SessionStatus.running
        var labels: [(key: String, value: String)] = []
        try scanner.scan(&p, more: more) { field, p in
            switch field {
            case .type:
                let type = try p.plainString()
                guard p.matches(type, "session") else { throw NotTheCommonShape() }
            case .name: name = try p.stringValue()
            case .repo: repo = try p.optionalStringValue()
            case .jobID: jobID = try p.optionalStringValue()
            case .short: short = try p.optionalStringValue()
            case .pid: pid = try Scan.optionalInt(&p, field)
            case .clients: clients = try Scan.optionalInt(&p, field)
            case .created: created = try Scan.int(&p, field)
            case .ended: ended = try Scan.optionalInt(&p, field)
            case .exitCode: exitCode = try Scan.optionalInt(&p, field)
            case .status:
                let text = try p.plainString()
                if p.matches(text, "success") { status = .success }
                else if p.matches(text, "failed") { status = .failed }
                else if p.matches(text, "running") { status = .running }
                else if p.matches(text, "unreachable") { status = .unreachable }
                else { throw NotTheCommonShape() }
            case .cwd: cwd = try p.optionalStringValue()
            case .labels:
                if p.peek == UInt8(ascii: "n") {
                    try p.literal("null")
                } else {
                    guard depth < JSONParser.maxDepth else { throw NotTheCommonShape() }
                    var moreLabels = try p.beginObject()
                    while moreLabels {
                        let key = try p.memberName()
                        labels.append((key, try p.stringValue()))
                        moreLabels = try p.endOfMember()
                    }
                }
            }
        }
        try scanner.require(Field.required)
        return SessionRecord(
            name: name, repo: repo, jobID: jobID, short: short, pid: pid, clients: clients, created: created,
            ended: ended, exitCode: exitCode, status: status, cwd: cwd, labels: labels, extra: scanner.extra)
    }
}
