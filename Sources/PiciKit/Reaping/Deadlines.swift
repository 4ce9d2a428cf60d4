/// When a job must be over: its own time limit, recorded by pici-run at launch (the event's
/// `timeout`, else `pici-run --job-timeout`), else the monitor's `--job-timeout`, counted
/// from the job's start (its earliest session, as zmx dates it; the launch when zmx gives
/// none). Pure: the reaper decides with it, gc too.
public enum Deadlines {
    /// The limit that applies to a job, in seconds, and the unix second it runs out.
    public struct Deadline: Equatable, Sendable {
        public var timeout: Double
        public var at: Double
    }

    public static func deadline(job: JobRecord?, record: LaunchRecord?, defaultTimeout: Double?) -> Deadline? {
        guard let timeout = record?.timeout ?? defaultTimeout, timeout > 0 else { return nil }
        guard let start = job?.startedAt.flatMap(TimeFormat.parseRFC3339) ?? record?.launchedAt else { return nil }
        return Deadline(timeout: timeout, at: Double(start) + timeout)
    }

    /// What its page and status line say: `timed out after 30m`.
    public static func reason(timeout: Double) -> String {
        "timed out after \(TimeFormat.span(timeout))"
    }
}

extension TimeFormat {
    /// A span as a person writes it and Go's ParseDuration reads it: `30m`, `1h30m`, `90s` as
    /// `1m30s`, `1.5s`, `500ms`.
    public static func span(_ seconds: Double) -> String {
        if seconds <= 0 { return "0s" }
        if seconds < 1 { return "\(Int((seconds * 1000).rounded()))ms" }
        let whole = Int(seconds)
        let fraction = seconds - Double(whole)
        var out = ""
        if whole >= 3600 { out += "\(whole / 3600)h" }
        if whole % 3600 >= 60 { out += "\(whole % 3600 / 60)m" }
        let s = whole % 60
        if fraction >= 0.001 {
            let tenths = Int((fraction * 1000).rounded())
            var digits = String(tenths + 1000).dropFirst()
            while digits.last == "0" { digits.removeLast() }
            out += "\(s).\(digits)s"
        } else if s > 0 || out.isEmpty {
            out += "\(s)s"
        }
        return out
    }
}
