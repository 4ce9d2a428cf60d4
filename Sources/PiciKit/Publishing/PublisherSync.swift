import Glibc

/// The rsync side of a pass: each job's pages to its event's `artifact_dest` (`SyncRunner`),
/// marked in `DIR/.pici/sync/` until everything of the published job has arrived.
extension Publisher {
    /// The job's event.json, read once a pass; nil when there is none or it is unreadable
    /// (reported).
    func event(_ name: String, _ id: String) -> Event? {
        let key = Publisher.key(name, id)
        if let cached = events[key] { return cached }
        let path = artifactsDir(name, id) + "/event.json"
        var found: Event? = nil
        if FileSystem.exists(path) {
            do {
                // Only the destination, workspace, branch and commit are wanted here, so the
                // event is held to the checks a cancellation needs, not a new job's.
                found = try Event.parse(try FileSystem.readFile(path, limit: Event.maxSize + 1), for: .cancel)
            } catch {
                report(.dataError, "\(path): \(error)")
            }
        }
        events[key] = found
        return found
    }

    /// A running job with a destination (its own or the site) is marked, so that its pages
    /// follow it there.
    func markForSync(_ name: String, _ id: String) {
        guard options.siteDest != nil || !(event(name, id)?.artifactDest ?? "").isEmpty,
              !FileSystem.exists(syncMarkerPath(name, id)) else { return }
        do { try SyncState(root: root).mark(name, id) } catch { report(.cannotCreate, "\(error)") }
    }

    /// Sends what changed of every marked job, once this pass's lines are out; a failure is
    /// reported and tried again on the next pass. A SIGINT or SIGTERM meanwhile ends the
    /// rsyncs (their whole process groups) and the pass.
    func runSync() {
        let stop = StopSignal.install()
        defer { stop.restore() }
        let runner = SyncRunner(
            artifactDir: root, artifactSync: options.artifactSync, backoff: false, lockHeld: true, site: options.siteDest,
            report: { [unowned self] outcome, message in report(outcome, message) })
        runner.runOnce(stopped: { StopSignal.received })
    }
}
