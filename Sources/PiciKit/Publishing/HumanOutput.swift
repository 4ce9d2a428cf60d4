/// `--human`: the seed's renderJobFinal and renderJobRunning text, for a person at a terminal
/// rather than a program. Pure: the caller decides where it goes and whether to redraw.
/// A status is its word, coloured on a terminal: the seed's emoji (✅ ❌ 🚀) are empty boxes
/// where no emoji font is installed, and a word reads without colour too.
public enum HumanOutput {
    static func paint(_ word: String, _ status: String, _ colour: Bool) -> String {
        let code: String
        switch status {
        case "success": code = "32"
        case "failed", "lost", "timeout": code = "31"
        case "running", "unreachable": code = "33"
        default: code = "2"
        }
        return Terminal.colour(word, code, enabled: colour)
    }

    /// `failed, exit 3 (1.0s)`: a status as `--wait` shows it, the exit code of a failure
    /// and the duration when there is one.
    static func state(_ status: String, exitCode: Int?, duration: String, colour: Bool) -> String {
        var out = paint(status, status, colour)
        if status != "success" && status != "running", let exitCode { out += ", exit \(exitCode)" }
        if !duration.isEmpty && duration != "—" { out += " (\(duration))" }
        return out
    }

    /// A finished job: the seed's renderJobFinal, for any terminal status, with each
    /// session's exit code and the job's id. `job.status` is the status being published.
    public static func finalBlock(job: JobRecord, workspace: String?, artifactDir: String?, colour: Bool = false) -> String {
        let status = job.status.rawValue
        var out = "   \(Terminal.padRight(Terminal.visible(job.name), 12)) \(state(status, exitCode: job.exitCode, duration: job.duration, colour: colour))\n"
        for s in job.sessions {
            let short = Terminal.visible(s.short ?? s.name)
            if let ended = s.ended {
                let duration = TimeFormat.duration(from: s.created > 0 ? s.created : nil, to: ended)
                let session = s.exitCode == 0 ? "success" : "failed"
                out += "   \(Terminal.padRight(short, 12)) \(state(session, exitCode: s.exitCode, duration: duration, colour: colour))\n"
            } else {
                // Only a cancelled or lost job has sessions that never ended.
                out += "   \(Terminal.padRight(short, 12)) \(paint(status, status, colour))\n"
            }
        }
        if let reason = job.reason { out += "   reason:     \(Terminal.visible(reason))\n" }
        out += "\n"
        out += "   job id:     \(Terminal.visible(job.jobID))\n"
        if let host = job.host { out += "   host:       \(Terminal.visible(host))\n" }
        if let workspace, !workspace.isEmpty { out += "   workspace:  \(Terminal.visible(workspace))\n" }
        if let artifactDir { out += "   artifacts:  \(Terminal.visible(FileSystem.join(artifactDir, job.name, job.jobID)))\n" }
        out += "\n"
        return out
    }

    /// A running job: the seed's renderJobRunning, its header line (with the job's id, as
    /// two jobs of one repository may run at once) and one line per session.
    public static func runningLines(job: JobRecord, now: Int, colour: Bool = false) -> [String] {
        let word = job.status == .queued ? "queued" : "running"
        var lines = ["   \(Terminal.padRight(Terminal.visible(job.name), 12)) \(paint(word, "running", colour)), job \(Terminal.visible(job.jobID))"
            + (job.host.map { " on \(Terminal.visible($0))" } ?? "")]
        for s in job.sessions {
            let status: String
            let duration: String
            if let ended = s.ended {
                status = s.exitCode == 0 ? "success" : "failed"
                duration = TimeFormat.duration(from: s.created > 0 ? s.created : nil, to: ended)
            } else {
                status = s.status == .unreachable ? "unreachable" : "running"
                duration = TimeFormat.duration(from: s.created > 0 ? s.created : nil, to: now)
            }
            lines.append("   \(Terminal.padRight(Terminal.visible(s.short ?? s.name), 12)) \(state(status, exitCode: s.exitCode, duration: duration, colour: colour))")
        }
        return lines
    }

    /// Moves the cursor to the start of the `lines` lines printed last and clears from there
    /// down, so the whole running section is redrawn as one: the seed moved up per job by
    /// that job's own count, and several running jobs overwrote each other.
    public static func erase(lines: Int) -> String {
        guard lines > 0 else { return "" }
        return String(repeating: Terminal.cursorUp, count: lines) + "\r" + Terminal.clearToEndOfScreen
    }
}
