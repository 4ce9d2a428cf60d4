/// `--view`: every job of the stream as it stands, for looking, not publishing. Nothing is
/// locked, written or synced and no state is read or kept, so a person who looks at the jobs
/// never takes a status line from the monitor that publishes them.
public enum View {
    /// Each job in stream order: at a terminal (`human`) the running lines of a running job
    /// and the finished block of an ended one; otherwise its status line, running or not.
    public static func render(_ jobs: [JobRecord], human: Bool, colour: Bool, now: Int) -> [UInt8] {
        var out: [UInt8] = []
        for job in jobs {
            if !human {
                out += StatusLine.bytes(for: job, timestamp: now) + [0x0A]
            } else if job.status == .running {
                out += Array((HumanOutput.runningLines(job: job, now: now, colour: colour).joined(separator: "\n") + "\n\n").utf8)
            } else {
                out += Array(HumanOutput.finalBlock(job: job, workspace: nil, artifactDir: nil, colour: colour).utf8)
            }
        }
        if human && jobs.isEmpty { out += Array("   no jobs\n".utf8) }
        return out
    }
}
