/// The line pici-publish prints for a job: the seed's StatusPayload key for key and JSON type
/// for type, so consumers of the Go monitor's output keep working, with `"type":"status"` last.
public enum StatusLine {
    /// The status object of `job` as it stands: a running job has a null exit code and no
    /// `ended_at`, as the seed printed it. `timestamp` is unix seconds (when it is printed).
    public static func object(for job: JobRecord, timestamp: Int) -> JSONObject {
        let running = !job.status.isTerminal
        var o = JSONObject()
        o.append("timestamp", .string(TimeFormat.rfc3339(timestamp)))
        o.append("name", .string(job.name))
        o.append("job_id", .string(job.jobID))
        o.append("status", .string(job.status.rawValue))
        o.append("exit_code", running ? .null : .optionalInt(job.exitCode))
        // The seed's `omitempty`: an unknown value is left out, never written as "" or null.
        if !job.duration.isEmpty { o.append("duration", .string(job.duration)) }
        if let s = job.startedAt, !s.isEmpty { o.append("started_at", .string(s)) }
        if !running, let e = job.endedAt, !e.isEmpty { o.append("ended_at", .string(e)) }
        o.append("session_count", .int(job.sessions.count))
        o.append("sessions", .array(job.sessions.map(sessionInfo)))
        if let host = job.host { o.append("host", .string(host)) }
        if let reason = job.reason { o.append("reason", .string(reason)) }
        o.append("type", .string("status"))
        return o
    }

    /// The line's bytes without the newline.
    public static func bytes(for job: JobRecord, timestamp: Int) -> [UInt8] {
        JSONSerializer.bytes(.object(object(for: job, timestamp: timestamp)))
    }

    /// The seed's SessionInfo: every value a string, as zmx printed it, "" when unknown.
    public static func sessionInfo(_ s: SessionRecord) -> JSON {
        func text(_ n: Int?) -> JSON { .string(n.map(String.init) ?? "") }
        var o = JSONObject()
        o.append("name", .string(s.name))
        o.append("short", .string(s.short ?? ""))
        o.append("pid", text(s.pid))
        o.append("clients", text(s.clients))
        // pici-list writes 0 for a session zmx gave no creation time (an unreachable one).
        o.append("created", text(s.created > 0 ? s.created : nil))
        o.append("start_dir", .string(s.cwd ?? ""))
        o.append("ended", text(s.ended))
        o.append("exit_code", text(s.exitCode))
        return .object(o)
    }
}
