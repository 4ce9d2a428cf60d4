import Glibc

/// The rsync side of a pass: each job's pages to its event's `artifact_dest`, retried from
/// `DIR/.pici/sync/` until rsync succeeds.
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

    /// rsync while the job runs; a failure is reported and the next pass tries again anyway.
    func syncNow(_ name: String, _ id: String) {
        guard let dest = event(name, id)?.artifactDest, !dest.isEmpty else { return }
        do {
            try options.artifactSync.sync(jobDir: jobDir(name, id), destination: dest)
        } catch {
            report(.unavailable, "job \(name) \(id): sync: \(error)")
        }
    }

    /// rsync a published job, removing its marker once rsync succeeded.
    func syncPending(_ name: String, _ id: String) {
        synced.insert(Publisher.key(name, id))
        let marker = syncMarkerPath(name, id)
        guard FileSystem.exists(marker) else { return }
        if let dest = event(name, id)?.artifactDest, !dest.isEmpty {
            do {
                try options.artifactSync.sync(jobDir: jobDir(name, id), destination: dest)
            } catch {
                report(.unavailable, "job \(name) \(id): sync: \(error); will retry next pass")
                return
            }
        }
        do { try FileSystem.remove(marker) } catch { report(.cannotCreate, "\(error)") }
    }

    /// Every published job whose rsync has not succeeded yet.
    func retrySyncs() {
        guard options.sync else { return }
        for file in FileSystem.list(syncDir) where !file.hasPrefix(".") {
            let path = syncDir + "/" + file
            guard let bytes = try? FileSystem.readFile(path, limit: 1 << 16),
                  case .object(let o)? = try? JSONParser.parse(bytes),
                  let name = o["name"]?.stringValue, let id = o["job_id"]?.stringValue,
                  SafeName.isSafe(name), SafeName.isSafe(id)
            else {
                report(.dataError, "\(path): not a sync marker; left alone")
                continue
            }
            if synced.contains(Publisher.key(name, id)) { continue }
            syncPending(name, id)
        }
    }
}
