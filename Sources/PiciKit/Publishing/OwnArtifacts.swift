import Glibc

/// A job's own files: what its steps left in `$PICO_CI_ARTIFACTS`, copied into the job's
/// `artifacts/` when its end is published, so they are listed on its page and synced with it.
/// The directory is the job's to fill, so it is read with care: only regular files at its top
/// level, no symbolic links (a step could point one at any file of ours), names that are safe
/// and not pici's own, and no more than `capBytes` in all.
extension Publisher {
    /// The most a job's own files may take, together.
    public static let ownArtifactsCapBytes = 50 << 20
    /// pici's files in `artifacts/`, which a job's file of the same name must not replace.
    /// A forged marker would change the job's status (`timeout.json`: exit 124) or its page.
    static let reservedArtifactNames: Set<String> = [
        "event.json", "attestation.json", "published.json", "cancelled.json", "timeout.json", "rerun.json",
    ]

    func collectOwnArtifacts(_ name: String, _ id: String) {
        let marker = jobDir(name, id) + "/" + JobFiles.markerName
        guard let text = try? FileSystem.readText(marker),
              let source = text.split(separator: "\n").first.map(String.init), source.hasPrefix("/") else { return }
        let target = artifactsDir(name, id)
        var budget = Publisher.ownArtifactsCapBytes
        for file in FileSystem.list(source) {
            let path = source + "/" + file
            let why: String?
            if !SafeName.isSafe(file) || Publisher.reservedArtifactNames.contains(file) {
                why = "not a name pici copies"
            } else if let info = FileSystem.info(path) {
                if info.isSymlink { why = "a symbolic link" }
                else if !info.isRegular { why = "not a regular file" }
                else if info.size > budget { why = "over the \(Publisher.ownArtifactsCapBytes >> 20) MB the job's files may take" }
                else { why = nil }
            } else {
                why = "gone"
            }
            if let why {
                Diagnostics.error("job \(name) \(id): artifact \(SafeName.quoted(file)) not copied: \(why)")
                continue
            }
            do {
                let bytes = try Publisher.readRegularFile(path, limit: budget)
                try FileSystem.makeDirectories(target)
                try FileSystem.writeAtomically(target + "/" + file, bytes)
                budget -= bytes.count
            } catch {
                Diagnostics.error("job \(name) \(id): artifact \(SafeName.quoted(file)) not copied: \(error)")
            }
        }
    }

    /// Reads a file that must still be a regular file when opened (O_NOFOLLOW: a link swapped
    /// in after the check is refused) and no longer than `limit`.
    static func readRegularFile(_ path: String, limit: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { throw FileError("open", path) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { throw FileError("open", path, EINVAL) }
        guard Int(st.st_size) <= limit else { throw FileError("read", path, EFBIG) }
        // A file that grew past `limit` since the check: refused once more than it is read.
        let bytes = try FileSystem.read(fd: fd, untilAtLeast: limit + 1, name: path)
        guard bytes.count <= limit else { throw FileError("read", path, EFBIG) }
        return bytes
    }

    /// The push that superseded a cancelled job, from its cancelled.json.
    func supersededBy(_ name: String, _ id: String) -> Superseding? {
        guard let bytes = try? FileSystem.readFile(cancelledPath(name, id), limit: 1 << 16),
              case .object(let o)? = try? JSONParser.parse(bytes) else { return nil }
        return Superseding(marker: o)
    }
}
