/// A job's state. pici-group gives the first three; pici-publish adds the last two for a job
/// whose sessions vanished before its status was published.
public enum JobStatus: String, Sendable, CaseIterable {
    case running, success, failed, cancelled, lost

    public var isTerminal: Bool { self != .running }
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

    static let knownKeys: Set<String> = [
        "type", "name", "job_id", "status", "exit_code", "started_at", "ended_at", "duration",
        "session_count", "sessions",
    ]

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
        exitCode = try r.optionalInt("exit_code")
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
        sessions = try r.int("sessions")
        at = try r.int("at")
        atNanoseconds = try r.optionalInt("at_ns")
        extra = object.members.filter { !["type", "complete", "sessions", "at", "at_ns"].contains($0.key) }
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
    public static func decode(_ line: [UInt8]) throws -> Record {
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
        switch self {
        case .session(let s): return JSONSerializer.bytes(s.json)
        case .job(let j): return JSONSerializer.bytes(j.json)
        case .listing(let l): return JSONSerializer.bytes(l.json)
        case .other(_, let line): return line
        }
    }
}
