/// Turns sessions into jobs with the seed's rules (groupSessionsByJob, resolveJobExitCode,
/// computeJobTiming), keyed by repo and job id found by shape, not by counting dots.
public enum JobGrouping {
    /// Groups the sessions that belong to a job; others are left out. Jobs come ordered by
    /// started_at, then name, then job id; sessions within a job by name. With several hosts,
    /// sessions on different hosts are never one job, and each job carries its host.
    public static func jobs(from sessions: [SessionRecord], now: Int = Clock.nowSeconds()) -> [JobRecord] {
        var groups: [(repo: String, jobID: String, host: String?, sessions: [SessionRecord])] = []
        var index: [String: Int] = [:]
        var last = -1
        for var s in sessions {
            if s.repo == nil || s.jobID == nil, let parsed = JobName.parse(s.name) {
                s.repo = parsed.repo
                s.jobID = parsed.jobID
                s.short = s.short ?? parsed.short
            }
            guard let repo = s.repo, let jobID = s.jobID else { continue }
            if s.short == nil { s.short = JobName.cleanShort(s.name, repo: repo, jobID: jobID) }
            // pici-list's output is sorted, so a job's sessions mostly come together: a repo and
            // id equal to the last session's make an equal key without hashing it again (NUL
            // starts a character of its own, so equal parts make equal keys).
            let host = s.host
            if last < 0 || groups[last].repo != repo || groups[last].jobID != jobID || groups[last].host != host {
                let key = repo + "\u{0}" + jobID + (host.map { "\u{0}" + $0 } ?? "")
                if let g = index[key] {
                    last = g
                } else {
                    last = groups.count
                    index[key] = last
                    groups.append((repo, jobID, host, []))
                }
            }
            groups[last].sessions.append(s)
        }
        var jobs = groups.map { job(name: $0.repo, jobID: $0.jobID, sessions: $0.sessions, now: now) }
        jobs.sort { a, b in
            let sa = a.startedAt ?? "", sb = b.startedAt ?? ""
            if sa != sb { return sa < sb }
            if a.name != b.name { return NameOrder.less(a.name, b.name) }
            return a.jobID < b.jobID
        }
        return jobs
    }

    public static func job(name: String, jobID: String, sessions unsorted: [SessionRecord], now: Int = Clock.nowSeconds()) -> JobRecord {
        let sessions = SessionRecord.sortedByName(unsorted)
        let timing = timing(of: sessions, now: now)
        let finished = sessions.allSatisfy(\.hasEnded)
        let status: JobStatus
        let exitCode: Int?
        if finished {
            let resolved = resolveExitCode(sessions)
            exitCode = resolved.code
            status = resolved.status
        } else {
            exitCode = nil
            status = .running
        }
        var job = JobRecord(
            name: name, jobID: jobID, status: status, exitCode: exitCode, startedAt: timing.startedAt,
            endedAt: timing.endedAt, duration: timing.duration, sessions: sessions)
        job.host = sessions.first?.host
        return job
    }

    /// The seed's resolveJobExitCode: a failed child wins with the highest child code (a bad
    /// pico.sh may exit 0 without waiting for its steps), then a failed runner, else success.
    public static func resolveExitCode(_ sessions: [SessionRecord]) -> (code: Int, status: JobStatus) {
        var runnerExit: Int? = nil
        var worstChild: Int? = nil
        for s in sessions {
            guard let code = s.exitCode else { continue }
            if s.isRunner {
                runnerExit = code
            } else if code != 0 {
                if worstChild == nil || code > worstChild! { worstChild = code }
            }
        }
        if let worstChild { return (worstChild, .failed) }
        if let runnerExit, runnerExit != 0 { return (runnerExit, .failed) }
        return (0, .success)
    }

    /// The seed's computeJobTiming: earliest created, latest ended, and the span between them
    /// (or up to now while running). Unknown timestamps are left out; none at all gives "".
    /// Unlike the seed, a job with a session still running has not ended: no ended_at, and its
    /// duration runs to now instead of freezing when its last finished step ended.
    public static func timing(of sessions: [SessionRecord], now: Int) -> (startedAt: String?, endedAt: String?, duration: String) {
        var created: Int? = nil, ended: Int? = nil
        var allEnded = true
        for s in sessions {
            if s.created > 0, created.map({ s.created < $0 }) ?? true { created = s.created }
            if let e = s.ended {
                if ended.map({ e > $0 }) ?? true { ended = e }
            } else {
                allEnded = false
            }
        }
        if !allEnded { ended = nil }
        let duration: String
        if let created, let ended {
            duration = TimeFormat.duration(from: created, to: ended)
        } else if let created {
            duration = TimeFormat.duration(from: created, to: now)
        } else {
            duration = ""
        }
        // A time gmtime cannot place is unknown: null, as pici-records(5) says, never "—".
        func rfc3339(_ t: Int) -> String? {
            let text = TimeFormat.rfc3339(t)
            return text == TimeFormat.rfc3339(Int.max) ? nil : text
        }
        return (created.flatMap(rfc3339), ended.flatMap(rfc3339), duration)
    }
}
