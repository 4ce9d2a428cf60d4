/// The parts of a CI session name: `ci.<repo>.<job_id>.runner` or
/// `ci.<repo>.<job_id>.step.<step>`.
public struct JobName: Equatable, Sendable {
    public var repo: String
    public var jobID: String
    /// `runner` or the step name, as the seed's cleanSessionShort gives it.
    public var short: String

    public var prefix: String { "ci.\(repo).\(jobID)." }

    /// Finds the job id by its shape (eight lowercase hex digits) rather than by counting
    /// dots as the seed does, so `ci.socket.io.a3f2b8c1.runner` is repo `socket.io`. The first
    /// id followed by `runner` or `step` wins; failing that, the first id with anything after it.
    public static func parse(_ name: String) -> JobName? {
        guard name.hasPrefix("ci.") else { return nil }
        let parts = name.dropFirst(3).split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return nil }
        var found: Int? = nil
        for i in 1..<(parts.count - 1) where SafeName.isJobID(parts[i]) {
            if parts[i + 1] == "runner" || parts[i + 1] == "step" { found = i; break }
            if found == nil { found = i }
        }
        guard let i = found else { return nil }
        let repo = parts[0..<i].joined(separator: ".")
        guard !repo.isEmpty else { return nil }
        let jobID = String(parts[i])
        let short = cleanShort(name, repo: repo, jobID: jobID)
        guard !short.isEmpty else { return nil }
        return JobName(repo: repo, jobID: jobID, short: short)
    }

    /// The seed's cleanSessionShort: `ci.r.id.step.lint` → `lint`,
    /// `ci.r.id.step.ci.r.id.runner` → `runner`.
    public static func cleanShort(_ name: String, repo: String, jobID: String) -> String {
        let prefix = "ci.\(repo).\(jobID)."
        var short = Substring(name)
        if short.hasPrefix(prefix) { short = short.dropFirst(prefix.count) }
        if short.hasPrefix("step.") { short = short.dropFirst(5) }
        if short.hasPrefix(prefix) { short = short.dropFirst(prefix.count) }
        return String(short)
    }
}
