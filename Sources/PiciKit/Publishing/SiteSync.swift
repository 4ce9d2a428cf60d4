import Glibc

/// `--site-dest SITE`: the whole artifact tree at one destination, laid out as it is here
/// (`SITE/index.html`, `SITE/feed.xml`, `SITE/<name>/badge.svg`, `SITE/<name>/<job_id>/`), so
/// that every link of every page works there. It is one more destination of SyncRunner, not a
/// copy of the tree: each marked job's files go to `SITE/<name>/<job_id>`, which joins the
/// other jobs' and the tree's own files in one rsync to SITE, and only what changed is sent.
///
/// Its records, beside the per-job ones of `artifact_dest` (a job can have both):
/// - `DIR/.pici/site-sent/<name>.<job_id>.json` — which files of the job reached the site;
/// - `DIR/.pici/site-sent.json` — which of the tree's own files did. Until it names SITE,
///   every job of the tree is marked, so a site added to an old tree gets all of it.
extension SyncState {
    var siteSentDir: String { stateDir + "/site-sent" }
    var siteTopSentPath: String { stateDir + "/site-sent.json" }

    func siteSentPath(_ name: String, _ id: String) -> String { siteSentDir + "/" + name + "." + id + ".json" }

    /// The tree's files that belong to no job, by path under DIR: DIR's own regular files
    /// (the front page, styles, the feed) and each repository's badge.
    func topVersions() -> [String: String] {
        var out: [String: String] = [:]
        func add(_ rel: String) {
            var st = stat()
            guard lstat(root + "/" + rel, &st) == 0 else { return }
            let type = st.st_mode & S_IFMT
            if type == S_IFREG { out[rel] = SyncState.version(st) }
        }
        for name in FileSystem.list(root) where !name.hasPrefix(".") {
            if FileSystem.isDirectory(root + "/" + name) {
                // Only the badge: listing a repository's directory would stat every job in it.
                if SafeName.isSafe(name) { add(name + "/" + Publisher.badgeName) }
            } else {
                add(name)
            }
        }
        return out
    }

    /// Every job directory of the tree, as (name, job id).
    func allJobs() -> [(name: String, id: String)] {
        var out: [(name: String, id: String)] = []
        for name in FileSystem.list(root) where SafeName.isSafe(name) && FileSystem.isDirectory(root + "/" + name) {
            for id in FileSystem.list(root + "/" + name) where SafeName.isJobID(Substring(id)) {
                if FileSystem.isDirectory(root + "/" + name + "/" + id) { out.append((name, id)) }
            }
        }
        return out
    }

    /// Marks every job of the tree that is not marked yet.
    func markAll(report: (String) -> Void) {
        for (name, id) in allJobs() where !FileSystem.exists(markerPath(name, id)) {
            do { try mark(name, id) } catch { report("\(error)") }
        }
    }
}

extension SyncRunner {
    /// Where a job's files go at the site.
    static func siteDestination(_ site: String, name: String, id: String) -> String {
        trimmed(site) + "/" + name + "/" + id
    }

    /// Whether two destinations name the same place, trailing slashes aside.
    static func same(_ a: String, _ b: String) -> Bool { trimmed(a) == trimmed(b) }

    /// A destination without trailing slashes (`/` stays), as `route` keys destinations.
    static func trimmed(_ destination: String) -> String {
        var t = Substring(destination)
        while t.count > 1 && t.hasSuffix("/") { t = t.dropLast() }
        return String(t)
    }
}
