import Foundation
import XCTest
@testable import PiciKit

/// pici-stage and a published job at rest (`JobsAtRest`, `.pici/at-rest`): not looked at
/// until its directory changes or a session ends anew; then staged as before.
final class JobsAtRestTests: XCTestCase {
    /// A finished two-session job, staged and published, its directory a minute old, then
    /// looked at once more: recorded at rest.
    func restingJob() throws -> (world: Support.ZmxWorld, art: String, dir: String, id: String) {
        let world = Support.ZmxWorld(self)
        let id = String(format: "%08x", UInt32.random(in: 0...UInt32.max))
        let ws = Support.tempDir(self, "ws")
        try "zmx run pass -d echo fine\nzmx wait '*'\n".write(toFile: ws + "/pico.sh", atomically: true, encoding: .utf8)
        XCTAssertEqual(world.sh("zmx run ci.demo.\(id).runner -d ZMX_SESSION_PREFIX=ci.demo.\(id).step. bash pico.sh", cwd: ws).status, 0)
        world.waitUntilEnded("ci\\.demo\\.\(id)\\.", seconds: 60)
        let art = Support.tempDir(self, "art")
        let pass = world.sh("set -o pipefail; pici-list | pici-group | pici-stage --artifact-dir '\(art)' | pici-publish --no-sync --artifact-dir '\(art)'")
        XCTAssertEqual(pass.status, 0, pass.stderr)
        let dir = art + "/demo/" + id
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir + "/artifacts/published.json"))
        XCTAssertNoThrow(try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-60)], ofItemAtPath: dir))
        XCTAssertEqual(stage(world, art).calls, ["list"], "staged already")
        let atRest = try String(contentsOfFile: art + "/.pici/at-rest", encoding: .utf8)
        XCTAssertTrue(atRest.hasPrefix("demo\t\(id)\t"), atRest)
        return (world, art, dir, id)
    }

    /// One pass of pici-stage, and the zmx calls it made.
    func stage(_ world: Support.ZmxWorld, _ art: String) -> (ran: Support.Ran, calls: [String]) {
        let log = Support.tempDir(self, "calls") + "/calls.log"
        let ran = world.sh("set -o pipefail; ZMX_CALL_LOG='\(log)' bash -c 'pici-list | pici-group | pici-stage --artifact-dir \"$0\"' '\(art)'")
        XCTAssertEqual(ran.status, 0, ran.stderr)
        return (ran, ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init))
    }

    func testAJobAtRestIsLookedAtAgainOnlyWhenItsDirectoryChanges() throws {
        let r = try restingJob()
        // Its record of staged finals emptied in place (no directory change): not read.
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: r.dir + "/.pici-staged.json"))
        handle.truncateFile(atOffset: 0)
        handle.write(Data("{}\n".utf8))
        handle.closeFile()
        XCTAssertEqual(stage(r.world, r.art).calls, ["list"], "a job at rest is not looked at")
        // A page removed changes the directory: looked at, and everything it lacks staged.
        try FileManager.default.removeItem(atPath: r.dir + "/pass.html")
        let calls = stage(r.world, r.art).calls
        XCTAssertEqual(calls.first, "list")
        XCTAssertEqual(Set(calls.dropFirst()), ["history ci.demo.\(r.id).runner --html", "history ci.demo.\(r.id).step.pass --html"], "\(calls)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: r.dir + "/pass.html"))
    }

    func testASessionThatEndsAnewIsStagedAgain() throws {
        let r = try restingJob()
        let staged = try String(contentsOfFile: r.dir + "/.pici-staged.json", encoding: .utf8)
        // The same step run again in its session: its end changes, the directory does not.
        XCTAssertEqual(r.world.sh("sleep 1.1; zmx run ci.demo.\(r.id).step.pass -d echo again").status, 0)
        r.world.waitUntilEnded("ci\\.demo\\.\(r.id)\\.step", seconds: 30)
        XCTAssertEqual(stage(r.world, r.art).calls, ["list", "history ci.demo.\(r.id).step.pass --html"])
        XCTAssertNotEqual(try String(contentsOfFile: r.dir + "/.pici-staged.json", encoding: .utf8), staged, "its new end is recorded")
    }

    func testTheEndsOfAJobDecideAndYoungTimesAreNotRecorded() {
        func job(ended: Int, exit: Int) -> JobRecord {
            JobGrouping.job(name: "r", jobID: "00000001", sessions: [PublishTests.session("ci.r.00000001.runner", created: 1, ended: ended, exit: exit)], now: 0)
        }
        XCTAssertEqual(JobsAtRest.ends(of: job(ended: 5, exit: 0)), JobsAtRest.ends(of: job(ended: 5, exit: 0)))
        XCTAssertNotEqual(JobsAtRest.ends(of: job(ended: 5, exit: 0)), JobsAtRest.ends(of: job(ended: 6, exit: 0)))
        XCTAssertNotEqual(JobsAtRest.ends(of: job(ended: 5, exit: 0)), JobsAtRest.ends(of: job(ended: 5, exit: 1)))
        var atRest = JobsAtRest()
        let now = 100_000_000_000
        atRest.record(job(ended: 5, exit: 0), dirTime: now - 500_000_000, nowNanoseconds: now)
        XCTAssertEqual(atRest.jobs.count, 0, "a time under a second old")
        atRest.record(job(ended: 5, exit: 0), dirTime: now - 2_000_000_000, nowNanoseconds: now)
        XCTAssertTrue(atRest.holds(job(ended: 5, exit: 0), dirTime: now - 2_000_000_000))
        XCTAssertFalse(atRest.holds(job(ended: 5, exit: 0), dirTime: now - 1_000_000_000))
        let dir = Support.tempDir(self)
        try? FileManager.default.createDirectory(atPath: dir + "/.pici", withIntermediateDirectories: true)
        try? FileSystem.writeAtomically(JobsAtRest.path(artifactDir: dir), atRest.bytes() + Array("torn\nr\t2\tx\tzz\n".utf8))
        XCTAssertEqual(JobsAtRest.read(artifactDir: dir), atRest, "a line it cannot read is left out")
    }
    func testTheEndsHashIsTheOneEarlierPassesWrote() {
        // `.pici/at-rest` keeps the hash: the same job must hash as before the hash was made
        // without Strings, or every job at rest would be looked at again once.
        func stringHash(_ job: JobRecord) -> UInt64 {
            var hash = FNV1a()
            for s in job.sessions {
                for field in [s.name, s.short ?? "", s.ended.map(String.init) ?? "-", s.exitCode.map(String.init) ?? "-"] {
                    hash.add(field.utf8)
                    hash.add(CollectionOfOne(0x0A))
                }
            }
            return hash.value
        }
        let numbers: [Int?] = [nil, 0, 1, 9, 10, 99, 100, 101, 255, 1_700_000_005, 9_000_000_000, -1, -10]
        for ended in numbers {
            for exit in numbers {
                let sessions = [
                    SessionRecord(name: "ci.r.00000001.runner", short: nil, created: 1, ended: ended, exitCode: exit, status: .running),
                    SessionRecord(name: "ci.r.00000001.step.é", short: "step.é", created: 1, ended: exit, exitCode: ended, status: .running),
                ]
                let job = JobGrouping.job(name: "r", jobID: "00000001", sessions: sessions, now: 0)
                XCTAssertEqual(JobsAtRest.ends(of: job), stringHash(job), "ended \(String(describing: ended)), exit \(String(describing: exit))")
            }
        }
    }
}
