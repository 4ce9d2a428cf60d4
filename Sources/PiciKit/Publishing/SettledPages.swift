/// A cancelled or lost job's sessions never end, so their last staged pages say "running" and
/// reload every few seconds, forever, here and at the rsync destination. Publishing the job's
/// fate settles them too, before the job's directory is synced.
extension Publisher {
    func settleSessionPages(_ job: JobRecord) {
        guard job.status == .cancelled || job.status == .lost else { return }
        let dir = jobDir(job.name, job.jobID)
        for s in job.sessions where !s.hasEnded {
            let short = Staging.short(of: s, in: job)
            guard SafeName.isSafe(short) else { continue }
            let path = dir + "/" + short + ".html"
            guard let bytes = try? FileSystem.readFile(path),
                  let settled = SessionPage.settled(String(decoding: bytes, as: UTF8.self), as: job.status.rawValue)
            else { continue }
            do { try FileSystem.writeAtomically(path, settled) } catch { report(.cannotCreate, "\(error)") }
        }
    }
}
