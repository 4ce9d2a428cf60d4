import Foundation
import Glibc
import PiciKit
import XCTest

/// Builds tar archives byte by byte, so hostile members need no cooperation from GNU tar.
private struct HandTar {
    var bytes: [UInt8] = []

    static func header(name: String, type: Character = "0", size: Int = 0, link: String = "",
                       mode: Int = 0o644, prefix: String = "", nameBytes: [UInt8]? = nil,
                       sizeField: [UInt8]? = nil) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ value: [UInt8], at offset: Int, width: Int) {
            for (i, byte) in value.prefix(width).enumerated() { block[offset + i] = byte }
        }
        func octal(_ value: Int, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
        }
        put(nameBytes ?? Array(name.utf8), at: 0, width: 100)
        put(octal(mode, width: 8), at: 100, width: 8)
        put(octal(0, width: 8), at: 108, width: 8)
        put(octal(0, width: 8), at: 116, width: 8)
        put(sizeField ?? octal(size, width: 12), at: 124, width: 12)
        put(octal(1_700_000_000, width: 12), at: 136, width: 12)
        block[156] = type.asciiValue!
        put(Array(link.utf8), at: 157, width: 100)
        put(Array("ustar\u{0}00".utf8), at: 257, width: 8)
        put(Array(prefix.utf8), at: 345, width: 155)
        fixChecksum(&block)
        return block
    }

    static func fixChecksum(_ block: inout [UInt8]) {
        for i in 148..<156 { block[i] = UInt8(ascii: " ") }
        let sum = block.reduce(0) { $0 + Int($1) }
        let digits = String(sum, radix: 8)
        let field = Array((String(repeating: "0", count: 6 - digits.count) + digits).utf8) + [0, UInt8(ascii: " ")]
        for (i, byte) in field.enumerated() { block[148 + i] = byte }
    }

    mutating func entry(_ header: [UInt8], data: [UInt8] = []) {
        bytes += header
        bytes += data
        bytes += [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    mutating func file(_ name: String, _ content: String = "", mode: Int = 0o644, prefix: String = "") {
        let data = Array(content.utf8)
        entry(Self.header(name: name, size: data.count, mode: mode, prefix: prefix), data: data)
    }

    mutating func directory(_ name: String, mode: Int = 0o755) {
        entry(Self.header(name: name, type: "5", mode: mode))
    }

    mutating func symlink(_ name: String, to target: String) {
        entry(Self.header(name: name, type: "2", link: target, mode: 0o777))
    }

    mutating func hardLink(_ name: String, to target: String) {
        entry(Self.header(name: name, type: "1", link: target))
    }

    mutating func gnuLongName(_ name: [UInt8]) {
        let data = name + [0]
        entry(Self.header(name: "././@LongLink", type: "L", size: data.count), data: data)
    }

    mutating func pax(_ records: [(String, String)], global: Bool = false) {
        var data: [UInt8] = []
        for (key, value) in records {
            let body = " \(key)=\(value)\n"
            var length = body.utf8.count + 1
            while String(length).count + body.utf8.count != length { length = String(length).count + body.utf8.count }
            data += Array("\(length)\(body)".utf8)
        }
        entry(Self.header(name: "PaxHeaders/x", type: global ? "g" : "x", size: data.count), data: data)
    }

    mutating func finish() { bytes += [UInt8](repeating: 0, count: 1024) }

    func write(to path: String) {
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    }
}

final class TarTests: XCTestCase {
    private var root = ""
    private var dest: String { root + "/dest" }
    private var archive: String { root + "/archive.tar" }

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "pici-tar-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        makeRemovable(root)
        try? FileManager.default.removeItem(atPath: root)
    }

    // MARK: helpers

    @discardableResult
    private func run(_ executable: String, _ arguments: [String], in directory: String? = nil) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    private func tar(_ arguments: [String], in directory: String) throws {
        XCTAssertEqual(try run("/usr/bin/env", ["tar"] + arguments, in: directory), 0, "tar \(arguments)")
    }

    /// Extracted read-only directories would make removal fail for a non-root user.
    private func makeRemovable(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0, st.st_mode & 0o170000 == 0o040000 else { return }
        chmod(path, 0o700)
        for child in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] {
            makeRemovable(path + "/" + child)
        }
    }

    /// Serves `bytes` through a FIFO, so the extractor cannot learn the size up front.
    private func fifo(_ bytes: [UInt8]) -> String {
        let path = root + "/pipe.tar"
        XCTAssertEqual(mkfifo(path, 0o600), 0)
        signal(SIGPIPE, SIG_IGN)
        Thread {
            let fd = open(path, O_WRONLY)
            guard fd >= 0 else { return }
            bytes.withUnsafeBytes { raw in
                var done = 0
                while done < raw.count {
                    let n = write(fd, raw.baseAddress! + done, raw.count - done)
                    if n <= 0 { break }
                    done += n
                }
            }
            close(fd)
        }.start()
        return path
    }

    /// lstat, so a dangling or hostile symlink counts as existing.
    private func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    private func read(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    private func mode(_ path: String) -> mode_t {
        var st = stat()
        XCTAssertEqual(lstat(path, &st), 0, path)
        return st.st_mode & 0o7777
    }

    private func extract(_ hand: HandTar) throws -> [String] {
        var hand = hand
        hand.finish()
        hand.write(to: archive)
        return try TarExtractor.extract(archive: archive, into: dest)
    }

    /// Extraction must stop with `unsafeMember` naming `member`.
    private func assertRefused(_ hand: HandTar, member: String, reasonContains: String? = nil,
                               file: StaticString = #filePath, line: UInt = #line) {
        do {
            let written = try extract(hand)
            XCTFail("extracted \(written) instead of refusing \(member)", file: file, line: line)
        } catch TarError.unsafeMember(let name, let reason) {
            XCTAssertEqual(name, member, file: file, line: line)
            if let reasonContains {
                XCTAssertTrue(reason.contains(reasonContains), "reason: \(reason)", file: file, line: line)
            }
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }

    private func assertCorrupt(_ path: String, offset: Int? = nil, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let written = try TarExtractor.extract(archive: path, into: dest)
            XCTFail("extracted \(written) from a corrupt archive", file: file, line: line)
        } catch TarError.corrupt(let at, _) {
            if let offset { XCTAssertEqual(at, offset, file: file, line: line) }
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
    }

    // MARK: well-formed archives

    func testExtractsTreeBuiltBySystemTar() throws {
        let src = root + "/src"
        let fm = FileManager.default
        let longName = String(repeating: "x", count: 120) + ".txt"
        try fm.createDirectory(atPath: src + "/tree/sub/deeper", withIntermediateDirectories: true)
        _ = fm.createFile(atPath: src + "/tree/file.txt", contents: Data("hello\n".utf8))
        _ = fm.createFile(atPath: src + "/tree/run.sh", contents: Data("#!/bin/sh\n".utf8),
                      attributes: [.posixPermissions: 0o755])
        _ = fm.createFile(atPath: src + "/tree/sub/" + longName, contents: Data("long\n".utf8))
        let big = (0..<200_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        _ = fm.createFile(atPath: src + "/tree/sub/big.bin", contents: Data(big))
        try fm.createSymbolicLink(atPath: src + "/tree/sub/link", withDestinationPath: "../file.txt")
        XCTAssertEqual(link(src + "/tree/file.txt", src + "/tree/hard.txt"), 0)
        try tar(["--format=gnu", "-cf", archive, "tree"], in: src)

        let written = try TarExtractor.extract(archive: archive, into: dest)

        XCTAssertEqual(Set(written), ["tree", "tree/sub", "tree/sub/deeper", "tree/file.txt", "tree/run.sh",
                                      "tree/sub/" + longName, "tree/sub/big.bin", "tree/sub/link", "tree/hard.txt"])
        XCTAssertEqual(read(dest + "/tree/file.txt"), "hello\n")
        XCTAssertEqual(read(dest + "/tree/sub/" + longName), "long\n")
        XCTAssertEqual(FileManager.default.contents(atPath: dest + "/tree/sub/big.bin"), Data(big))
        XCTAssertEqual(try fm.destinationOfSymbolicLink(atPath: dest + "/tree/sub/link"), "../file.txt")
        XCTAssertEqual(read(dest + "/tree/sub/link"), "hello\n")
        XCTAssertEqual(mode(dest + "/tree/run.sh"), 0o755)
        var a = stat(), b = stat()
        XCTAssertEqual(lstat(dest + "/tree/file.txt", &a), 0)
        XCTAssertEqual(lstat(dest + "/tree/hard.txt", &b), 0)
        XCTAssertEqual(a.st_ino, b.st_ino, "hard link shares the inode")
    }

    func testPaxPathFromSystemTar() throws {
        let src = root + "/src"
        let name = "d\u{e9}j\u{e0}-" + String(repeating: "p", count: 150)
        try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: src + "/" + name, contents: Data("pax\n".utf8))
        try tar(["--format=pax", "-cf", archive, name], in: src)
        let bytes = try XCTUnwrap(FileManager.default.contents(atPath: archive))
        XCTAssertEqual(bytes[156], UInt8(ascii: "x"), "the archive starts with a PAX header")

        XCTAssertEqual(try TarExtractor.extract(archive: archive, into: dest), [name])
        XCTAssertEqual(read(dest + "/" + name), "pax\n")
    }

    func testHandMadePaxPathLinkpathAndGlobalHeader() throws {
        var hand = HandTar()
        hand.pax([("path", "evil-global")], global: true)  // global headers are ignored
        hand.file("plain.txt", "one")
        hand.pax([("path", "from/pax/name.txt"), ("comment", "ignored")])
        hand.file("short-name", "two")
        hand.pax([("linkpath", "name.txt")])
        hand.symlink("from/pax/alias", to: "wrong")
        XCTAssertEqual(try extract(hand), ["plain.txt", "from/pax/name.txt", "from/pax/alias"])
        XCTAssertEqual(read(dest + "/from/pax/name.txt"), "two")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: dest + "/from/pax/alias"), "name.txt")
        XCTAssertFalse(exists(dest + "/short-name"))
        XCTAssertFalse(exists(dest + "/evil-global"))
    }

    func testPaxSizeOverridesHeaderSize() throws {
        var hand = HandTar()
        hand.pax([("size", "5")])
        hand.entry(HandTar.header(name: "sized", size: 0), data: Array("hello".utf8))
        hand.file("after", "ok")
        XCTAssertEqual(try extract(hand), ["sized", "after"])
        XCTAssertEqual(read(dest + "/sized"), "hello")
        XCTAssertEqual(read(dest + "/after"), "ok")
    }

    func testGnuLongNameAndLongLink() throws {
        let longDir = String(repeating: "d", count: 90) + "/" + String(repeating: "e", count: 90)
        var hand = HandTar()
        hand.gnuLongName(Array((longDir + "/target.txt").utf8))
        hand.file("truncated-name", "target")
        let longLink = Array(("./" + String(repeating: "e", count: 90) + "/target.txt").utf8) + [0]
        hand.entry(HandTar.header(name: "././@LongLink", type: "K", size: longLink.count), data: longLink)
        hand.symlink(String(repeating: "d", count: 90) + "/ln", to: "short")
        XCTAssertEqual(try extract(hand), [longDir + "/target.txt", String(repeating: "d", count: 90) + "/ln"])
        XCTAssertEqual(read(dest + "/" + longDir + "/target.txt"), "target")
        XCTAssertEqual(read(dest + "/" + String(repeating: "d", count: 90) + "/ln"), "target")
    }

    func testUstarPrefixField() throws {
        var hand = HandTar()
        hand.file("file.txt", "prefixed", prefix: "deep/dir/path")
        XCTAssertEqual(try extract(hand), ["deep/dir/path/file.txt"])
        XCTAssertEqual(read(dest + "/deep/dir/path/file.txt"), "prefixed")
    }

    func testBase256Size() throws {
        var hand = HandTar()
        var sizeField = [UInt8](repeating: 0, count: 12)
        sizeField[0] = 0x80
        sizeField[11] = 5
        hand.entry(HandTar.header(name: "b256", sizeField: sizeField), data: Array("12345".utf8))
        XCTAssertEqual(try extract(hand), ["b256"])
        XCTAssertEqual(read(dest + "/b256"), "12345")
    }

    func testModesAreMaskedAndSetuidDropped() throws {
        var hand = HandTar()
        hand.file("suid", "x", mode: 0o6777)
        hand.file("open", "x", mode: 0o666)
        hand.file("private", "x", mode: 0o600)
        _ = try extract(hand)
        XCTAssertEqual(mode(dest + "/suid"), 0o755)
        XCTAssertEqual(mode(dest + "/open"), 0o644)
        XCTAssertEqual(mode(dest + "/private"), 0o600)
    }

    func testReadOnlyDirectoryIsStillFilled() throws {
        var hand = HandTar()
        hand.directory("ro/", mode: 0o555)
        hand.directory("ro/inner/", mode: 0o500)
        hand.file("ro/inner/f", "inside")
        XCTAssertEqual(try extract(hand), ["ro", "ro/inner", "ro/inner/f"])
        XCTAssertEqual(read(dest + "/ro/inner/f"), "inside")
        XCTAssertEqual(mode(dest + "/ro"), 0o555)
        XCTAssertEqual(mode(dest + "/ro/inner"), 0o500)
    }

    func testDevicesAndFifosAreSkipped() throws {
        var hand = HandTar()
        hand.entry(HandTar.header(name: "chr", type: "3"))
        hand.entry(HandTar.header(name: "blk", type: "4"))
        hand.entry(HandTar.header(name: "fifo", type: "6"))
        hand.entry(HandTar.header(name: "vendor", type: "V"))
        hand.file("real", "r")
        XCTAssertEqual(try extract(hand), ["real"])
        for name in ["chr", "blk", "fifo", "vendor"] { XCTAssertFalse(exists(dest + "/" + name), name) }
    }

    func testDotSlashNamesAndRootEntry() throws {
        var hand = HandTar()
        hand.directory("./")
        hand.file("./a//b.txt", "b")
        XCTAssertEqual(try extract(hand), ["a/b.txt"])
        XCTAssertEqual(read(dest + "/a/b.txt"), "b")
    }

    func testReplacesExistingFileAndSymlinkWithoutFollowing() throws {
        let outside = root + "/outside.txt"
        _ = FileManager.default.createFile(atPath: outside, contents: Data("untouched".utf8))
        try FileManager.default.createDirectory(atPath: dest, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: dest + "/f", contents: Data("old".utf8))
        try FileManager.default.createSymbolicLink(atPath: dest + "/s", withDestinationPath: outside)
        var hand = HandTar()
        hand.file("f", "new")
        hand.file("s", "replaced")
        XCTAssertEqual(try extract(hand), ["f", "s"])
        XCTAssertEqual(read(dest + "/f"), "new")
        XCTAssertEqual(read(dest + "/s"), "replaced")
        XCTAssertNil(try? FileManager.default.destinationOfSymbolicLink(atPath: dest + "/s"))
        XCTAssertEqual(read(outside), "untouched")
    }

    func testRelativeSymlinksThatStayInsideAreKept() throws {
        var hand = HandTar()
        hand.directory("a/b/")
        hand.file("top.txt", "top")
        hand.symlink("a/b/up", to: "../../top.txt")
        hand.symlink("a/self", to: ".")
        hand.symlink("a/b/root", to: "./../..")
        XCTAssertEqual(try extract(hand), ["a/b", "top.txt", "a/b/up", "a/self", "a/b/root"])
        XCTAssertEqual(read(dest + "/a/b/up"), "top")
    }

    // MARK: hostile archives

    func testRefusesDotDot() {
        var hand = HandTar()
        hand.file("ok.txt", "fine")
        hand.file("../evil", "pwned")
        hand.file("never.txt", "not reached")
        assertRefused(hand, member: "../evil", reasonContains: "..")
        XCTAssertFalse(exists(root + "/evil"))
        XCTAssertTrue(exists(dest + "/ok.txt"), "members before the hostile one stay")
        XCTAssertFalse(exists(dest + "/never.txt"), "nothing after the hostile one is written")
    }

    func testRefusesNestedDotDot() {
        var hand = HandTar()
        hand.file("a/../../evil", "pwned")
        assertRefused(hand, member: "a/../../evil")
        XCTAssertFalse(exists(root + "/evil"))
        XCTAssertFalse(exists(dest + "/a"))
    }

    func testRefusesAbsoluteNameHandMade() {
        let target = root + "/abs/evil"
        var hand = HandTar()
        hand.file(target, "pwned")
        assertRefused(hand, member: target, reasonContains: "absolute")
        XCTAssertFalse(exists(root + "/abs"))
    }

    func testRefusesAbsoluteNameFromSystemTar() throws {
        let target = root + "/abs/evil"
        try FileManager.default.createDirectory(atPath: root + "/abs", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: target, contents: Data("pwned".utf8))
        try tar(["-P", "-cf", archive, target], in: root)
        try FileManager.default.removeItem(atPath: root + "/abs")
        do {
            _ = try TarExtractor.extract(archive: archive, into: dest)
            XCTFail("absolute member extracted")
        } catch TarError.unsafeMember(let name, _) {
            XCTAssertTrue(name.hasPrefix("/"), name)
        }
        XCTAssertFalse(exists(target))
    }

    func testRefusesDotDotFromSystemTarTransform() throws {
        let src = root + "/src"
        try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: src + "/payload", contents: Data("pwned".utf8))
        try tar(["-P", "--transform=s,^payload,../../transformed-evil,", "-cf", archive, "payload"], in: src)
        XCTAssertThrowsError(try TarExtractor.extract(archive: archive, into: dest)) { error in
            XCTAssertEqual(error as? TarError,
                           .unsafeMember(name: "../../transformed-evil", reason: "'..' component in name"))
        }
        XCTAssertFalse(exists(root + "/transformed-evil"))
        XCTAssertFalse(exists((root as NSString).deletingLastPathComponent + "/transformed-evil"))
    }

    func testRefusesAbsoluteSymlinkThenFileThroughIt() throws {
        let outside = root + "/outside-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        var hand = HandTar()
        hand.symlink("link", to: outside)
        hand.file("link/evil", "pwned")
        assertRefused(hand, member: "link", reasonContains: "absolute symlink target")
        XCTAssertFalse(exists(outside + "/evil"))
        XCTAssertFalse(exists(dest + "/link"))
    }

    func testRefusesFileThroughSymlinkMadeByEarlierMember() {
        var hand = HandTar()
        hand.directory("sub/")
        hand.symlink("inner", to: "sub")  // harmless on its own
        hand.file("inner/evil", "through a link")
        assertRefused(hand, member: "inner/evil", reasonContains: "symlink \"inner\"")
        XCTAssertFalse(exists(dest + "/sub/evil"))
    }

    func testRefusesFileThroughSymlinkAlreadyInDestination() throws {
        let outside = root + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dest, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dest + "/link", withDestinationPath: outside)
        var hand = HandTar()
        hand.file("link/evil", "pwned")
        assertRefused(hand, member: "link/evil", reasonContains: "passes through symlink")
        var dirHand = HandTar()
        dirHand.directory("link/")
        assertRefused(dirHand, member: "link/", reasonContains: "existing symlink")
        var deepHand = HandTar()
        deepHand.directory("link/newdir/")
        assertRefused(deepHand, member: "link/newdir/")
        XCTAssertFalse(exists(outside + "/evil"))
        XCTAssertFalse(exists(outside + "/newdir"))
    }

    func testRefusesSymlinkClimbingOutThenFile() throws {
        var hand = HandTar()
        hand.symlink("up", to: "../..")
        hand.file("up/evil", "pwned")
        assertRefused(hand, member: "up", reasonContains: "escapes")
        XCTAssertFalse(exists(dest + "/up"))
        XCTAssertFalse(exists(root + "/evil"))
        XCTAssertFalse(exists((root as NSString).deletingLastPathComponent + "/evil"))
    }

    func testRefusesSymlinkEscapingFromSubdirectory() {
        var hand = HandTar()
        hand.symlink("a/b/c", to: "../../../x")
        assertRefused(hand, member: "a/b/c", reasonContains: "escapes")
        XCTAssertFalse(exists(dest + "/a/b/c"))
    }

    func testRefusesDotDotAfterNameInSymlinkTarget() {
        var hand = HandTar()
        hand.symlink("l", to: "sub/../../x")
        assertRefused(hand, member: "l", reasonContains: "after a name")
        XCTAssertFalse(exists(dest + "/l"))
    }

    func testRefusesHardLinkToEtcPasswd() {
        var hand = HandTar()
        hand.hardLink("pw", to: "/etc/passwd")
        assertRefused(hand, member: "pw", reasonContains: "absolute hard link target")
        XCTAssertFalse(exists(dest + "/pw"))
    }

    func testRefusesHardLinkEscaping() {
        _ = FileManager.default.createFile(atPath: root + "/secret", contents: Data("s".utf8))
        var hand = HandTar()
        hand.hardLink("pw", to: "../secret")
        assertRefused(hand, member: "pw", reasonContains: "..")
        XCTAssertFalse(exists(dest + "/pw"))
    }

    func testRefusesHardLinkToMemberNotExtracted() throws {
        try FileManager.default.createDirectory(atPath: dest, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: dest + "/planted", withDestinationPath: "/etc/passwd")
        var hand = HandTar()
        hand.hardLink("pw", to: "planted")
        assertRefused(hand, member: "pw", reasonContains: "not a member extracted earlier")
        XCTAssertFalse(exists(dest + "/pw"))
    }

    func testRefusesPaxPathWithDotDot() {
        var hand = HandTar()
        hand.pax([("path", "../pax-evil")])
        hand.file("innocent", "pwned")
        assertRefused(hand, member: "../pax-evil")
        XCTAssertFalse(exists(root + "/pax-evil"))
        XCTAssertFalse(exists(dest + "/innocent"))
    }

    func testRefusesPaxLinkpathAbsolute() {
        var hand = HandTar()
        hand.pax([("linkpath", "/etc")])
        hand.symlink("etc", to: "harmless")
        assertRefused(hand, member: "etc", reasonContains: "absolute")
        XCTAssertFalse(exists(dest + "/etc"))
    }

    func testRefusesGnuLongNameWithDotDotOrNul() {
        var hand = HandTar()
        hand.gnuLongName(Array((String(repeating: "a/", count: 60) + "../../../../../" + String(repeating: "../", count: 60) + "evil").utf8))
        hand.file("x", "pwned")
        do {
            _ = try extract(hand)
            XCTFail("long ../ name extracted")
        } catch TarError.unsafeMember(let name, _) {
            XCTAssertTrue(name.hasSuffix("../evil"))
        } catch { XCTFail("\(error)") }
        XCTAssertFalse(exists(root + "/evil"))

        var nul = HandTar()
        nul.gnuLongName(Array("safe".utf8) + [0] + Array("/../evil".utf8))
        nul.file("x", "pwned")
        assertRefused(nul, member: "safe\u{0}/../evil", reasonContains: "NUL")
        XCTAssertFalse(exists(dest + "/safe"))
    }

    func testRefusesEmptyName() {
        var hand = HandTar()
        hand.file("", "nameless")
        assertRefused(hand, member: "", reasonContains: "empty")
        var dot = HandTar()
        dot.file(".", "the destination itself")
        assertRefused(dot, member: ".")
    }

    // MARK: corrupt archives

    func testTruncatedArchiveFromSystemTar() throws {
        let src = root + "/src"
        try FileManager.default.createDirectory(atPath: src, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: src + "/big", contents: Data(repeating: 7, count: 100_000))
        try tar(["-cf", archive, "big"], in: src)
        let whole = try XCTUnwrap(FileManager.default.contents(atPath: archive))
        _ = FileManager.default.createFile(atPath: archive, contents: whole.prefix(512 + 50_000))
        assertCorrupt(archive, offset: 0)
        XCTAssertFalse(exists(dest + "/big"), "a member that cannot be complete is not started")

        _ = FileManager.default.createFile(atPath: archive, contents: whole.prefix(300))
        assertCorrupt(archive, offset: 0)
    }

    func testStreamsFromAPipe() throws {
        var hand = HandTar()
        hand.file("a/one", String(repeating: "1", count: 100_000))
        hand.file("two", "2")
        hand.finish()
        XCTAssertEqual(try TarExtractor.extract(archive: fifo(hand.bytes), into: dest), ["a/one", "two"])
        XCTAssertEqual(read(dest + "/a/one"), String(repeating: "1", count: 100_000))
    }

    func testTruncatedPipeRemovesThePartialMember() {
        var hand = HandTar()
        hand.file("done", "complete")
        hand.bytes += HandTar.header(name: "partial", size: 100_000) + [UInt8](repeating: 9, count: 50_000)
        assertCorrupt(fifo(hand.bytes), offset: 1024 + 512 + 50_000)
        XCTAssertEqual(read(dest + "/done"), "complete")
        XCTAssertFalse(exists(dest + "/partial"), "a member cut short is removed")
    }

    func testMissingEndOfArchiveMarker() {
        var hand = HandTar()
        hand.file("a", "a")
        hand.write(to: archive)
        assertCorrupt(archive, offset: 1024)
    }

    func testSingleZeroBlockThenEOFIsAccepted() throws {
        var hand = HandTar()
        hand.file("a", "a")
        hand.bytes += [UInt8](repeating: 0, count: 512)
        hand.write(to: archive)
        XCTAssertEqual(try TarExtractor.extract(archive: archive, into: dest), ["a"])
    }

    func testLoneZeroBlockInsideArchive() {
        var hand = HandTar()
        hand.file("a", "a")
        hand.bytes += [UInt8](repeating: 0, count: 512)
        hand.file("b", "b")
        hand.finish()
        hand.write(to: archive)
        assertCorrupt(archive, offset: 1536)
    }

    func testBadChecksum() {
        var hand = HandTar()
        hand.file("first", "1")
        var header = HandTar.header(name: "second", size: 1)
        header[0] ^= 0x20  // "second" -> "Second" without fixing the checksum
        hand.entry(header, data: [0x32])
        hand.finish()
        hand.write(to: archive)
        assertCorrupt(archive, offset: 1024)
        XCTAssertFalse(exists(dest + "/Second"))
        XCTAssertFalse(exists(dest + "/second"))
    }

    func testSizeRunningPastEOF() {
        var hand = HandTar()
        hand.entry(HandTar.header(name: "liar", size: 1_000_000), data: Array("short".utf8))
        hand.finish()
        hand.write(to: archive)
        assertCorrupt(archive, offset: 0)
        XCTAssertFalse(exists(dest + "/liar"))
    }

    func testHugeMetadataIsRefused() {
        var hand = HandTar()
        hand.entry(HandTar.header(name: "././@LongLink", type: "L", size: 2 << 20), data: [UInt8](repeating: 0x61, count: 2 << 20))
        hand.finish()
        hand.write(to: archive)
        assertCorrupt(archive, offset: 0)
    }

    func testMalformedPaxRecord() {
        var hand = HandTar()
        let data = Array("999 path=x\n".utf8)
        hand.entry(HandTar.header(name: "pax", type: "x", size: data.count), data: data)
        hand.file("x", "x")
        hand.finish()
        hand.write(to: archive)
        assertCorrupt(archive, offset: 0)
    }

    func testMissingArchiveIsIOError() {
        XCTAssertThrowsError(try TarExtractor.extract(archive: root + "/nope.tar", into: dest)) { error in
            XCTAssertEqual(error as? TarError, .io(path: root + "/nope.tar", errno: ENOENT))
        }
    }

    // MARK: TarHeader

    func testHeaderParsesFields() throws {
        let block = HandTar.header(name: "file", type: "2", size: 0, link: "target", mode: 0o4755, prefix: "pre")
        let header = try XCTUnwrap(try TarHeader.parse(block))
        XCTAssertEqual(header.name, "pre/file")
        XCTAssertEqual(header.linkName, "target")
        XCTAssertEqual(header.mode, 0o4755)
        XCTAssertEqual(header.kind, .symlink)
        XCTAssertEqual(header.mtime, 1_700_000_000)
        XCTAssertNil(try TarHeader.parse([UInt8](repeating: 0, count: 512)))
        XCTAssertThrowsError(try TarHeader.parse([1, 2, 3]))
        XCTAssertThrowsError(try TarHeader.parse([]))
    }

    func testHeaderRejectsNegativeAndHugeBase256Sizes() {
        var negative = [UInt8](repeating: 0xff, count: 12)
        negative[11] = 0xfe
        var huge = [UInt8](repeating: 0xff, count: 12)
        huge[0] = 0x80
        var tooBig = [UInt8](repeating: 0, count: 12)
        tooBig[0] = 0x80
        tooBig[4] = 0x20  // 2^61
        for field in [negative, huge, tooBig, Array("12x45670123\u{0}".utf8)] {
            let block = HandTar.header(name: "n", sizeField: field)
            XCTAssertThrowsError(try TarHeader.parse(block, offset: 4096), "\(field)") { error in
                guard case .corrupt(let offset, _)? = error as? TarError else { return XCTFail("\(error)") }
                XCTAssertEqual(offset, 4096)
            }
        }
    }

    func testHeaderParseNeverTrapsOnArbitraryBytes() {
        var rng = SeededRandom(seed: 1234)
        let valid = HandTar.header(name: "some/name", type: "0", size: 1234, link: "l", prefix: "p")
        var parsed = 0
        for round in 0..<10_000 {
            var block: [UInt8]
            switch round % 3 {
            case 0:
                block = (0..<512).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            case 1:
                // Valid checksum over random field contents, to reach the number parsers.
                block = (0..<512).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                HandTar.fixChecksum(&block)
            default:
                block = valid
                for _ in 0..<(1 + Int(rng.next() % 8)) {
                    block[Int(rng.next() % 512)] = UInt8(truncatingIfNeeded: rng.next())
                }
                HandTar.fixChecksum(&block)
            }
            if let header = try? TarHeader.parse(block) {
                parsed += 1
                XCTAssertTrue(header.size >= 0 && header.size <= TarHeader.maxSize)
            }
        }
        XCTAssertGreaterThan(parsed, 0)
    }

    /// Random damage to a real archive must end in a typed error or a clean extraction, and
    /// never put anything next to the destination.
    func testExtractorSurvivesMutatedArchives() throws {
        var hand = HandTar()
        hand.directory("d/")
        hand.file("d/f", "content")
        hand.symlink("d/l", to: "f")
        hand.pax([("path", "d/p")])
        hand.file("x", "pax")
        hand.gnuLongName(Array("d/long".utf8))
        hand.file("y", "long")
        hand.hardLink("d/h", to: "d/f")
        hand.finish()
        var rng = SeededRandom(seed: 99)
        for _ in 0..<300 {
            var bytes = hand.bytes
            for _ in 0..<(1 + Int(rng.next() % 6)) {
                bytes[Int(rng.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: rng.next())
            }
            if rng.next() % 4 == 0 { bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count)))) }
            // Repair checksums half the time so mutations get past the first check.
            if rng.next() % 2 == 0 {
                var offset = 0
                while offset + 512 <= bytes.count {
                    var block = Array(bytes[offset..<(offset + 512)])
                    if block[257..<262].elementsEqual("ustar".utf8) {
                        HandTar.fixChecksum(&block)
                        bytes.replaceSubrange(offset..<(offset + 512), with: block)
                    }
                    offset += 512
                }
            }
            _ = FileManager.default.createFile(atPath: archive, contents: Data(bytes))
            do {
                _ = try TarExtractor.extract(archive: archive, into: dest)
            } catch is TarError {
            } catch {
                XCTFail("untyped error \(error)")
            }
            makeRemovable(dest)
            try? FileManager.default.removeItem(atPath: dest)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root).sorted(), ["archive.tar"])
        }
    }
}
