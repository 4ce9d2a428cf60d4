import Foundation
import PiciKit
import XCTest

final class SHA256Tests: XCTestCase {
    private func hex(_ text: String) -> String { SHA256.hash(Array(text.utf8)).hexString }

    func testNISTShortVectors() {
        XCTAssertEqual(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
                       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
    }

    func testOneMillionA() {
        let expected = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
        XCTAssertEqual(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)).hexString, expected)
        var hasher = SHA256()
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 997)
        var left = 1_000_000
        while left > 0 {
            hasher.update(chunk.prefix(min(left, chunk.count)))
            left -= min(left, chunk.count)
        }
        XCTAssertEqual(hasher.finalize().hexString, expected)
    }

    func testStreamingInOddChunksEqualsOneShot() {
        var rng = SeededRandom(seed: 42)
        let data = (0..<20_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let oneShot = SHA256.hash(data)
        for chunkSize in [1, 3, 7, 55, 56, 63, 64, 65, 127, 128, 129, 1000, 4097, 19_999] {
            var hasher = SHA256()
            var i = 0
            while i < data.count {
                let end = min(i + chunkSize, data.count)
                hasher.update(data[i..<end])
                i = end
            }
            XCTAssertEqual(hasher.finalize(), oneShot, "chunk size \(chunkSize)")
        }
        // Irregular chunk sizes through the raw-pointer entry point.
        var hasher = SHA256()
        data.withUnsafeBytes { raw in
            var i = 0
            var step = 1
            while i < raw.count {
                let end = min(i + step, raw.count)
                hasher.update(UnsafeRawBufferPointer(rebasing: raw[i..<end]))
                i = end
                step = (step * 7 + 3) % 200
            }
        }
        XCTAssertEqual(hasher.finalize(), oneShot)
    }

    func testNonContiguousCollectionEqualsArray() {
        let lazy = (0..<10_000).lazy.map { UInt8(truncatingIfNeeded: $0 &* 31) }
        XCTAssertEqual(SHA256.hash(lazy), SHA256.hash(Array(lazy)))
    }

    func testFinalizeResetsTheHasher() {
        var hasher = SHA256()
        hasher.update(Array("abc".utf8))
        _ = hasher.finalize()
        XCTAssertEqual(hasher.finalize().hexString, hex(""))
    }

    func testHexHelpers() {
        XCTAssertEqual([0x00, 0x0f, 0xa5, 0xff].hexString, "000fa5ff")
        XCTAssertEqual(SHA256.hex([UInt8]()), "")
        XCTAssertEqual(SHA256.digestCount, 32)
    }

    /// Lengths around the padding boundaries (55/56 and 63/64/65 bytes) against coreutils.
    func testPaddingBoundariesMatchSha256sum() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for length in [0, 1, 55, 56, 57, 63, 64, 65, 111, 119, 120, 128] {
            let data = [UInt8]((0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) })
            let path = dir + "/len\(length)"
            _ = FileManager.default.createFile(atPath: path, contents: Data(data))
            XCTAssertEqual(SHA256.hash(data).hexString, try sha256sum(path), "length \(length)")
        }
    }

    func testHexDigestOfFileEqualsSha256sum() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var rng = SeededRandom(seed: 7)
        // Several 64 KiB reads plus a ragged tail.
        let data = (0..<(3 * 65_536 + 12_345)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let path = dir + "/blob"
        _ = FileManager.default.createFile(atPath: path, contents: Data(data))
        let digest = try SHA256.hexDigest(ofFileAt: path)
        XCTAssertEqual(digest, try sha256sum(path))
        XCTAssertEqual(digest, SHA256.hash(data).hexString)
    }

    func testHexDigestOfMissingFileIsTyped() {
        let path = "/nonexistent-\(UUID().uuidString)"
        XCTAssertThrowsError(try SHA256.hexDigest(ofFileAt: path)) { error in
            XCTAssertEqual(error as? SHA256Error, .open(path: path, errno: ENOENT))
        }
    }

    func testHexDigestOfDirectoryIsTyped() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        XCTAssertThrowsError(try SHA256.hexDigest(ofFileAt: dir)) { error in
            XCTAssertEqual(error as? SHA256Error, .read(path: dir, errno: EISDIR))
        }
    }

    // MARK: helpers

    private func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "pici-sha-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    private func sha256sum(_ path: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sha256sum", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        return String(decoding: output, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
    }
}
