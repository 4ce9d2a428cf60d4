import Foundation
import XCTest
@testable import PiciKit

/// A follower proves its `zmx tail` is connected by the session's `clients` in `zmx list`
/// rising (`FollowCapture`): the count is read from the session's own line, whatever the rest.
final class FollowProofTests: XCTestCase {
    let listing = Array("""
          name=ci.demo.0000000f.runner.x\tpid=9\tclients=7\tcreated=1
        → name=ci.demo.0000000f.runner\tpid=10\tclients=2\tcreated=1\r
          name=xci.demo.0000000f.step.build\tpid=11\tclients=5\tcreated=1
          name=ci.demo.0000000f.step.build\tpid=12\tcreated=1\tclients=0
        no sessions found
        """.utf8)

    func testTheCountIsTheSessionsOwnLine() {
        XCTAssertEqual(FollowCapture.look(at: "ci.demo.0000000f.runner", inListing: listing)?.clients, 2)
        XCTAssertEqual(FollowCapture.look(at: "ci.demo.0000000f.step.build", inListing: listing)?.clients, 0)
    }

    func testANameThatOnlyEndsOrBeginsTheSameIsAnotherSession() {
        XCTAssertEqual(FollowCapture.look(at: "ci.demo.0000000f.runner.x", inListing: listing)?.clients, 7)
        XCTAssertNil(FollowCapture.look(at: "demo.0000000f.runner", inListing: listing))
        XCTAssertNil(FollowCapture.look(at: "ci.demo.0000000f.step", inListing: listing))
    }

    func testTheLineSaysWhetherTheTaskEnded() {
        let ended = Array("  name=ci.a.00000001.runner\tpid=1\tclients=1\tcreated=1\tended=2\texit_code=0\n".utf8)
        XCTAssertEqual(FollowCapture.look(at: "ci.a.00000001.runner", inListing: ended), .init(clients: 1, ended: true))
        XCTAssertEqual(FollowCapture.look(at: "ci.demo.0000000f.runner", inListing: listing)?.ended, false)
    }

    func testNoLineOrNoCountIsUnknown() {
        XCTAssertNil(FollowCapture.look(at: "ci.other.00000001.runner", inListing: listing))
        XCTAssertNil(FollowCapture.look(at: "ci.a.00000001.runner", inListing: Array("  name=ci.a.00000001.runner\tpid=1\n".utf8)))
        XCTAssertNil(FollowCapture.look(at: "ci.a.00000001.runner", inListing: []))
    }

    // MARK: one listing shared by the followers of an artifact dir

    /// A zmx whose `list` logs the call, waits `delay` seconds and prints one session line.
    func countingZmx(_ dir: String, delay: String = "0", status: Int = 0) throws -> ZmxCommand {
        let path = dir + "/zmx"
        try """
            #!/bin/sh
            echo "$*" >>'\(dir)/calls'
            sleep \(delay)
            printf '  name=ci.a.00000001.runner\\tpid=1\\tclients=1\\tcreated=1\\n'
            exit \(status)
            """.write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertEqual(chmod(path, 0o755), 0)
        return ZmxCommand(override: path, timeout: 10)
    }

    func calls(_ dir: String) -> Int {
        ((try? String(contentsOfFile: dir + "/calls", encoding: .utf8)) ?? "").split(separator: "\n").count
    }

    func testAListingBegunLateEnoughServesEveryFollowerThatNeedsOne() throws {
        let dir = Support.tempDir(self, "listing")
        let shared = SharedListing(artifactDir: dir, zmx: try countingZmx(dir))
        try FileManager.default.createDirectory(atPath: FollowDirectory.root(artifactDir: dir), withIntermediateDirectories: true)
        let since = Clock.nowNanoseconds()
        let first = shared.listing(since: since, deadline: Clock.monotonicSeconds() + 5)
        XCTAssertEqual(first.flatMap { FollowCapture.look(at: "ci.a.00000001.runner", inListing: $0)?.clients }, 1)
        // Another follower whose tail started at the same moment, or before: no new call.
        XCTAssertEqual(shared.listing(since: since - 1_000_000_000, deadline: Clock.monotonicSeconds() + 5), first)
        XCTAssertEqual(calls(dir), 1)
        // One whose tail started after that listing began needs a new one.
        XCTAssertEqual(shared.listing(since: Clock.nowNanoseconds(), deadline: Clock.monotonicSeconds() + 5), first)
        XCTAssertEqual(calls(dir), 2)
    }

    func testAFollowerWaitsForTheListingAnotherIsTaking() throws {
        let dir = Support.tempDir(self, "listing")
        let zmx = try countingZmx(dir, delay: "0.5")
        try FileManager.default.createDirectory(atPath: FollowDirectory.root(artifactDir: dir), withIntermediateDirectories: true)
        let since = Clock.nowNanoseconds()
        let others = DispatchGroup()
        nonisolated(unsafe) var got: [[UInt8]?] = Array(repeating: nil, count: 4)
        let lock = NSLock()
        for i in 0..<4 {
            DispatchQueue.global().async(group: others) {
                let bytes = SharedListing(artifactDir: dir, zmx: zmx).listing(since: since, deadline: Clock.monotonicSeconds() + 5)
                lock.lock()
                got[i] = bytes
                lock.unlock()
            }
        }
        others.wait()
        XCTAssertEqual(calls(dir), 1, "four followers at once, one zmx list")
        XCTAssertTrue(got.allSatisfy { $0 != nil && $0 == got[0] })
    }

    func testALockLeftByAKilledFollowerIsTakenOver() throws {
        let dir = Support.tempDir(self, "listing")
        // zmx calls may take 10 s: a lock a minute old is left over.
        let shared = SharedListing(artifactDir: dir, zmx: try countingZmx(dir))
        try FileManager.default.createDirectory(atPath: FollowDirectory.root(artifactDir: dir), withIntermediateDirectories: true)
        let taking = shared.path + ".taking"
        XCTAssertTrue(FileManager.default.createFile(atPath: taking, contents: nil))
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-60)], ofItemAtPath: taking)
        XCTAssertNotNil(shared.listing(since: Clock.nowNanoseconds(), deadline: Clock.monotonicSeconds() + 5))
        XCTAssertEqual(calls(dir), 1)
        XCTAssertFalse(FileManager.default.fileExists(atPath: taking))
    }

    func testAFreshLockHeldPastTheDeadlineGivesNoListing() throws {
        let dir = Support.tempDir(self, "listing")
        let shared = SharedListing(artifactDir: dir, zmx: try countingZmx(dir))
        try FileManager.default.createDirectory(atPath: FollowDirectory.root(artifactDir: dir), withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: shared.path + ".taking", contents: nil))
        XCTAssertNil(shared.listing(since: Clock.nowNanoseconds(), deadline: Clock.monotonicSeconds() + 0.2))
        XCTAssertEqual(calls(dir), 0)
    }

    func testAFailedListIsNoListingAndLeavesNoLock() throws {
        let dir = Support.tempDir(self, "listing")
        let shared = SharedListing(artifactDir: dir, zmx: try countingZmx(dir, status: 1))
        try FileManager.default.createDirectory(atPath: FollowDirectory.root(artifactDir: dir), withIntermediateDirectories: true)
        XCTAssertNil(shared.listing(since: Clock.nowNanoseconds(), deadline: Clock.monotonicSeconds() + 5))
        XCTAssertFalse(FileManager.default.fileExists(atPath: shared.path + ".taking"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: shared.path))
    }

    func testWithoutAFollowDirEachLooksForItself() throws {
        let dir = Support.tempDir(self, "listing")
        let shared = SharedListing(artifactDir: dir + "/none", zmx: try countingZmx(dir))
        let since = Clock.nowNanoseconds()
        XCTAssertNotNil(shared.listing(since: since, deadline: Clock.monotonicSeconds() + 5))
        XCTAssertNotNil(shared.listing(since: since, deadline: Clock.monotonicSeconds() + 5))
        XCTAssertEqual(calls(dir), 2)
    }

    func testEachHostHasItsOwnListing() {
        XCTAssertNotEqual(
            SharedListing(artifactDir: "/a", zmx: ZmxCommand(override: "ssh -T b1 zmx")).path,
            SharedListing(artifactDir: "/a", zmx: ZmxCommand(override: "ssh -T b2 zmx")).path)
    }
}
