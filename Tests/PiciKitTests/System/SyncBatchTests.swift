import Foundation
import XCTest
@testable import PiciKit

/// `SyncBatch`: with a batch open, atomic writes are synced together and renamed at commit,
/// in the order written; nothing is seen under its name before, and nothing is left behind.
final class SyncBatchTests: XCTestCase {
    private func read(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

    private func temps(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.contains(".tmp.") }
    }

    func testWritesAreSeenUnderTheirNamesOnlyOnceCommitted() throws {
        let dir = Support.tempDir(self)
        try FileSystem.writeAtomically(dir + "/a", "old a")
        SyncBatch.begin()
        defer { _ = SyncBatch.end() }
        try FileSystem.writeAtomically(dir + "/a", "new a")
        try FileSystem.writeAtomically(dir + "/b", Array("b".utf8), modified: 1_000_000_000)
        let file = try AtomicFile(dir + "/c")
        XCTAssertEqual(write(file.fd, "c", 1), 1)
        try file.commit()
        XCTAssertEqual(SyncBatch.count, 3)
        XCTAssertEqual(read(dir + "/a"), "old a")
        XCTAssertNil(read(dir + "/b"))
        XCTAssertNil(read(dir + "/c"))

        XCTAssertEqual(SyncBatch.commit(), [])
        XCTAssertEqual(read(dir + "/a"), "new a")
        XCTAssertEqual(read(dir + "/b"), "b")
        XCTAssertEqual(read(dir + "/c"), "c")
        XCTAssertEqual(FileSystem.info(dir + "/b")?.modifiedSeconds, 1_000_000_000)
        XCTAssertEqual(temps(dir), [])
        XCTAssertEqual(SyncBatch.count, 0)
    }

    func testABatchLargerThanItsOpenFilesIsCommittedWholeAndLeavesNoneOpen() throws {
        // The first writes keep their descriptors until the commit syncs them; the rest are
        // closed and opened again then.
        let dir = Support.tempDir(self)
        // This process's descriptors of files in `dir`: not all of them, which whatever else
        // runs in the test process (a lazily opened file of the runtime) may change.
        func openFiles() -> Int {
            ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []).filter { fd in
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + fd))?.hasPrefix(dir + "/") == true
            }.count
        }
        let before = openFiles()
        XCTAssertEqual(before, 0)
        SyncBatch.begin()
        defer { _ = SyncBatch.end() }
        let count = SyncBatch.openLimit * 2 + 3
        for i in 0..<count { try FileSystem.writeAtomically(dir + "/f\(i)", "\(i)") }
        XCTAssertEqual(openFiles(), before + SyncBatch.openLimit, "only the first writes keep theirs")
        XCTAssertEqual(SyncBatch.commit(), [])
        XCTAssertEqual(openFiles(), before)
        for i in 0..<count { XCTAssertEqual(read(dir + "/f\(i)"), "\(i)") }
        XCTAssertEqual(temps(dir), [])
        // And again after the commit: the count of open ones starts afresh.
        try FileSystem.writeAtomically(dir + "/again", "again")
        XCTAssertEqual(openFiles(), before + 1)
        XCTAssertEqual(SyncBatch.commit(), [])
        XCTAssertEqual(read(dir + "/again"), "again")
    }

    func testAChildStartedWhileATempFileIsOpenDoesNotInheritIt() throws {
        // pici-stage's calls start on another thread while this one writes: a temp file is
        // made close-on-exec at once, or zmx (and whatever it leaves running) holds it open.
        let dir = Support.tempDir(self)
        let file = try AtomicFile(dir + "/log")
        defer { file.abandon() }
        XCTAssertEqual(fcntl(file.fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC)
        let listing = try Spawn.run(["bash", "-c", "ls -l /proc/$$/fd/"], timeout: 10)
        XCTAssertEqual(listing.status, 0, listing.stderrText)
        XCTAssertFalse(listing.stdoutText.contains(dir), listing.stdoutText)
    }

    func testAFileThatCannotBeRenamedStopsThoseAfterIt() throws {
        let dir = Support.tempDir(self)
        // A non-empty directory under the second name: its rename fails.
        try FileManager.default.createDirectory(atPath: dir + "/b/x", withIntermediateDirectories: true)
        SyncBatch.begin()
        defer { _ = SyncBatch.end() }
        for name in ["a", "b", "c"] { try FileSystem.writeAtomically(dir + "/" + name, name) }
        let failures = SyncBatch.commit()
        XCTAssertEqual(failures.map(\.path), [dir + "/b", dir + "/c"])
        XCTAssertEqual(read(dir + "/a"), "a", "written before the failure: renamed")
        XCTAssertNil(read(dir + "/c"), "written after it (it may record that b was written): not renamed")
        XCTAssertEqual(temps(dir), [])
    }

    func testATempFileGoneWithItsDirectoryIsSkipped() throws {
        let dir = Support.tempDir(self)
        try FileManager.default.createDirectory(atPath: dir + "/gone", withIntermediateDirectories: true)
        SyncBatch.begin()
        defer { _ = SyncBatch.end() }
        try FileSystem.writeAtomically(dir + "/gone/state", "x")
        try FileSystem.writeAtomically(dir + "/kept", "y")
        try FileManager.default.removeItem(atPath: dir + "/gone")
        XCTAssertEqual(SyncBatch.commit(), [])
        XCTAssertEqual(read(dir + "/kept"), "y")
    }

    func testWithoutABatchAWriteIsRenamedAtOnce() throws {
        let dir = Support.tempDir(self)
        try FileSystem.writeAtomically(dir + "/a", "a")
        XCTAssertEqual(read(dir + "/a"), "a")
        XCTAssertEqual(SyncBatch.count, 0)
    }
}
