/// Which sessions of a job have their final history staged, and from what: each name with
/// the `ended` and `exit_code` zmx listed when pici-stage wrote its pages after it ended.
/// Kept beside the pages as `DIR/<name>/<job_id>/.pici-staged.json` (rsync leaves `.pici-*`
/// out), so it lasts as long as the pages it speaks for, published or not.
///
/// "Already staged" is decided from this record, never by comparing zmx's `ended` with file
/// times: zmx may run on another host whose clock is behind (or ahead of) this one, and a
/// snapshot taken while the session ran would then pass for its final log.
public struct StagedLogs: Equatable, Sendable {
    public struct Final: Equatable, Sendable {
        public var ended: Int
        public var exitCode: Int?
    }

    public var sessions: [String: Final] = [:]

    public init() {}

    public static func path(jobDir: String) -> String { jobDir + "/.pici-staged.json" }

    /// Whether `session`'s final history was staged from the same end as it has now.
    public func has(_ session: SessionRecord) -> Bool {
        guard let ended = session.ended, let final = sessions[session.name] else { return false }
        return final.ended == ended && final.exitCode == session.exitCode
    }

    public mutating func add(_ session: SessionRecord) {
        guard let ended = session.ended else { return }
        sessions[session.name] = Final(ended: ended, exitCode: session.exitCode)
    }

    /// The record in the job's directory; empty when there is none or it cannot be read (its
    /// sessions are then fetched again, which is safe).
    public static func read(jobDir: String) -> StagedLogs {
        var staged = StagedLogs()
        guard let bytes = try? FileSystem.readFile(path(jobDir: jobDir), limit: 16 << 20),
              case .object(let o)? = try? JSONParser.parse(bytes)
        else { return staged }
        for m in o.members {
            guard case .object(let f) = m.value, let ended = f["ended"]?.intValue, FieldRange.seconds.contains(ended) else { continue }
            staged.sessions[m.key] = Final(ended: ended, exitCode: f["exit_code"]?.intValue)
        }
        return staged
    }

    public func write(jobDir: String) throws {
        var o = JSONObject()
        for name in sessions.keys.sorted(by: NameOrder.less) {
            let f = sessions[name]!
            o.append(name, .object(JSONObject(["ended": .int(f.ended), "exit_code": .optionalInt(f.exitCode)])))
        }
        try FileSystem.writeAtomically(StagedLogs.path(jobDir: jobDir), JSONSerializer.bytes(.object(o)) + [0x0A])
    }
}
