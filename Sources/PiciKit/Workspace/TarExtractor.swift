import Glibc

/// Streams a tar archive (v7, ustar, GNU long names, PAX) into a directory without ever
/// writing outside it. Artifacts come from jobs we do not trust, so every member path is
/// walked one component at a time with `O_NOFOLLOW` from a descriptor of the destination:
/// a symlink planted by an earlier member (or already in the directory) is refused, never
/// followed, even if it appears between our check and our write.
public struct TarExtractor {
    /// Extracts `archive` into `dir` (created if missing) and returns the members written, as
    /// paths relative to `dir`, in archive order. Throws `TarError` on the first hostile or
    /// corrupt member; whatever was already written inside `dir` stays.
    public static func extract(archive: String, into dir: String) throws -> [String] {
        let reader = try ArchiveReader(path: archive)
        let destination = try TarDestination(path: dir)
        var extraction = Extraction(reader: reader, destination: destination)
        return try extraction.run()
    }
}

// MARK: - Extraction

/// Longest GNU long name or PAX header accepted; real ones are a few hundred bytes, and the
/// limit keeps a hostile size from making us buffer gigabytes.
private let maxMetadataSize = 1 << 20

private struct Extraction {
    let reader: ArchiveReader
    let destination: TarDestination
    var written: [String] = []
    /// Members a hard link may point at: only what this archive already put in place.
    var linkable: Set<String> = []
    /// Directory modes are applied at the end so a read-only directory can still be filled.
    var directoryModes: [(parts: [String], mode: mode_t)] = []

    // Metadata that applies to the next real member only.
    var longName: String?
    var longLink: String?
    var paxPath: String?
    var paxLinkPath: String?
    var paxSize: Int?

    init(reader: ArchiveReader, destination: TarDestination) {
        self.reader = reader
        self.destination = destination
    }

    mutating func run() throws -> [String] {
        while true {
            let headerOffset = reader.offset
            guard let block = try reader.readBlock() else {
                throw TarError.corrupt(offset: headerOffset, reason: "archive ends without an end-of-archive marker")
            }
            guard let header = try TarHeader.parse(block, offset: headerOffset) else {
                let secondOffset = reader.offset
                // One zero block then EOF is common enough (old writers) to accept.
                guard let second = try reader.readBlock(), second.contains(where: { $0 != 0 }) else { break }
                throw TarError.corrupt(offset: secondOffset, reason: "a lone zero block inside the archive")
            }
            try member(header, at: headerOffset)
        }
        try applyDirectoryModes()
        return written
    }

    private mutating func member(_ header: TarHeader, at headerOffset: Int) throws {
        let padded = (header.size + 511) / 512 * 512
        try reader.ensureAvailable(padded, headerOffset: headerOffset)
        switch header.kind {
        case .gnuLongName:
            longName = try nameText(readMetadata(header, at: headerOffset))
            try reader.skip(padded - header.size)
            return
        case .gnuLongLink:
            longLink = try nameText(readMetadata(header, at: headerOffset))
            try reader.skip(padded - header.size)
            return
        case .paxExtended:
            let data = try readMetadata(header, at: headerOffset)
            try reader.skip(padded - header.size)
            try applyPax(data, at: headerOffset)
            return
        case .paxGlobal:
            try reader.skip(padded)
            return
        default:
            break
        }

        let name = paxPath ?? longName ?? header.name
        let link = paxLinkPath ?? longLink ?? header.linkName
        let size = paxSize ?? header.size
        longName = nil; longLink = nil; paxPath = nil; paxLinkPath = nil; paxSize = nil
        let dataPadded = (size + 511) / 512 * 512
        if size != header.size { try reader.ensureAvailable(dataPadded, headerOffset: headerOffset) }

        var kind = header.kind
        // v7 tars mark directories only by a trailing slash.
        if kind == .regular && name.hasSuffix("/") { kind = .directory }
        if case .other = kind {
            try reader.skip(dataPadded)
            return
        }

        let parts = try components(of: name, member: name, role: "name")
        switch kind {
        case .regular:
            try writeFile(parts, member: name, size: size, mode: header.mode)
            try reader.skip(dataPadded - size)
            return
        case .directory:
            if !parts.isEmpty { try makeDirectory(parts, member: name, mode: header.mode) }
        case .symlink:
            try makeSymlink(parts, member: name, target: link)
        case .hardLink:
            try makeHardLink(parts, member: name, target: link)
        default:
            break  // devices and fifos: never created
        }
        try reader.skip(dataPadded)
    }

    // MARK: Members

    private mutating func writeFile(_ parts: [String], member: String, size: Int, mode: UInt32) throws {
        let (parent, leaf) = try openParent(parts, member: member)
        defer { close(parent) }
        let relative = parts.joined(separator: "/")
        try destination.removeNonDirectory(parent, leaf, relative: relative)
        let fd = openat(parent, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw destination.error(relative, errno) }
        var open = true
        do {
            try reader.stream(size) { chunk in
                if let e = writeAll(fd, chunk) { throw destination.error(relative, e) }
            }
            if fchmod(fd, permissions(mode)) != 0 { throw destination.error(relative, errno) }
            open = false
            if close(fd) != 0 { throw destination.error(relative, errno) }
        } catch {
            if open { close(fd) }
            unlinkat(parent, leaf, 0)  // a half-written member is worse than none
            throw error
        }
        written.append(relative)
        linkable.insert(relative)
    }

    private mutating func makeDirectory(_ parts: [String], member: String, mode: UInt32) throws {
        let (parent, leaf) = try openParent(parts, member: member)
        defer { close(parent) }
        let relative = parts.joined(separator: "/")
        switch destination.kind(parent, leaf) {
        case .missing:
            if mkdirat(parent, leaf, 0o755) != 0 && errno != EEXIST { throw destination.error(relative, errno) }
        case .directory:
            break
        case .symlink:
            throw TarError.unsafeMember(name: member, reason: "\"\(relative)\" is an existing symlink")
        case .other:
            throw destination.error(relative, EEXIST)
        case .failed(let e):
            throw destination.error(relative, e)
        }
        written.append(relative)
        directoryModes.append((parts, permissions(mode)))
    }

    private mutating func makeSymlink(_ parts: [String], member: String, target: String) throws {
        guard !parts.isEmpty else { throw TarError.unsafeMember(name: member, reason: "names the destination itself") }
        try checkSymlinkTarget(target, depth: parts.count - 1, member: member)
        let (parent, leaf) = try openParent(parts, member: member)
        defer { close(parent) }
        let relative = parts.joined(separator: "/")
        try destination.removeNonDirectory(parent, leaf, relative: relative)
        if symlinkat(target, parent, leaf) != 0 { throw destination.error(relative, errno) }
        written.append(relative)
        linkable.insert(relative)
    }

    private mutating func makeHardLink(_ parts: [String], member: String, target: String) throws {
        guard !parts.isEmpty else { throw TarError.unsafeMember(name: member, reason: "names the destination itself") }
        let targetParts = try components(of: target, member: member, role: "hard link target")
        let targetRelative = targetParts.joined(separator: "/")
        let relative = parts.joined(separator: "/")
        guard linkable.contains(targetRelative) else {
            throw TarError.unsafeMember(name: member,
                                       reason: "hard link target \"\(target)\" is not a member extracted earlier")
        }
        if targetRelative == relative { return }  // a link to itself: already there
        let (targetParent, targetLeaf) = try openParent(targetParts, member: member, create: false)
        defer { close(targetParent) }
        let (parent, leaf) = try openParent(parts, member: member)
        defer { close(parent) }
        try destination.removeNonDirectory(parent, leaf, relative: relative)
        // Flags 0: linkat does not dereference a symlink at the target.
        if linkat(targetParent, targetLeaf, parent, leaf, 0) != 0 { throw destination.error(relative, errno) }
        written.append(relative)
        linkable.insert(relative)
    }

    private mutating func applyDirectoryModes() throws {
        // Deepest first, so a directory made unwritable does not block its children's chmod;
        // for the same depth keep archive order, so a repeated directory gets its last mode.
        let ordered = directoryModes.enumerated().sorted {
            $0.element.parts.count != $1.element.parts.count
                ? $0.element.parts.count > $1.element.parts.count : $0.offset < $1.offset
        }
        for (_, entry) in ordered {
            let relative = entry.parts.joined(separator: "/")
            let (parent, leaf) = try openParent(entry.parts, member: relative, create: false)
            defer { close(parent) }
            let fd = openat(parent, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { throw destination.error(relative, errno) }
            defer { close(fd) }
            if fchmod(fd, entry.mode) != 0 { throw destination.error(relative, errno) }
        }
    }

    private func openParent(_ parts: [String], member: String, create: Bool = true) throws -> (Int32, String) {
        guard let leaf = parts.last else {
            throw TarError.unsafeMember(name: member, reason: "names the destination itself")
        }
        return (try destination.openDirectory(parts.dropLast(), member: member, create: create), leaf)
    }

    // MARK: Metadata

    private func readMetadata(_ header: TarHeader, at headerOffset: Int) throws -> [UInt8] {
        guard header.size <= maxMetadataSize else {
            throw TarError.corrupt(offset: headerOffset, reason: "extended header of \(header.size) bytes is too large")
        }
        return try reader.read(header.size)
    }

    /// GNU long names are NUL-terminated; a NUL inside is kept so validation refuses it.
    private func nameText(_ data: [UInt8]) -> String {
        var end = data.count
        while end > 0 && data[end - 1] == 0 { end -= 1 }
        return String(decoding: data[0..<end], as: UTF8.self)
    }

    /// PAX records are `LEN KEY=VALUE\n`, LEN counting the whole record.
    private mutating func applyPax(_ data: [UInt8], at headerOffset: Int) throws {
        func corrupt(_ reason: String) -> TarError { .corrupt(offset: headerOffset, reason: "PAX header: " + reason) }
        var i = 0
        while i < data.count {
            if data[i] == 0 { break }  // some writers pad the data with NULs
            var length = 0
            var j = i
            while j < data.count, data[j] >= UInt8(ascii: "0"), data[j] <= UInt8(ascii: "9") {
                length = length * 10 + Int(data[j] - UInt8(ascii: "0"))
                guard length <= data.count else { throw corrupt("record length runs past the header") }
                j += 1
            }
            guard j > i, j < data.count, data[j] == UInt8(ascii: " ") else { throw corrupt("bad record length") }
            let end = i + length
            guard end <= data.count, end > j + 1, data[end - 1] == UInt8(ascii: "\n") else {
                throw corrupt("bad record length")
            }
            let record = data[(j + 1)..<(end - 1)]
            guard let equals = record.firstIndex(of: UInt8(ascii: "=")) else { throw corrupt("record without '='") }
            let key = String(decoding: record[record.startIndex..<equals], as: UTF8.self)
            let valueBytes = record[(equals + 1)...]
            let value = valueBytes.isEmpty ? nil : String(decoding: valueBytes, as: UTF8.self)
            switch key {
            case "path": paxPath = value
            case "linkpath": paxLinkPath = value
            case "size":
                if let value {
                    guard let size = Int(value), size >= 0, size <= TarHeader.maxSize else {
                        throw corrupt("bad size \"\(value)\"")
                    }
                    paxSize = size
                } else {
                    paxSize = nil
                }
            default: break
            }
            i = end
        }
    }
}

// MARK: - Path checks

/// Splits a member path into components, refusing anything that could leave the destination.
/// `.` and empty components are dropped, so `./a//b` is `a/b` and `./` is the destination.
private func components(of path: String, member: String, role: String) throws -> [String] {
    func refuse(_ reason: String) -> TarError { .unsafeMember(name: member, reason: reason) }
    if path.isEmpty { throw refuse("empty \(role)") }
    if path.utf8.contains(0) { throw refuse("NUL in \(role)") }
    if path.hasPrefix("/") { throw refuse("absolute \(role)") }
    var parts: [String] = []
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
        if part == "." { continue }
        if part == ".." { throw refuse("'..' component in \(role)") }
        parts.append(String(part))
    }
    return parts
}

/// A symlink target may climb with leading `..` only as far as the destination root, then name
/// children. A `..` after a name is refused: what it means depends on whether that name is a
/// symlink, which a later member could change, so it cannot be checked lexically.
private func checkSymlinkTarget(_ target: String, depth: Int, member: String) throws {
    func refuse(_ reason: String) -> TarError { .unsafeMember(name: member, reason: reason) }
    if target.isEmpty { throw refuse("empty symlink target") }
    if target.utf8.contains(0) { throw refuse("NUL in symlink target") }
    if target.hasPrefix("/") { throw refuse("absolute symlink target \"\(target)\"") }
    var climbs = 0
    var named = false
    for part in target.split(separator: "/", omittingEmptySubsequences: true) where part != "." {
        if part == ".." {
            if named { throw refuse("symlink target \"\(target)\" has '..' after a name") }
            climbs += 1
            if climbs > depth { throw refuse("symlink target \"\(target)\" escapes the destination") }
        } else {
            named = true
        }
    }
}

/// Permission bits only, never setuid/setgid/sticky, never group- or world-writable.
private func permissions(_ mode: UInt32) -> mode_t { mode_t(mode & 0o755) }

private func writeAll(_ fd: Int32, _ chunk: UnsafeRawBufferPointer) -> Int32? {
    guard var p = chunk.baseAddress else { return nil }
    var left = chunk.count
    while left > 0 {
        let n = write(fd, p, left)
        if n < 0 {
            if errno == EINTR { continue }
            return errno
        }
        p = p.advanced(by: n)
        left -= n
    }
    return nil
}
