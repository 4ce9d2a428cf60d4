/// A job's state. pici-group gives the first three; pici-publish adds the last two for a job
/// whose sessions vanished before its status was published.
public enum JobStatus: String, Sendable, CaseIterable {
    case running, success, failed, cancelled, lost
    /// Waiting for a free slot on a host (pici-run queued its event); never in a job record
    /// pici-group makes, only in what pici-publish shows of the queue.
    case queued
    /// Killed at its deadline (exit code 124, as timeout(1)).
    case timeout

    public var isTerminal: Bool { self != .running && self != .queued }
}

/// One CI job, the sessions `ci.<repo>.<job_id>.*` taken together: a `job` record, the output
/// of pici-group.
public struct JobRecord: Equatable, Sendable {
    public var name: String
    public var jobID: String
    public var status: JobStatus
    public var exitCode: Int?
    public var startedAt: String?
    public var endedAt: String?
    public var duration: String
    public var sessions: [SessionRecord]
    public var extra: [JSONObject.Member]

    public init(
        name: String, jobID: String, status: JobStatus, exitCode: Int?, startedAt: String?,
        endedAt: String?, duration: String, sessions: [SessionRecord], extra: [JSONObject.Member] = []
    ) {
        self.name = name
        self.jobID = jobID
        self.status = status
        self.exitCode = exitCode
        self.startedAt = startedAt
        self.endedAt = endedAt
        self.duration = duration
        self.sessions = sessions
        self.extra = extra
    }

    public var sessionCount: Int { sessions.count }

    static let knownKeys = Set(Field.allCases.map(\.key) + ["type"])

    public var json: JSON {
        var o = JSONObject()
        o.append("type", .string("job"))
        o.append("name", .string(name))
        o.append("job_id", .string(jobID))
        o.append("status", .string(status.rawValue))
        o.append("exit_code", .optionalInt(exitCode))
        o.append("started_at", .optionalString(startedAt))
        o.append("ended_at", .optionalString(endedAt))
        o.append("duration", .string(duration))
        o.append("session_count", .int(sessions.count))
        o.append("sessions", .array(sessions.map(\.json)))
        o.members.append(contentsOf: extra)
        return .object(o)
    }

    public init(json object: JSONObject) throws {
        let r = FieldReader(object: object, type: "job")
        try r.expectType()
        name = try r.string("name")
        jobID = try r.string("job_id")
        let statusText = try r.string("status")
        guard let s = JobStatus(rawValue: statusText) else {
            throw RecordError.badField(type: "job", field: "status", reason: "unknown status \"\(statusText)\"")
        }
        status = s
        exitCode = try r.optionalInt(Field.exitCode)
        startedAt = try r.optionalString("started_at")
        endedAt = try r.optionalString("ended_at")
        duration = try r.optionalString("duration") ?? ""
        guard case .array(let items)? = object["sessions"] else {
            throw RecordError.badField(type: "job", field: "sessions", reason: "not an array")
        }
        sessions = try items.enumerated().map { i, item in
            guard case .object(let o) = item else {
                throw RecordError.badField(type: "job", field: "sessions", reason: "item \(i + 1) is not an object")
            }
            do { return try SessionRecord(json: o) } catch let e as RecordError {
                throw RecordError.badField(type: "job", field: "sessions", reason: "item \(i + 1): \(e)")
            }
        }
        extra = object.members.filter { !JobRecord.knownKeys.contains($0.key) }
    }
}

/// The end of one complete `zmx list`: the watermark that makes a job's absence meaningful.
public struct ListingRecord: Equatable, Sendable {
    public var complete: Bool
    public var sessions: Int
    /// Unix seconds when zmx list was started.
    public var at: Int
    /// The same instant in nanoseconds, so absence can be judged finer than a second.
    public var atNanoseconds: Int?
    public var extra: [JSONObject.Member]

    public init(complete: Bool, sessions: Int, at: Int, atNanoseconds: Int? = nil, extra: [JSONObject.Member] = []) {
        self.complete = complete
        self.sessions = sessions
        self.at = at
        self.atNanoseconds = atNanoseconds
        self.extra = extra
    }

    /// The instant in nanoseconds, from `at_ns` or else from `at`.
    public var instantNanoseconds: Int { atNanoseconds ?? at * 1_000_000_000 }

    public var json: JSON {
        var o = JSONObject()
        o.append("type", .string("listing"))
        o.append("complete", .bool(complete))
        o.append("sessions", .int(sessions))
        o.append("at", .int(at))
        if let ns = atNanoseconds { o.append("at_ns", .int(ns)) }
        o.members.append(contentsOf: extra)
        return .object(o)
    }

    public init(json object: JSONObject) throws {
        let r = FieldReader(object: object, type: "listing")
        try r.expectType()
        complete = try r.bool("complete")
        sessions = try r.int(Field.sessions)
        at = try r.int(Field.at)
        atNanoseconds = try r.optionalInt(Field.atNanoseconds)
        extra = object.members.filter { m in m.key != "type" && !Field.allCases.contains { $0.key == m.key } }
    }
}

/// One line of a JSON Lines stream, sorted by what pici does with it.
public enum Record: Equatable, Sendable {
    case session(SessionRecord)
    case job(JobRecord)
    case listing(ListingRecord)
    /// A record of a type this filter does not handle, kept as the exact bytes read.
    case other(type: String, line: [UInt8])

    /// Decodes one line. Throws JSONError or RecordError naming what is wrong.
    ///
    /// A line in the shape pici writes (`"type"` first, each field once, of its type) is read
    /// straight into its struct; any other line, and any line that is wrong, is read through
    /// the `JSON` tree by `decodeAnyShape`, which alone words the error.
    public static func decode(_ line: [UInt8]) throws -> Record {
        if let record = try? line.withUnsafeBytes({ try decodeCommonShape($0) }) { return record }
        return try decodeAnyShape(line)
    }

    static func decodeCommonShape(_ line: UnsafeRawBufferPointer) throws -> Record {
        var p = JSONParser(bytes: line)
        guard try p.beginObject() else { throw NotTheCommonShape() }
        let first = try p.memberKey()
        guard p.matches(first, "type") else { throw NotTheCommonShape() }
        let type = try p.plainString()
        let more = try p.endOfMember()
        let record: Record
        if p.matches(type, "session") {
            record = .session(try SessionRecord.decodeMembers(&p, depth: 1, typeRead: true, more: more))
        } else if p.matches(type, "job") {
            record = .job(try JobRecord.decodeMembers(&p, depth: 1, more: more))
        } else if p.matches(type, "listing") {
            record = .listing(try ListingRecord.decodeMembers(&p, depth: 1, more: more))
        } else {
            throw NotTheCommonShape()
        }
        try p.expectEnd()
        return record
    }

    /// Decodes one line of any shape through the `JSON` tree.
    static func decodeAnyShape(_ line: [UInt8]) throws -> Record {
        let value = try JSONParser.parse(line)
        guard case .object(let object) = value else { throw RecordError.notAnObject }
        guard case .string(let type)? = object["type"] else { throw RecordError.missingType }
        switch type {
        case "session": return .session(try SessionRecord(json: object))
        case "job": return .job(try JobRecord(json: object))
        case "listing": return .listing(try ListingRecord(json: object))
        default: return .other(type: type, line: line)
        }
    }

    /// The record as one line, without the newline.
    public var lineBytes: [UInt8] {
        var out: [UInt8] = []
        write(into: &out)
        return out
    }

    /// Appends the record's line, without the newline.
    public func write(into out: inout [UInt8]) {
        switch self {
        case .session(let s): s.write(into: &out)
        case .job(let j): j.write(into: &out)
        case .listing(let l): l.write(into: &out)
        case .other(_, let line): out.append(contentsOf: line)
        }
    }
}

// MARK: - Straight from and to bytes

extension JobRecord {
    /// The record as JSON text, the bytes `JSONSerializer.bytes(json)` gives.
    public func write(into out: inout [UInt8]) {
        JSONSerializer.append(raw: #"{"type":"job","name":"#, into: &out)
        JSONSerializer.writeString(name, into: &out)
        JSONSerializer.append(raw: #","job_id":"#, into: &out)
        JSONSerializer.writeString(jobID, into: &out)
        JSONSerializer.append(raw: #","status":"#, into: &out)
        JSONSerializer.writeString(status.rawValue, into: &out)
        JSONSerializer.append(raw: #","exit_code":"#, into: &out)
        JSONSerializer.writeOptionalInt(exitCode, into: &out)
        JSONSerializer.append(raw: #","started_at":"#, into: &out)
        JSONSerializer.writeOptionalString(startedAt, into: &out)
        JSONSerializer.append(raw: #","ended_at":"#, into: &out)
        JSONSerializer.writeOptionalString(endedAt, into: &out)
        JSONSerializer.append(raw: #","duration":"#, into: &out)
        JSONSerializer.writeString(duration, into: &out)
        JSONSerializer.append(raw: #","session_count":"#, into: &out)
        JSONSerializer.writeInt(sessions.count, into: &out)
        JSONSerializer.append(raw: #","sessions":["#, into: &out)
        for (i, session) in sessions.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            session.write(into: &out)
        }
        out.append(UInt8(ascii: "]"))
        JSONSerializer.writeMembers(extra, into: &out)
        out.append(UInt8(ascii: "}"))
    }

    enum Field: UInt32, CaseIterable, RecordField {
        case name, jobID, status, exitCode, startedAt, endedAt, duration, sessionCount, sessions

        static let required: UInt32 = Field.name.bit | Field.jobID.bit | Field.status.bit | Field.sessions.bit

        var name: StaticString {
            switch self {
            case .name: return "name"
            case .jobID: return "job_id"
            case .status: return "status"
            case .exitCode: return "exit_code"
            case .startedAt: return "started_at"
            case .endedAt: return "ended_at"
            case .duration: return "duration"
            case .sessionCount: return "session_count"
            case .sessions: return "sessions"
            }
        }

        var range: ClosedRange<Int>? { self == .exitCode ? FieldRange.exitCode : nil }

        static func of(_ key: Range<Int>, in p: JSONParser) -> Field? {
            guard key.count >= 4 else { return nil }
            let first = p.bytes[key.lowerBound]
            let field: Field
            switch key.count {
            case 4: field = .name
            case 6: field = first == UInt8(ascii: "j") ? .jobID : .status
            case 8: field = first == UInt8(ascii: "e") ? .endedAt : first == UInt8(ascii: "d") ? .duration : .sessions
            case 9: field = .exitCode
            case 10: field = .startedAt
            case 13: field = .sessionCount
            default: return nil
            }
            return p.matches(key, field.name) ? field : nil
        }
    }

    /// Reads the rest of a job object in the common shape, its `{"type":"job"` already read;
    /// as SessionRecord.decodeMembers, it throws for anything `init(json:)` must decide.
    static func decodeMembers(_ p: inout JSONParser, depth: Int, more: Bool) throws -> JobRecord {
        typealias Scan = FieldScanner<Field>
        var scanner = Scan(depth: depth, next: .name)
        var name = "", jobID = "", status = JobStatus.running, exitCode: Int? = nil
        var startedAt: String? = nil, endedAt: String? = nil, duration: String? = nil
        var sessions: [SessionRecord] = []
        try scanner.scan(&p, more: more) { field, p in
            switch field {
            case .name: name = try p.stringValue()
            case .jobID: jobID = try p.stringValue()
            case .status:
                let text = try p.plainString()
                if p.matches(text, "success") { status = .success }
                else if p.matches(text, "failed") { status = .failed }
                else if p.matches(text, "running") { status = .running }
                else if p.matches(text, "cancelled") { status = .cancelled }
                else if p.matches(text, "lost") { status = .lost }
                else if p.matches(text, "timeout") { status = .timeout }
                else { throw NotTheCommonShape() }
            case .exitCode: exitCode = try Scan.optionalInt(&p, field)
            case .startedAt: startedAt = try p.optionalStringValue()
            case .endedAt: endedAt = try p.optionalStringValue()
            case .duration: duration = try p.optionalStringValue()
            case .sessionCount: _ = try p.value(depth: depth)  // derived from sessions, never trusted
            case .sessions:
                guard depth + 2 <= JSONParser.maxDepth else { throw NotTheCommonShape() }
                var moreItems = try p.beginArray()
                while moreItems {
                    let members = try p.beginObject()
                    sessions.append(try SessionRecord.decodeMembers(&p, depth: depth + 2, typeRead: false, more: members))
                    moreItems = try p.endOfItem()
                }
            }
        }
        try scanner.require(Field.required)
        return JobRecord(
            name: name, jobID: jobID, status: status, exitCode: exitCode, startedAt: startedAt, endedAt: endedAt,
            duration: duration ?? "", sessions: sessions, extra: scanner.extra)
    }
}

extension ListingRecord {
    /// The record as JSON text, the bytes `JSONSerializer.bytes(json)` gives.
    public func write(into out: inout [UInt8]) {
        JSONSerializer.append(raw: complete ? #"{"type":"listing","complete":true,"sessions":"# : #"{"type":"listing","complete":false,"sessions":"#, into: &out)
        JSONSerializer.writeInt(sessions, into: &out)
        JSONSerializer.append(raw: #","at":"#, into: &out)
        JSONSerializer.writeInt(at, into: &out)
        if let ns = atNanoseconds {
            JSONSerializer.append(raw: #","at_ns":"#, into: &out)
            JSONSerializer.writeInt(ns, into: &out)
        }
        JSONSerializer.writeMembers(extra, into: &out)
        out.append(UInt8(ascii: "}"))
    }

    enum Field: UInt32, CaseIterable, RecordField {
        case complete, sessions, at, atNanoseconds

        static let required: UInt32 = Field.complete.bit | Field.sessions.bit | Field.at.bit

        var name: StaticString {
            switch self {
            case .complete: return "complete"
            case .sessions: return "sessions"
            case .at: return "at"
            case .atNanoseconds: return "at_ns"
            }
        }

        var range: ClosedRange<Int>? {
            switch self {
            case .complete: return nil
            case .sessions: return FieldRange.count
            case .at: return FieldRange.seconds
            case .atNanoseconds: return FieldRange.nanoseconds
            }
        }

        static func of(_ key: Range<Int>, in p: JSONParser) -> Field? {
            let field: Field
            switch key.count {
            case 2: field = .at
            case 5: field = .atNanoseconds
            case 8: field = p.bytes[key.lowerBound] == UInt8(ascii: "c") ? .complete : .sessions
            default: return nil
            }
            return p.matches(key, field.name) ? field : nil
        }
    }

    /// Reads the rest of a listing object in the common shape, its `{"type":"listing"` already
    /// read; as SessionRecord.decodeMembers, it throws for anything `init(json:)` must decide.
    static func decodeMembers(_ p: inout JSONParser, depth: Int, more: Bool) throws -> ListingRecord {
        typealias Scan = FieldScanner<Field>
        var scanner = Scan(depth: depth, next: .complete)
        var complete = false, sessions = 0, at = 0, atNanoseconds: Int? = nil
        try scanner.scan(&p, more: more) { field, p in
            switch field {
            case .complete: complete = try p.boolValue()
            case .sessions: sessions = try Scan.int(&p, field)
            case .at: at = try Scan.int(&p, field)
            case .atNanoseconds: atNanoseconds = try Scan.optionalInt(&p, field)
            }
        }
        try scanner.require(Field.required)
        return ListingRecord(complete: complete, sessions: sessions, at: at, atNanoseconds: atNanoseconds, extra: scanner.extra)
    }
}
