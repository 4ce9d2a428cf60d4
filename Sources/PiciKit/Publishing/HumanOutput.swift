/// `--human`: the seed's renderJobFinal and renderJobRunning text, for a person at a terminal
/// rather than a program. Pure: the caller decides where it goes and whether to redraw.
public enum HumanOutput {
    /// The seed's monitor icons (🚀 while running), plus ones for the statuses it lacked.
    public static func icon(_ status: String) -> String {
        switch status {
        case "success": return "✅"
        case "failed": return "❌"
        case "running": return "🚀"
        case "cancelled": return "🚫"
        case "lost": return "❓"
        case "unreachable": return "⚠"
        default: return "•"
        }
    }

    static func paint(_ word: String, _ status: String, _ colour: Bool) -> String {
        let code: String
        switch status {
        case "success": code = "32"
        case "failed", "lost": code = "31"
        case "running", "unreachable": code = "33"
        default: code = "2"
        }
        return Terminal.colour(word, code, enabled: colour)
    }

    /// A finished job: the seed's renderJobFinal, for any terminal status. `job.status` is the
    /// status being published.
    public static func finalBlock(job: JobRecord, workspace: String?, artifactDir: String, colour: Bool = false) -> String {
        let status = job.status.rawValue
        var out = "   \(Terminal.padRight(Terminal.visible(job.name), 12)) \(icon(status)) \(paint(status, status, colour)) (\(job.duration))\n"
        for s in job.sessions {
            let short = Terminal.visible(s.short ?? s.name)
            if let ended = s.ended {
                let ok = s.exitCode == 0
                let duration = TimeFormat.duration(from: s.created > 0 ? s.created : nil, to: ended)
                out += "   \(Terminal.padRight(short, 12)) \(ok ? "✅" : "❌") \(paint("done", ok ? "success" : "failed", colour)) (\(duration))\n"
            } else {
                // Only a cancelled or lost job has sessions that never ended.
                out += "   \(Terminal.padRight(short, 12)) \(icon(status)) \(paint(status, status, colour))\n"
            }
        }
        out += "\n"
        if let workspace, !workspace.isEmpty { out += "   workspace:  \(Terminal.visible(workspace))\n" }
        out += "   artifacts:  \(Terminal.visible(FileSystem.join(artifactDir, job.name, job.jobID)))\n"
        out += "\n"
        return out
    }

    /// A running job: the seed's renderJobRunning, its header line and one line per session.
    public static func runningLines(job: JobRecord, now: Int, colour: Bool = false) -> [String] {
        var lines = ["   \(Terminal.padRight(Terminal.visible(job.name), 12)) 🚀 \(paint("running", "running", colour))"]
        for s in job.sessions {
            let status: String
            var detail = ""
            let duration: String
            if let ended = s.ended {
                status = s.exitCode == 0 ? "success" : "failed"
                if status == "failed", let code = s.exitCode { detail = ", exit \(code)" }
                duration = TimeFormat.duration(from: s.created > 0 ? s.created : nil, to: ended)
            } else {
                status = s.status == .unreachable ? "unreachable" : "running"
                duration = TimeFormat.duration(from: s.created > 0 ? s.created : nil, to: now)
            }
            if !duration.isEmpty && duration != "—" { detail += " (\(duration))" }
            lines.append("   \(Terminal.padRight(Terminal.visible(s.short ?? s.name), 12)) \(icon(status)) \(paint(status, status, colour))\(detail)")
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
