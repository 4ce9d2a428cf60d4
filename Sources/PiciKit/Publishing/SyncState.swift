import Glibc

/// What the syncing of artifacts keeps under `DIR/.pici/` between passes, so that a monitor
/// can be killed at any time and restarted:
/// - `sync/<name>.<job_id>` — a job that may have files its `artifact_dest` lacks (written by
///   pici-publish while the job runs and when it is published; removed once everything of a
///   published job has arrived);
/// - `sent/<name>.<job_id>.json` — which version of each of the job's files reached which
///   destination (`{"dest":D,"files":{PATH:VERSION}}`), so only what changed is sent again;
/// - `sync-backoff.json` — per destination, failures in a row and when to try again.
struct SyncState {
    let root: String
    var stateDir: String { root + "/.pici" }
    var markerDir: String { stateDir + "/sync" }
    var sentDir: String { stateDir + "/sent" }
    var backoffPath: String { stateDir + "/sync-backoff.json" }

    func markerPath(_ name: String, _ id: String) -> String { markerDir + "/" + name + "." + id }
    func sentPath(_ name: String, _ id: String) -> String { sentDir + "/" + name + "." + id + ".json" }
    func jobDir(_ name: String, _ id: String) -> String { root + "/" + name + "/" + id }

    /// Every job with a marker, as (name, job id); a marker that is not one is reported.
    func markers(report: (String) -> Void) -> [(name: String, id: String)] {
        var out: [(name: String, id: String)] = []
        for file in FileSystem.list(markerDir) where !file.hasPrefix(".") {
            let path = markerDir + "/" + file
            guard let bytes = try? FileSystem.readFile(path, limit: 1 << 16),
                  case .object(let o)? = try? JSONParser.parse(bytes),
                  let name = o["name"]?.stringValue, let id = o["job_id"]?.stringValue,
                  SafeName.isSafe(name), SafeName.isSafe(id)
            else {
                report("\(path): not a sync marker; left alone")
                continue
            }
            out.append((name, id))
        }
        return out
    }

    /// Marks the job as having files to send (atomically, so a reader never sees half).
    func mark(_ name: String, _ id: String) throws {
        let marker = JSONObject(["name": .string(name), "job_id": .string(id)])
        try FileSystem.writeAtomically(markerPath(name, id), JSONSerializer.bytes(.object(marker)) + [0x0A])
    }

    // MARK: What was sent

    struct Sent {
        var destination: String
        var files: [String: String]
    }

    func sent(_ name: String, _ id: String) -> Sent? { sent(at: sentPath(name, id)) }

    func sent(at path: String) -> Sent? {
        guard let bytes = try? FileSystem.readFile(path, limit: 64 << 20),
              case .object(let o)? = try? JSONParser.parse(bytes),
              let dest = o["dest"]?.stringValue, case .object(let files)? = o["files"]
        else { return nil }
        var map: [String: String] = [:]
        for m in files.members { if let s = m.value.stringValue { map[m.key] = s } }
        return Sent(destination: dest, files: map)
    }

    func writeSent(_ name: String, _ id: String, _ sent: Sent) throws { try writeSent(at: sentPath(name, id), sent) }

    func writeSent(at path: String, _ sent: Sent) throws {
        var files = JSONObject()
        for k in sent.files.keys.sorted() { files.append(k, .string(sent.files[k]!)) }
        var o = JSONObject()
        o.append("dest", .string(sent.destination))
        o.append("files", .object(files))
        try FileSystem.makeDirectories(sentDir)
        try FileSystem.writeAtomically(path, JSONSerializer.bytes(.object(o)) + [0x0A])
    }

    /// Every regular file under the job's directory, by its path there, with a version that
    /// changes whenever the file is replaced or written: inode, ctime and size. (The ctime
    /// cannot be set back, unlike the mtime pici-stage dates running snapshots with.) Hidden
    /// files — temporary files of atomic writes, rsync's `.pici-*` — are not artifacts.
    static func versions(under dir: String) -> [String: String] {
        var out: [String: String] = [:]
        func walk(_ rel: String, depth: Int) {
            let base = rel.isEmpty ? dir : dir + "/" + rel
            for name in FileSystem.list(base) where !name.hasPrefix(".") {
                let relPath = rel.isEmpty ? name : rel + "/" + name
                var st = stat()
                guard lstat(base + "/" + name, &st) == 0 else { continue }
                let type = st.st_mode & S_IFMT
                if type == S_IFDIR {
                    if depth < 8 { walk(relPath, depth: depth + 1) }
                } else if type == S_IFREG {
                    out[relPath] = version(st)
                }
            }
        }
        walk("", depth: 0)
        return out
    }

    static func version(_ st: stat) -> String {
        "\(st.st_ino):\(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec):\(st.st_size)"
    }

    // MARK: Backoff

    struct Backoff {
        var failures: Int
        /// Unix seconds before which the destination is not tried again.
        var retryAt: Int
    }

    /// 10 s after the first failure, doubling to at most 10 min.
    static func delay(afterFailures n: Int) -> Int {
        min(600, 10 << min(max(n - 1, 0), 6))
    }

    func backoffs() -> [String: Backoff] {
        guard let bytes = try? FileSystem.readFile(backoffPath, limit: 16 << 20),
              case .object(let o)? = try? JSONParser.parse(bytes) else { return [:] }
        var out: [String: Backoff] = [:]
        for m in o.members {
            let dest = m.key, v = m.value
            guard case .object(let b) = v, let f = b["failures"]?.intValue, let t = b["retry_at"]?.intValue else { continue }
            out[dest] = Backoff(failures: f, retryAt: t)
        }
        return out
    }

    func writeBackoffs(_ table: [String: Backoff]) throws {
        var o = JSONObject()
        for dest in table.keys.sorted() {
            let b = table[dest]!
            o.append(dest, .object(JSONObject(["failures": .int(b.failures), "retry_at": .int(b.retryAt)])))
        }
        try FileSystem.writeAtomically(backoffPath, JSONSerializer.bytes(.object(o)) + [0x0A])
    }
}
